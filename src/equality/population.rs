//! The differencing guard: who each release and extract counted (by keyed pseudonym, in
//! `equality_populations`, out of analysts' reach), so that a new one whose population
//! differs from an earlier one by only a few students is refused. Two answers about
//! populations one student apart would give that student's cell away by subtraction.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;

use crate::domain::year::AcademicYear;
use crate::engine::cells::texts;
use crate::error::{Error, Result};
use crate::queries;
use crate::warehouse::{Warehouse, row, tables};

/// What a population was counted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A differentially private release.
    Release,
    /// A record-level extract.
    Extract,
}

impl Purpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Release => "release",
            Purpose::Extract => "extract",
        }
    }
}

/// The populations counted before (about any year), by release or extract id.
pub async fn earlier(ctx: &SessionContext, purpose: Purpose) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let params = [("kind", ScalarValue::from(purpose.as_str()))];
    let batches = queries::collect(ctx, "equality/populations", &params).await?;
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for batch in &batches {
        let (refs, members) = (texts(batch, "ref_id")?, texts(batch, "pseudonym")?);
        for r in 0..batch.num_rows() {
            out.entry(refs.value(r).to_string()).or_default().insert(members.value(r).to_string());
        }
    }
    Ok(out)
}

/// The smallest non-zero difference (students in one population and not the other) from
/// an earlier population, with that population's id.
pub fn closest<'a>(
    members: &BTreeSet<String>,
    earlier: &'a BTreeMap<String, BTreeSet<String>>,
) -> Option<(&'a str, usize)> {
    earlier
        .iter()
        .map(|(id, other)| (id.as_str(), members.symmetric_difference(other).count()))
        .filter(|(_, n)| *n > 0)
        .min_by_key(|(_, n)| *n)
}

/// Refuses a population that differs from an earlier one by fewer than `min_change`
/// students (and by more than none).
pub fn guard(
    what: &str,
    members: &BTreeSet<String>,
    earlier: &BTreeMap<String, BTreeSet<String>>,
    min_change: usize,
) -> Result<()> {
    match closest(members, earlier) {
        Some((id, n)) if n < min_change => Err(Error::Refused(format!(
            "this {what} would count a population that differs from that of {id} by {n} student(s), fewer than \
             equality.min_population_change = {min_change}: the two could be subtracted to single them out. \
             Nothing was made or spent; wait until the population has changed by at least {min_change}"
        ))),
        _ => Ok(()),
    }
}

/// Whether who a release or extract counted is recorded already.
pub async fn recorded(ctx: &SessionContext, ref_id: &str) -> Result<bool> {
    let params = [("ref_id", ScalarValue::from(ref_id))];
    let batches = queries::collect(ctx, "equality/population_recorded", &params).await?;
    Ok(crate::engine::cells::int_at(&batches, "n")?.unwrap_or(0) > 0)
}

/// Records who a release or extract counted, in one commit.
pub async fn record(
    warehouse: &Warehouse,
    purpose: Purpose,
    ref_id: &str,
    year: AcademicYear,
    members: &BTreeSet<String>,
) -> Result<()> {
    let rows: Vec<Vec<row::Cell>> = members
        .iter()
        .map(|p| {
            vec![
                ("kind", row::text(purpose.as_str())),
                ("ref_id", row::text(ref_id)),
                ("academic_year", row::text(year.to_string())),
                ("pseudonym", row::text(p)),
            ]
        })
        .collect();
    warehouse.append_named(&tables::EQUALITY_POPULATIONS, &rows, "equality population recorded").await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: std::ops::Range<u32>) -> BTreeSet<String> {
        ids.map(|i| format!("p{i}")).collect()
    }

    #[test]
    fn a_population_a_few_students_away_from_an_earlier_one_is_refused() {
        let earlier = BTreeMap::from([("eq-1".to_string(), set(0..100))]);
        assert!(guard("release", &set(0..100), &earlier, 10).is_ok(), "the same students: nothing to subtract");
        let one_more = set(0..101);
        let refused = guard("release", &one_more, &earlier, 10).unwrap_err().to_string();
        assert!(refused.contains("differs from that of eq-1 by 1 student(s)"), "{refused}");
        assert!(guard("release", &set(0..110), &earlier, 10).is_ok(), "ten more: allowed");
        assert!(guard("release", &set(5..105), &earlier, 10).is_ok(), "five out, five in: ten apart");
        assert!(guard("release", &set(2..102), &earlier, 10).is_err(), "two out, two in: four apart");
    }
}
