//! `rollcall keys rotate --new-key FILE`: re-pseudonymises the equality table (and who each
//! equality release and extract counted) under a new key in one commit each, removes the files written under the old key, then records the new
//! key's fingerprint.
//!
//! While a rotation is under way the warehouse holds `pseudonym-key.fingerprint.next`; a
//! rotation stopped at any point is finished by running the same command again (the
//! table is checked to see which key its pseudonyms are under).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use datafusion::prelude::SessionContext;

use super::pseudonym::{EQUALITY_PURPOSE, FINGERPRINT_FILE, PseudonymKey, ROTATING_FILE};
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};
use crate::queries;
use crate::warehouse::{Warehouse, tables, write_atomically};

/// What a rotation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Equality rows re-pseudonymised.
    pub rows: i64,
    /// Rows whose pseudonym matched no held student, left out.
    pub dropped: i64,
    /// Whether this run finished an interrupted rotation.
    pub resumed: bool,
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

/// Rotates the warehouse's pseudonym key to the key in `new_key_file`.
pub async fn rotate(warehouse: &Warehouse, new_key_file: &Path) -> Result<Rotation> {
    let old = Arc::new(PseudonymKey::load(warehouse)?);
    let new = Arc::new(PseudonymKey::read(new_key_file, warehouse.root())?);
    if old.fingerprint() == new.fingerprint() {
        return Err(Error::Usage(
            "the new key is the key in use; create a new one with `head -c 32 /dev/urandom`".into(),
        ));
    }
    let _lock = warehouse.lock()?;
    let marker = warehouse.root().join(ROTATING_FILE);
    let resumed = match std::fs::read_to_string(&marker) {
        Ok(held) if held.trim() == new.fingerprint() => true,
        Ok(_) => {
            return Err(Error::Key(
                "an interrupted rotation to a different key is pending; finish it with that key first".into(),
            ));
        }
        Err(_) => false,
    };
    write_atomically(&marker, format!("{}\n", new.fingerprint()).as_bytes())?;

    let ctx = rotation_session(warehouse, &old, &new).await?;
    let check = queries::collect(&ctx, "equality/rekey_check", &[]).await?;
    let (rows, under_old, under_new) = (
        crate::engine::cells::int_at(&check, "rows")?.unwrap_or(0),
        crate::engine::cells::int_at(&check, "under_old")?.unwrap_or(0),
        crate::engine::cells::int_at(&check, "under_new")?.unwrap_or(0),
    );
    let already_rotated = rows > 0 && under_old == 0 && under_new > 0;
    if !already_rotated {
        let frame = queries::plan(&ctx, "equality/rekey", &[]).await?;
        let metadata = HashMap::from([
            ("rollcall.operation".to_string(), serde_json::Value::from("pseudonym key rotated")),
            ("rollcall.key_fingerprint".to_string(), serde_json::Value::from(new.fingerprint())),
        ]);
        warehouse.write_frame(&tables::EQUALITY, frame, Some(None), metadata).await?;
    }
    // Files written under the old key are removed, not merely unreferenced, with the log
    // entries that describe them.
    warehouse.forget_history(&tables::EQUALITY).await?;
    // Who each release and extract counted follows, or the differencing guard would compare
    // pseudonyms under two keys and never match.
    let frame = queries::plan(&ctx, "equality/rekey_populations", &[]).await?;
    let metadata =
        HashMap::from([("rollcall.operation".to_string(), serde_json::Value::from("pseudonym key rotated"))]);
    warehouse.write_frame(&tables::EQUALITY_POPULATIONS, frame, Some(None), metadata).await?;
    warehouse.forget_history(&tables::EQUALITY_POPULATIONS).await?;
    write_atomically(&warehouse.root().join(FINGERPRINT_FILE), format!("{}\n", new.fingerprint()).as_bytes())?;
    std::fs::remove_file(&marker).map_err(|e| Error::io(&marker, e))?;
    let kept = if already_rotated { under_new } else { under_old };
    Ok(Rotation { rows: kept, dropped: rows - kept, resumed })
}
