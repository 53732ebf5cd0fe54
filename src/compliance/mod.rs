//! Compliance: what data protection asks of the warehouse. The hash-chained audit trail,
//! disclosures and consents, retention with legal holds, subject-access exports, and the console's log of who viewed
//! which student.

pub mod audit;
pub mod disclosure;
pub mod retention;
pub mod sar;
pub mod views;
