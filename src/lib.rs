#![doc = include_str!("../README.md")]

pub mod allocator;
pub mod audit;
pub mod cli;
pub mod config;
pub mod demo;
pub mod disclosure;
pub mod engine;
pub mod equality;
pub mod error;
pub mod ingest;
pub mod privacy;
pub mod queries;
pub mod rating;
pub mod report;
pub mod retention;
pub mod returns;
pub mod review;
pub mod sar;
pub mod warehouse;

pub use error::{Error, Result};
