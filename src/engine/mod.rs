//! The query engine: DataFusion sessions over the warehouse tables.

pub mod session;
pub mod udf;
