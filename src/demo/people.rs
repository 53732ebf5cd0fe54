//! Names, programmes and equality data for synthetic students. None of it is real.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A programme of study.
#[derive(Debug, Clone)]
pub struct Programme {
    /// Programme code stem (the level is appended).
    pub code: String,
    /// Owning department.
    pub department: &'static str,
    /// Building code for its rooms.
    pub building: &'static str,
}

pub const DEPARTMENTS: &[(&str, &str, &[&str])] = &[
    ("Computer Science", "CSE", &["CS", "SE", "AI"]),
    ("Mathematics", "MTH", &["MA", "MS"]),
    ("History", "HUM", &["HI", "AH"]),
    ("Law", "LAW", &["LL", "LC"]),
    ("Biological Sciences", "BIO", &["BS", "BM"]),
    ("Economics", "ECN", &["EC", "EF"]),
    ("Psychology", "PSY", &["PS"]),
    ("Nursing and Midwifery", "HLT", &["NU", "MW"]),
    ("Business School", "BUS", &["BA", "AF", "MK"]),
    ("Languages and Linguistics", "LNG", &["LG", "TR"]),
];

/// The programme taught to a cohort: cohorts cycle through the departments' programmes.
pub fn programme(cohort: u32) -> Programme {
    let all: Vec<(&'static str, &'static str, &'static str)> = DEPARTMENTS
        .iter()
        .flat_map(|(dept, building, codes)| codes.iter().map(move |c| (*dept, *building, *c)))
        .collect();
    let (department, building, code) = all[(cohort / 4) as usize % all.len()];
    Programme { code: code.to_string(), department, building }
}

const GIVEN: &[&str] = &[
    "Amelia", "Oliver", "Aisha", "Mohammed", "Chloe", "Harry", "Priya", "Jack", "Olivia", "Noah", "Zara", "George",
    "Fatima", "Leo", "Isla", "Arjun", "Grace", "Kwame", "Mia", "Wei", "Ella", "Tomasz", "Sophie", "Ibrahim",
];
const FAMILY: &[&str] = &[
    "Smith", "Jones", "Patel", "Williams", "Khan", "Brown", "Taylor", "Davies", "Evans", "Ahmed", "Wilson", "Thomas",
    "Okafor", "Roberts", "Chen", "Walker", "Wright", "Hussain", "Nowak", "Hughes", "Green", "Singh", "Lewis", "Mensah",
];

/// A synthetic name.
pub fn name(rng: &mut ChaCha8Rng) -> (&'static str, &'static str) {
    (GIVEN[rng.random_range(0..GIVEN.len())], FAMILY[rng.random_range(0..FAMILY.len())])
}

/// HESA-style ethnicity labels with rough UK higher-education weights (per thousand).
const ETHNICITY: &[(&str, u32)] = &[
    ("White", 660),
    ("Black or Black British - African", 60),
    ("Black or Black British - Caribbean", 15),
    ("Other Black background", 5),
    ("Asian or Asian British - Indian", 50),
    ("Asian or Asian British - Pakistani", 40),
    ("Asian or Asian British - Bangladeshi", 15),
    ("Chinese", 20),
    ("Other Asian background", 20),
    ("Mixed - White and Black Caribbean", 12),
    ("Mixed - White and Black African", 8),
    ("Mixed - White and Asian", 15),
    ("Other mixed background", 15),
    ("Arab", 10),
    ("Other ethnic background", 15),
    ("Not known", 20),
    ("Information refused", 20),
];

/// A synthetic ethnicity label.
pub fn ethnicity(rng: &mut ChaCha8Rng) -> &'static str {
    let total: u32 = ETHNICITY.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total);
    for (label, weight) in ETHNICITY {
        if pick < *weight {
            return label;
        }
        pick -= weight;
    }
    ETHNICITY[0].0
}
