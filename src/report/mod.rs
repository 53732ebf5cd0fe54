//! Renderers for what compliance offices and committees receive: spreadsheets, pages, charts.

pub mod chart;
pub mod senate;
pub mod rating_chart;
pub mod xlsx;
