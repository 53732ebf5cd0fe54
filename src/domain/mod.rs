//! Foundation: the terms every layer shares (days, academic years, the reference files
//! Rollcall ships, page styling), with no knowledge of the warehouse or the engine.

/// Serde as text for a type with `FromStr` (error `String`) and `Display`: it is written
/// and read as its text (`#[serde(try_from = "String", into = "String")]`).
macro_rules! text_serde {
    ($name:ty) => {
        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(text: String) -> Result<Self, String> {
                text.parse()
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.to_string()
            }
        }
    };
}
pub(crate) use text_serde;

pub mod clock;
pub mod day;
pub mod html;
pub mod reference;
pub mod signal;
pub mod terms;
pub mod time;
pub mod year;
