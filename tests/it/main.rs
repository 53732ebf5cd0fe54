//! Integration tests: one binary, driving the real `rollcall` executable on generated files.

mod clock;
mod common;
mod console;
mod demo;
mod dp_routes;
mod equality;
mod exports;
mod faults;
mod fixtures;
mod formats;
mod fuzz;
mod hardening;
mod golden;
mod ingest;
mod layers;
mod policy;
mod privacy;
mod queries;
mod rating;
mod report;
mod retention;
mod returns;
mod review;
mod slt;
mod sql;
mod swipes;
