//! Rollcall's own SQL functions, registered on every session.

pub mod hesa;
pub mod trailing_sum;
pub mod working_days;
