//! Privacy machinery: keyed pseudonyms for special-category data.

pub mod pseudonym;
