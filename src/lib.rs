#![doc = include_str!("../README.md")]
// Modules in layer order: each imports only from the layers above it (tests/it/layers.rs).

// Foundation: domain terms, configuration, errors.
pub mod allocator; // the process's memory allocator settings
pub mod domain; // days, academic years, shipped reference files, page style
pub mod error; // the error type and its exit codes
pub mod config; // rollcall.toml: settings, presets, validation

// Storage.
pub mod warehouse; // the warehouse directory, its lock and its Delta Lake tables

// Engine.
pub mod queries; // the embedded SQL catalog
pub mod engine; // DataFusion sessions, UDFs, reading query results

// Stages.
pub mod derive; // derived tables: swipe outcomes, daily rollups
pub mod ingest; // interchange files and export formats into the warehouse
pub mod rating; // daily engagement ratings
pub mod review; // the escalation ladder and cases
pub mod returns; // UKVI and funding-body returns
pub mod report; // the Senate report, charts, spreadsheets
pub mod privacy; // keyed pseudonyms and key rotation
pub mod equality; // differentially private equality releases, extracts, the budget
pub mod compliance; // audit trail, disclosures, retention and holds, subject access

// Front ends.
pub mod demo; // the synthetic university
pub mod console; // the web console (`rollcall serve`)
pub mod cli; // the `rollcall` command line

pub use error::{Error, Result};
