#![doc = include_str!("../README.md")]

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

// Every job allocates and frees large Arrow buffers. The system allocator hands them back to
// the kernel and faults them in again (a tenth of an ingest's profile); mimalloc keeps them a
// moment for reuse. BENCHMARKS.md has the measured effect.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
