//! Foundation: the terms every layer shares (days, academic years, the reference files
//! Rollcall ships, page styling), with no knowledge of the warehouse or the engine.

pub mod clock;
pub mod html;
pub mod reference;
pub mod signal;
pub mod terms;
pub mod time;
pub mod year;
