//! The engagement signals a rating weighs: one enum, from which the interchange `source`
//! values, the `[rating.weights]` keys, the ratings' columns and the rating queries'
//! parameters all derive. A test checks every query that lists the signals lists them all.

/// One kind of engagement event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Signal {
    /// VLE (Moodle) events.
    Vle,
    /// Lecture-capture views.
    LectureCapture,
    /// Library use.
    Library,
    /// PC logins.
    PcLogin,
    /// Online meetings attended.
    OnlineMeeting,
    /// Coursework submissions.
    Submission,
    /// Student-records logins.
    RecordsLogin,
}

impl Signal {
    /// Every signal, in the order columns and settings list them.
    pub const ALL: [Signal; 7] = [
        Signal::Vle,
        Signal::LectureCapture,
        Signal::Library,
        Signal::PcLogin,
        Signal::OnlineMeeting,
        Signal::Submission,
        Signal::RecordsLogin,
    ];

    /// The `source` value in activity files, and the key under `[rating.weights]`.
    pub const fn name(self) -> &'static str {
        match self {
            Signal::Vle => "vle",
            Signal::LectureCapture => "lecture-capture",
            Signal::Library => "library",
            Signal::PcLogin => "pc-login",
            Signal::OnlineMeeting => "online-meeting",
            Signal::Submission => "submission",
            Signal::RecordsLogin => "records-login",
        }
    }

    /// The column of the ratings and rollups that counts it.
    pub const fn column(self) -> &'static str {
        match self {
            Signal::Vle => "vle",
            Signal::LectureCapture => "lecture_capture",
            Signal::Library => "library",
            Signal::PcLogin => "pc_login",
            Signal::OnlineMeeting => "online_meeting",
            Signal::Submission => "submission",
            Signal::RecordsLogin => "records_login",
        }
    }

    /// Points per event unless `[rating.weights]` says otherwise.
    pub const fn default_weight(self) -> f64 {
        match self {
            Signal::Vle | Signal::Library => 1.0,
            Signal::LectureCapture => 2.0,
            Signal::PcLogin | Signal::RecordsLogin => 0.5,
            Signal::OnlineMeeting => 3.0,
            Signal::Submission => 5.0,
        }
    }

    /// The rating queries' parameter carrying its weight (`$w_<column>`).
    pub const fn parameter(self) -> &'static str {
        match self {
            Signal::Vle => "w_vle",
            Signal::LectureCapture => "w_lecture_capture",
            Signal::Library => "w_library",
            Signal::PcLogin => "w_pc_login",
            Signal::OnlineMeeting => "w_online_meeting",
            Signal::Submission => "w_submission",
            Signal::RecordsLogin => "w_records_login",
        }
    }

    /// The signal a `source` value or settings key names.
    pub fn parse(name: &str) -> Option<Signal> {
        Signal::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Its position in [`Signal::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Every `source` value, in [`Signal::ALL`] order.
pub const NAMES: [&str; 7] = {
    let mut names = [""; 7];
    let mut i = 0;
    while i < 7 {
        names[i] = Signal::ALL[i].name();
        i += 1;
    }
    names
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_columns_and_parameters_derive_from_one_list() {
        for (i, s) in Signal::ALL.into_iter().enumerate() {
            assert_eq!(s.index(), i);
            assert_eq!(Signal::parse(s.name()), Some(s));
            assert_eq!(s.column(), s.name().replace('-', "_"));
            assert_eq!(NAMES[i], s.name());
            assert_eq!(s.parameter(), format!("w_{}", s.column()));
        }
        assert_eq!(Signal::LectureCapture.parameter(), "w_lecture_capture");
        assert_eq!(Signal::parse("lecture_capture"), None);
    }

    /// Every query that lists the signals' columns lists all of them, and every weight
    /// parameter is read by the rating query.
    #[test]
    fn queries_that_list_signals_list_them_all() {
        let queries = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
        let mut listing = 0;
        for area in std::fs::read_dir(&queries).unwrap() {
            for file in std::fs::read_dir(area.unwrap().path()).unwrap() {
                let path = file.unwrap().path();
                let sql = std::fs::read_to_string(&path).unwrap();
                let has = |word: &str| {
                    sql.match_indices(word).any(|(at, _)| {
                        let before = sql[..at].chars().next_back();
                        let after = sql[at + word.len()..].chars().next();
                        let edge = |c: Option<char>| c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
                        edge(before) && edge(after)
                    })
                };
                let named: Vec<Signal> = Signal::ALL.into_iter().filter(|s| has(s.column())).collect();
                // A query naming most of the signals lists them (a reason text may quote one or two).
                if named.len() > Signal::ALL.len() / 2 {
                    listing += 1;
                    assert_eq!(named, Signal::ALL, "{} lists only some signals", path.display());
                }
            }
        }
        assert!(listing >= 5, "the signal lists in queries/ were not found ({listing})");
        let scores = std::fs::read_to_string(queries.join("rating/scores.sql")).unwrap();
        for s in Signal::ALL {
            assert!(scores.contains(&format!("${}", s.parameter())), "rating/scores.sql does not read {}", s.name());
        }
    }
}
