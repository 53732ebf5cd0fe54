//! `rollcall keys rotate --new-key FILE`: re-pseudonymises who each equality release and
//! extract counted, then the equality table, under a new key (one commit each, the files
//! written under the old key removed with their log entries), then records the new key's
//! fingerprint.
//!
//! A rotation is a recoverable state machine kept in `pseudonym-key.rotation` (no personal
//! data: the two keys' fingerprints and the steps done). From the moment it is written
//! until the rotation finishes, every job that reads or writes the equality data or makes
//! pseudonyms refuses (see [`PseudonymKey::load`]), so nothing is written under a key on
//! its way out. Running the same command again finishes a rotation stopped at any point;
//! the old key is needed only until the equality table's rows are all under the new one,
//! and after that either key may be configured. Rows are re-keyed row by row (under the old
//! key: re-keyed; already under the new key: kept), so no step drops a held student's row.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::prelude::SessionContext;

use super::pseudonym::{EQUALITY_PURPOSE, FINGERPRINT_FILE, PseudonymKey, ROTATING_FILE};
use crate::engine::cells::int_at;
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::queries;
use crate::warehouse::{Warehouse, tables, write_atomically};

/// What a rotation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Equality rows now under the new key.
    pub rows: i64,
    /// Rows whose pseudonym matched no held student under either key, left out.
    pub dropped: i64,
    /// Whether this run finished an interrupted rotation.
    pub resumed: bool,
    /// Whether the pseudonyms were already under the new key (nothing was done).
    pub already: bool,
}

/// The steps of a rotation, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Who each release and extract counted, re-keyed, and the old files removed.
    Populations,
    /// The equality table re-keyed, and the old files removed.
    Equality,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Populations => "populations",
            Step::Equality => "equality",
        }
    }
}

/// A rotation under way, as recorded in the warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    old: String,
    new: String,
    done: Vec<&'static str>,
    dropped: i64,
}

impl Pending {
    fn path(warehouse: &Warehouse) -> PathBuf {
        warehouse.root().join(ROTATING_FILE)
    }

    fn read(warehouse: &Warehouse) -> Result<Option<Pending>> {
        let path = Pending::path(warehouse);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        Pending::parse(&text).map(Some).ok_or_else(|| Error::Warehouse {
            path: path.clone(),
            message: "the key-rotation record is unreadable; it was changed by hand".into(),
        })
    }

    fn parse(text: &str) -> Option<Pending> {
        let mut pending = Pending { old: String::new(), new: String::new(), done: Vec::new(), dropped: 0 };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (key, value) = line.trim().split_once(' ')?;
            match key {
                "old" => pending.old = value.to_string(),
                "new" => pending.new = value.to_string(),
                "done" => pending
                    .done
                    .push([Step::Populations, Step::Equality].into_iter().find(|s| s.name() == value)?.name()),
                "dropped" => pending.dropped = value.parse().ok()?,
                _ => return None,
            }
        }
        (!pending.old.is_empty() && !pending.new.is_empty()).then_some(pending)
    }

    fn write(&self, warehouse: &Warehouse) -> Result<()> {
        let mut text = format!("old {}\nnew {}\n", self.old, self.new);
        for step in &self.done {
            text.push_str(&format!("done {step}\n"));
        }
        text.push_str(&format!("dropped {}\n", self.dropped));
        write_atomically(&Pending::path(warehouse), text.as_bytes())
    }

    fn is_done(&self, step: Step) -> bool {
        self.done.contains(&step.name())
    }

    fn mark(&mut self, warehouse: &Warehouse, step: Step, dropped: i64) -> Result<()> {
        self.done.push(step.name());
        self.dropped += dropped;
        self.write(warehouse)
    }
}

async fn rotation_session(
    warehouse: &Warehouse,
    old: &Arc<PseudonymKey>,
    new: &Arc<PseudonymKey>,
) -> Result<SessionContext> {
    let ctx = session::build(warehouse, Access::Internal { with_equality: true }).await?;
    ctx.register_udf(old.udf("old_pseudonym", EQUALITY_PURPOSE));
    ctx.register_udf(new.udf("new_pseudonym", EQUALITY_PURPOSE));
    Ok(ctx)
}

fn old_key_needed(pending: &Pending, what: &str) -> Error {
    Error::Key(format!(
        "the rotation is not finished: {what} still under the old key, and the configured key is the new one; \
         configure the old key (fingerprint {}) and run `rollcall keys rotate --new-key FILE` again",
        pending.old
    ))
}

/// Rotates the warehouse's pseudonym key to the key in `new_key_file`, or finishes a
/// rotation to it that was stopped.
pub async fn rotate(warehouse: &Warehouse, new_key_file: &Path) -> Result<Rotation> {
    let _lock = warehouse.lock()?;
    let new = Arc::new(PseudonymKey::read(new_key_file, warehouse.root())?);
    let configured = Arc::new(PseudonymKey::configured(warehouse)?);
    let fingerprint_file = warehouse.root().join(FINGERPRINT_FILE);
    let in_use = std::fs::read_to_string(&fingerprint_file).ok().map(|t| t.trim().to_string());
    let (mut pending, resumed) = match Pending::read(warehouse)? {
        None => {
            if in_use.as_deref() == Some(new.fingerprint().as_str()) {
                // A re-run after a rotation finished (or was killed after its last step).
                return Ok(Rotation { rows: 0, dropped: 0, resumed: false, already: true });
            }
            if in_use.as_deref().is_some_and(|f| f != configured.fingerprint()) {
                return Err(Error::Key(
                    "the configured key is not the key the warehouse's pseudonyms were made with (its fingerprint \
                     differs); configure the key in use, then rotate"
                        .into(),
                ));
            }
            let pending =
                Pending { old: configured.fingerprint(), new: new.fingerprint(), done: Vec::new(), dropped: 0 };
            pending.write(warehouse)?;
            (pending, false)
        }
        Some(pending) => {
            if pending.new != new.fingerprint() {
                return Err(Error::Key(format!(
                    "an interrupted rotation to a different key (fingerprint {}) is pending; finish it with that key \
                     first",
                    pending.new
                )));
            }
            if configured.fingerprint() != pending.old && configured.fingerprint() != pending.new {
                return Err(Error::Key(format!(
                    "the configured key is neither the old key (fingerprint {}) nor the new key of the pending \
                     rotation; configure one of them",
                    pending.old
                )));
            }
            (pending, true)
        }
    };
    // Without the old key the new one stands in for it: rows under the new key match
    // either way, and a step that still needs the old key is refused before it writes.
    let old = if configured.fingerprint() == pending.old { Some(configured.clone()) } else { None };
    let ctx = rotation_session(warehouse, old.as_ref().unwrap_or(&new), &new).await?;
    let metadata =
        || HashMap::from([("rollcall.operation".to_string(), serde_json::Value::from("pseudonym key rotated"))]);

    // Who each release and extract counted follows the key, or the differencing guard would
    // compare pseudonyms under two keys and never match.
    if !pending.is_done(Step::Populations) {
        if old.is_none() {
            return Err(old_key_needed(&pending, "who the equality releases counted is"));
        }
        let frame = queries::plan(&ctx, "equality/rekey_populations", &[]).await?;
        warehouse.write_frame(&tables::EQUALITY_POPULATIONS, frame, Some(None), metadata()).await?;
        warehouse.forget_history(&tables::EQUALITY_POPULATIONS).await?;
        pending.mark(warehouse, Step::Populations, 0)?;
    }
    let check = queries::collect(&ctx, "equality/rekey_check", &[]).await?;
    let rows = int_at(&check, "rows")?.unwrap_or(0);
    let under_new = int_at(&check, "under_new")?.unwrap_or(0);
    let matched = int_at(&check, "matched")?.unwrap_or(0);
    if !pending.is_done(Step::Equality) {
        if under_new < rows {
            if old.is_none() {
                return Err(old_key_needed(&pending, &format!("{} equality row(s) are", rows - under_new)));
            }
            let frame = queries::plan(&ctx, "equality/rekey", &[]).await?;
            let mut metadata = metadata();
            metadata.insert("rollcall.key_fingerprint".to_string(), serde_json::Value::from(new.fingerprint()));
            warehouse.write_frame(&tables::EQUALITY, frame, Some(None), metadata).await?;
        }
        // Files written under the old key are removed, not merely unreferenced, with the log
        // entries that describe them.
        warehouse.forget_history(&tables::EQUALITY).await?;
        pending.mark(warehouse, Step::Equality, rows - matched)?;
    }
    write_atomically(&fingerprint_file, format!("{}\n", new.fingerprint()).as_bytes())?;
    let marker = Pending::path(warehouse);
    std::fs::remove_file(&marker).map_err(|e| Error::io(&marker, e))?;
    crate::warehouse::fault::step();
    Ok(Rotation { rows: matched, dropped: pending.dropped, resumed, already: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rotation_record_reads_back_and_refuses_anything_else() {
        let pending = Pending { old: "aa".into(), new: "bb".into(), done: vec!["populations"], dropped: 3 };
        let text = "old aa\nnew bb\ndone populations\ndropped 3\n";
        assert_eq!(Pending::parse(text), Some(pending));
        assert_eq!(Pending::parse("new bb\n"), None, "both fingerprints are needed");
        assert_eq!(Pending::parse("old aa\nnew bb\ndone everything\n"), None);
        assert_eq!(Pending::parse("old aa\nnew bb\nsomething else\n"), None);
    }
}
