//! The query engine: DataFusion sessions over the warehouse tables.

pub mod cells;
pub mod dense;
pub mod job;
pub mod session;
pub mod strings;
pub mod threads;
pub mod udf;
