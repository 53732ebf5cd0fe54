//! Keyed pseudonyms: HMAC-SHA256 of a student id under a secret key kept outside the
//! warehouse, with a purpose label so pseudonyms made for different purposes cannot be
//! joined with each other.
//!
//! The warehouse keeps only the key's fingerprint, so a different key is detected instead
//! of silently producing pseudonyms that match nothing.

use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::{Config, KEY_FILE_ENV};
use crate::error::{Error, Result};
use crate::warehouse::{Warehouse, write_atomically};

/// The purpose label of the equality table's pseudonyms.
pub const EQUALITY_PURPOSE: &str = "equality";

/// The key fingerprint the warehouse's pseudonyms were made with.
pub(crate) const FINGERPRINT_FILE: &str = "pseudonym-key.fingerprint";
/// Present while a key rotation is under way: both keys' fingerprints and the steps done
/// (see [`crate::privacy::rotate`]).
pub(crate) const ROTATING_FILE: &str = "pseudonym-key.rotation";
const MIN_KEY_BYTES: usize = 16;

/// A loaded, checked pseudonymisation key.
pub struct PseudonymKey {
    key: Vec<u8>,
}

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey(..)")
    }
}

impl PseudonymKey {
    /// Loads the configured key for `warehouse`, refusing a missing, short, world-readable,
    /// in-warehouse or different key, and any key while a rotation is under way (a job
    /// that made or read pseudonyms then would work under a key on its way out).
    pub fn load(warehouse: &Warehouse) -> Result<PseudonymKey> {
        if warehouse.root().join(ROTATING_FILE).exists() {
            return Err(Error::Key(
                "a pseudonym key rotation is under way: until it is finished no job reads or writes ethnicity data. \
                 Finish it by running `rollcall keys rotate --new-key FILE` again with the same new key"
                    .into(),
            ));
        }
        let key = PseudonymKey::configured(warehouse)?;
        key.check_fingerprint(warehouse)?;
        Ok(key)
    }

    /// Reads the configured key, checked as [`PseudonymKey::read`] does but not against the
    /// warehouse's fingerprint (for a rotation, which knows both keys).
    pub(crate) fn configured(warehouse: &Warehouse) -> Result<PseudonymKey> {
        let path = warehouse.config().key_file().ok_or_else(|| Error::Key(no_key_message(warehouse.config())))?;
        PseudonymKey::read(&path, warehouse.root())
    }

    /// Reads and checks a key file (exists, long enough, not world-readable, not inside the
    /// warehouse) without comparing its fingerprint.
    pub fn read(path: &Path, warehouse_root: &Path) -> Result<PseudonymKey> {
        let absolute = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
        let canonical = absolute.canonicalize().map_err(|e| {
            Error::Key(format!(
                "cannot read key file {}: {e}; set {KEY_FILE_ENV} or [privacy] pseudonym_key_file to an existing file",
                path.display()
            ))
        })?;
        let root = warehouse_root.canonicalize().unwrap_or_else(|_| warehouse_root.to_path_buf());
        if canonical.starts_with(&root) {
            return Err(Error::Key(format!(
                "key file {} is inside the warehouse; keep it elsewhere so a copy of the warehouse does not carry its key",
                path.display()
            )));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(&canonical).map_err(|e| Error::io(path, e))?;
            if meta.permissions().mode() & 0o004 != 0 {
                return Err(Error::Key(format!(
                    "key file {} is readable by every user; restrict it with `chmod 600 {}`",
                    path.display(),
                    path.display()
                )));
            }
        }
        let key = std::fs::read(&canonical).map_err(|e| Error::io(path, e))?;
        if key.len() < MIN_KEY_BYTES {
            return Err(Error::Key(format!(
                "key file {} holds {} bytes, at least {MIN_KEY_BYTES} are needed; create one with `head -c 32 /dev/urandom > FILE`",
                path.display(),
                key.len()
            )));
        }
        Ok(PseudonymKey { key })
    }

    fn check_fingerprint(&self, warehouse: &Warehouse) -> Result<()> {
        let file: PathBuf = warehouse.root().join(FINGERPRINT_FILE);
        let fingerprint = self.fingerprint();
        match std::fs::read_to_string(&file) {
            Ok(held) if held.trim() == fingerprint => Ok(()),
            Ok(_) => Err(Error::Key(
                "this is not the key the warehouse's pseudonyms were made with (its fingerprint differs); \
                 use the original key file, or change keys with `rollcall keys rotate`"
                    .into(),
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                write_atomically(&file, format!("{fingerprint}\n").as_bytes())
            }
            Err(e) => Err(Error::io(&file, e)),
        }
    }

    /// A public fingerprint of the key (safe to store; does not reveal it).
    pub fn fingerprint(&self) -> String {
        hex::encode(&self.mac(b"rollcall key fingerprint")[..16])
    }

    /// The pseudonym of a student id for a purpose: hex HMAC-SHA256(key, purpose NUL id).
    pub fn pseudonym(&self, purpose: &str, student_id: &str) -> String {
        let mut input = Vec::with_capacity(purpose.len() + 1 + student_id.len());
        input.extend_from_slice(purpose.as_bytes());
        input.push(0);
        input.extend_from_slice(student_id.as_bytes());
        hex::encode(self.mac(&input))
    }

    /// A SQL function `name(student_id)` giving pseudonyms for `purpose` under this key.
    pub fn udf(self: &std::sync::Arc<Self>, name: &str, purpose: &'static str) -> datafusion::logical_expr::ScalarUDF {
        use arrow::array::StringArray;
        use arrow::datatypes::DataType;
        use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
        let key = self.clone();
        create_udf(
            name,
            vec![DataType::Utf8],
            DataType::Utf8,
            Volatility::Immutable,
            std::sync::Arc::new(move |args: &[ColumnarValue]| {
                let ids = arrow::compute::cast(&args[0].to_array(1)?, &DataType::Utf8)?;
                let ids = ids.as_any().downcast_ref::<StringArray>().expect("cast to Utf8");
                let out: StringArray = ids.iter().map(|id| id.map(|id| key.pseudonym(purpose, id))).collect();
                Ok(ColumnarValue::Array(std::sync::Arc::new(out)))
            }),
        )
    }

    fn mac(&self, input: &[u8]) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(input);
        mac.finalize().into_bytes().to_vec()
    }
}

fn no_key_message(config: &Config) -> String {
    format!(
        "no key configured for pseudonymising special-category data (ethnicity); create one outside the warehouse \
         with `head -c 32 /dev/urandom > /etc/rollcall/pseudonym.key && chmod 600 /etc/rollcall/pseudonym.key`, \
         then set {KEY_FILE_ENV} to its path or pseudonym_key_file under [privacy] in {}",
        config.source.as_deref().map(|p| p.display().to_string()).unwrap_or_else(|| "rollcall.toml".into())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_depend_on_key_and_purpose() {
        let a = PseudonymKey { key: vec![1; 32] };
        let b = PseudonymKey { key: vec![2; 32] };
        assert_eq!(a.pseudonym("equality", "S1"), a.pseudonym("equality", "S1"));
        assert_ne!(a.pseudonym("equality", "S1"), b.pseudonym("equality", "S1"));
        assert_ne!(a.pseudonym("equality", "S1"), a.pseudonym("extract", "S1"));
        assert_ne!(a.pseudonym("equality", "S1"), a.pseudonym("equality", "S2"));
        assert_eq!(a.pseudonym("equality", "S1").len(), 64);
        assert_ne!(a.fingerprint(), b.fingerprint());
    }
}
