//! Privacy machinery: keyed pseudonyms for special-category data, and key rotation.

pub mod pseudonym;
pub mod rotate;
