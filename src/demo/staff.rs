//! Staff acting on the cases the demo's reviews raise, as a university's would, so that the
//! casework and the Senate report's sections on outcomes, decisions and impact have
//! something to show: most students are contacted the next day, most of those meet their
//! tutor (some miss the meeting, which moves the case on), some cases close with no further
//! action or an attendance agreement, and the March supported decisions end in continue,
//! intermit or withdraw, a few appealed (one in five of those late). Every choice is drawn
//! from the demo's seed and the case, so the same seed records the same work.

use chrono::{Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::time::date_to_days;
use crate::engine::cells;
use crate::engine::job::Job;
use crate::engine::session::Access;
use crate::error::Result;
use crate::queries;
use crate::review::decisions::{self, By};
use crate::warehouse::Warehouse;
use crate::warehouse::row::{self, Cell};
use crate::warehouse::tables;

/// Who the demo's records say recorded them.
const STAFF: &str = "demo staff";

/// What staff record on the cases raised on `day`; returns the rows written.
pub async fn act(warehouse: &Warehouse, day: NaiveDate, seed: u64) -> Result<usize> {
    let job = Job::start(warehouse, Access::Internal { with_equality: false }).await?;
    let raised = queries::collect(&job.ctx, "demo/raised_on", &[("day", cells::date(date_to_days(day)))]).await?;
    let now = warehouse.clock().now_micros();
    let mut events: Vec<Vec<Cell>> = Vec::new();
    let mut steps: Vec<Vec<Cell>> = Vec::new();
    for batch in &raised {
        let (case, student, year, action) = (
            cells::texts(batch, "case_id")?,
            cells::texts(batch, "student_id")?,
            cells::texts(batch, "academic_year")?,
            cells::texts(batch, "action")?,
        );
        for i in 0..batch.num_rows() {
            let case_id = case.value(i);
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ fnv(case_id));
            let at = now + (events.len() + steps.len()) as i64;
            let mut outcome = |outcome: &str, after: i64| {
                events.push(vec![
                    ("case_id", row::text(case_id)),
                    ("student_id", row::text(student.value(i))),
                    ("academic_year", row::text(year.value(i))),
                    ("recorded_on", row::day(Some(date_to_days(day + Duration::days(after))))),
                    ("outcome", row::text(outcome)),
                    ("recorded_by", row::text(STAFF)),
                    ("recorded_at", row::instant(Some(at + after))),
                ]);
            };
            if action.value(i) == "supported-decision" {
                let decision = match rng.random_range(0..100) {
                    0..60 => "continue",
                    60..85 => "intermit",
                    _ => "withdraw",
                };
                outcome("met", 2);
                let by = By { who: STAFF, at: at + 10 };
                let notified = day + Duration::days(7);
                let review = &warehouse.config().review;
                let (row, decided) =
                    decisions::decision_row(&job.ctx, review, case_id, decision, notified, None, by).await?;
                steps.push(row);
                if decision != "continue" && rng.random_range(0..100) < 20 {
                    // One appeal in five arrives after the deadline.
                    let late = rng.random_range(0..5) == 0;
                    let lodged =
                        if late { decided.appeal_by + Duration::days(2) } else { notified + Duration::days(5) };
                    let appeal = if late { "lodged late" } else { "lodged" };
                    steps.push(vec![
                        ("case_id", row::text(case_id)),
                        ("student_id", row::text(student.value(i))),
                        ("step", row::text("appeal")),
                        ("value", row::text(appeal)),
                        ("on", row::day(Some(date_to_days(lodged)))),
                        ("due", row::day(Some(date_to_days(decided.appeal_by)))),
                        ("recorded_by", row::text(STAFF)),
                        ("recorded_at", row::instant(Some(at + 20))),
                    ]);
                }
                continue;
            }
            if rng.random_range(0..100) >= 85 {
                continue;
            }
            outcome("contacted", 1);
            match rng.random_range(0..100) {
                0..55 => {
                    outcome("met", 3);
                    match (action.value(i), rng.random_range(0..100)) {
                        ("attendance-interview", 0..60) => outcome("agreement", 4),
                        (_, 0..30) => outcome("no-further-action", 4),
                        _ => {}
                    }
                }
                55..75 => outcome("no-show", 3),
                _ => {}
            }
        }
    }
    let written = events.len() + steps.len();
    if !events.is_empty() {
        warehouse.append_named(&tables::CASE_EVENTS, &events, "demo: staff outcomes").await?;
    }
    if !steps.is_empty() {
        warehouse.append_named(&tables::CASE_DECISIONS, &steps, "demo: staff decisions").await?;
    }
    Ok(written)
}

/// FNV-1a of a text: a stable per-case seed.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
