//! The policy words settings and commands are written in, as enums parsed once: how a
//! rating is banded, what triggers a rung of the ladder, which UKVI engagement rule
//! applies, and the outcomes staff record on a case. Each is written in TOML and on the
//! command line as its kebab-case text, and passed to SQL as that text.

/// An enum of fixed texts: `as_str`, `ALL`, `parse`, and serde as its text, with an error
/// naming `what` and the texts accepted.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &[$name] = &[$($name::$variant),+];
            /// Every value's text, in order.
            pub const NAMES: &[&str] = &[$($text),+];

            /// Its text.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value a text names.
            pub fn parse(text: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == text)
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(text: String) -> Result<Self, String> {
                $name::parse(&text).ok_or_else(|| {
                    format!("unknown {} '{text}', expected {}", $what, $name::NAMES.join(", "))
                })
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_string()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// How scores become bands (`rating.basis`).
    Basis, "rating.basis", {
        /// Fixed thresholds on the score.
        Absolute = "absolute",
        /// The student's share of their cohort.
        Cohort = "cohort",
    }
);

text_enum!(
    /// What puts a student on a rung of the escalation ladder.
    Trigger, "trigger", {
        /// A rating in the rung's bands on the review day.
        Rating = "rating",
        /// Consecutive teaching weeks without attending.
        WeeksWithoutAttendance = "weeks-without-attendance",
        /// Days rated low in a window.
        LowEngagementDays = "low-engagement-days",
        /// An outcome recorded on a case (a missed meeting refers the case upwards).
        CaseOutcome = "case-outcome",
    }
);

text_enum!(
    /// When a sponsored student has stopped engaging (`ukvi.engagement_rule`).
    EngagementRule, "ukvi.engagement_rule", {
        /// Expected sessions missed in a row.
        MissedContactPoints = "missed-contact-points",
        /// Days without any engagement.
        DaysWithoutEngagement = "days-without-engagement",
    }
);

text_enum!(
    /// How a funding-body return decides that a student is attending (`funder.attending_rule`).
    AttendingRule, "funder.attending_rule", {
        /// Rated above Very Low on enough of the period's last teaching days.
        RatedAboveVeryLow = "rated-above-very-low",
        /// Engaged (any attendance or activity) on enough of the period's last teaching days.
        EngagedDays = "engaged-days",
        /// Any engagement within `not_attending_after_days` of the period's end.
        EngagedWithinDays = "engaged-within-days",
    }
);

text_enum!(
    /// What staff record on a case.
    Outcome, "outcome", {
        /// The student was contacted.
        Contacted = "contacted",
        /// A meeting took place.
        Met = "met",
        /// The student did not attend a meeting.
        NoShow = "no-show",
        /// An attendance agreement was made.
        Agreement = "agreement",
        /// The student intermitted.
        Intermitted = "intermitted",
        /// The student withdrew.
        Withdrawn = "withdrawn",
        /// No further action.
        NoFurtherAction = "no-further-action",
    }
);

text_enum!(
    /// The lawful basis on which the university monitors engagement (UK GDPR article 6(1)),
    /// as its privacy notice states it (`privacy.lawful_basis`).
    LawfulBasis, "privacy.lawful_basis", {
        /// Article 6(1)(e): a task carried out in the public interest.
        PublicTask = "public-task",
        /// Article 6(1)(f): the university's legitimate interests.
        LegitimateInterests = "legitimate-interests",
        /// Article 6(1)(b): the contract with the student.
        Contract = "contract",
        /// Article 6(1)(c): a legal obligation.
        LegalObligation = "legal-obligation",
        /// Article 6(1)(a): the student's consent.
        Consent = "consent",
    }
);

impl LawfulBasis {
    /// How a privacy notice to a student words it.
    pub const fn to_student(self) -> &'static str {
        match self {
            LawfulBasis::PublicTask => "the university's public task of education (UK GDPR article 6(1)(e))",
            LawfulBasis::LegitimateInterests => {
                "the university's legitimate interest in supporting its students (UK GDPR article 6(1)(f))"
            }
            LawfulBasis::Contract => "your contract with the university as a student (UK GDPR article 6(1)(b))",
            LawfulBasis::LegalObligation => "the university's legal obligations (UK GDPR article 6(1)(c))",
            LawfulBasis::Consent => "your consent, which you may withdraw at any time (UK GDPR article 6(1)(a))",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_round_trip_and_unknown_ones_are_named() {
        for t in Trigger::ALL {
            assert_eq!(Trigger::parse(t.as_str()), Some(*t));
            assert_eq!(String::from(*t), t.to_string());
        }
        assert_eq!(Outcome::NAMES.len(), Outcome::ALL.len());
        let err = Trigger::try_from("vibes".to_string()).unwrap_err();
        assert_eq!(
            err,
            "unknown trigger 'vibes', expected rating, weeks-without-attendance, low-engagement-days, case-outcome"
        );
        assert_eq!(serde_json::to_string(&Basis::Cohort).unwrap(), "\"cohort\"");
        assert_eq!(
            serde_json::from_str::<EngagementRule>("\"days-without-engagement\"").unwrap(),
            EngagementRule::DaysWithoutEngagement
        );
        assert!(serde_json::from_str::<Basis>("\"relative\"").unwrap_err().to_string().contains("rating.basis"));
    }
}
