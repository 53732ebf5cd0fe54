//! The reference files Rollcall ships, embedded at build time, and where `init` puts an
//! editable copy of each in the warehouse.

/// The England and Wales bank-holiday calendar shipped with Rollcall.
pub const BANK_HOLIDAYS_CSV: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/calendar/bank-holidays-england-and-wales.csv"));

/// Where `init` puts the shipped calendar in the warehouse, for users to update and re-ingest.
pub const BANK_HOLIDAYS_FILE: &str = "reference/bank-holidays-england-and-wales.csv";

/// The ethnicity-to-group mapping shipped with Rollcall.
pub const GROUPS_CSV: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/reference/ethnicity-groups.csv"));

/// Where `init` puts the shipped mapping in the warehouse.
pub const GROUPS_FILE: &str = "reference/ethnicity-groups.csv";
