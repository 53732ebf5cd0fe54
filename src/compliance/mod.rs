//! Compliance: what data protection asks of the warehouse. The hash-chained audit trail,
//! disclosures and consents, retention with legal holds, and subject-access exports.

pub mod audit;
pub mod disclosure;
pub mod retention;
pub mod sar;
