//! HESA codes in UDD properties, as interchange values (see the table in `udd`).

/// `2025` (the UDD ACADEMIC_YEAR) as `2025-26`.
pub(super) fn academic_year(text: &str) -> String {
    let start: Option<i32> = text.get(..4).and_then(|y| y.parse().ok());
    match start {
        Some(y) => format!("{y}-{:02}", (y + 1) % 100),
        None => text.to_string(),
    }
}

/// The level of a HESA COURSE_AIM.
pub(super) fn level_of(aim: &str) -> &'static str {
    match aim.chars().next().map(|c| c.to_ascii_uppercase()) {
        Some('D' | 'E' | 'L' | 'M') => "7",
        Some('H' | 'I') => "6",
        Some('J') => "5",
        Some('C') => "4",
        _ => "6",
    }
}

/// The mode of a HESA MODE and LOCATION_OF_STUDY.
pub(super) fn mode_of(mode: &str, location: &str) -> &'static str {
    if matches!(location, "6" | "9") {
        return "distance";
    }
    match mode.parse::<u32>() {
        Ok(31..=99) => "part-time",
        _ => "full-time",
    }
}

/// The status of a HESA PROGRESSION code.
pub(super) fn status_of(progression: &str) -> &'static str {
    match progression {
        "20" => "completed",
        "30" | "40" | "70" => "withdrawn",
        "60" => "intermitted",
        _ => "active",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_interchange_values() {
        assert_eq!(academic_year("2025"), "2025-26");
        assert_eq!(academic_year("2099"), "2099-00");
        assert_eq!(level_of("H00"), "6");
        assert_eq!(level_of("M01"), "7");
        assert_eq!(mode_of("31", ""), "part-time");
        assert_eq!(mode_of("1", "6"), "distance");
        assert_eq!(mode_of("", ""), "full-time");
        assert_eq!(status_of("60"), "intermitted");
        assert_eq!(status_of("10"), "active");
    }
}
