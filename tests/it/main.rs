//! Integration tests: one binary, driving the real `rollcall` executable on generated files.

mod common;
mod demo;
mod ingest;
mod privacy;
mod sql;
mod swipes;
