//! Local accounts of the web console, for small installations and the demo: a username,
//! an argon2id password hash, and who the account is (a member of staff or a student).
//! Kept in `WAREHOUSE/console/accounts.json` (mode 0600), apart from the Delta tables, so a
//! sign-in never waits for a batch job's warehouse lock; changed under a lock of its own.
//! Repeated failures lock an account for a while (`[console] lockout_*`).

use std::path::{Path, PathBuf};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::warehouse::{Warehouse, private_options, write_atomically};

/// The accounts file, relative to the warehouse.
pub const ACCOUNTS_FILE: &str = "console/accounts.json";
const LOCK_FILE: &str = "console/.accounts.lock";
/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Who an account signs in as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Holder {
    /// A member of staff on the staff list (their roles come from it).
    Staff(String),
    /// A student (their own page only).
    Student(String),
}

/// One local account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    /// What the user types to sign in.
    pub username: String,
    /// argon2id PHC string.
    pub hash: String,
    /// Who the account is.
    pub holder: Holder,
    /// Failed sign-ins in a row.
    #[serde(default)]
    pub failures: u32,
    /// Locked until this time (microseconds since 1970, UTC).
    #[serde(default)]
    pub locked_until: Option<i64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Accounts {
    accounts: Vec<Account>,
}

/// The outcome of a sign-in attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// The password matched.
    Ok(Holder),
    /// No such account, or the wrong password (the two are not told apart).
    Refused,
    /// Too many failures: locked for now.
    Locked,
}

fn path(root: &Path) -> PathBuf {
    root.join(ACCOUNTS_FILE)
}

fn read(root: &Path) -> Result<Accounts> {
    let path = path(root);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| Error::Warehouse {
            path: path.clone(),
            message: format!("the console's accounts file is unreadable ({e}); restore it from a backup"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Accounts::default()),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// Runs `change` on the accounts under their lock and writes them back whole.
fn change<T>(root: &Path, change: impl FnOnce(&mut Accounts) -> Result<T>) -> Result<T> {
    let lock_path = root.join(LOCK_FILE);
    crate::warehouse::create_private_dir(lock_path.parent().expect("in a directory"))?;
    let lock = private_options().write(true).truncate(false).open(&lock_path).map_err(|e| Error::io(&lock_path, e))?;
    lock.lock().map_err(|e| Error::io(&lock_path, e))?;
    let mut accounts = read(root)?;
    let out = change(&mut accounts)?;
    let text = serde_json::to_string_pretty(&accounts).expect("accounts serialise");
    write_atomically(&path(root), text.as_bytes())?;
    Ok(out)
}

/// Adds (or, with `replace`, resets) an account.
pub fn add(warehouse: &Warehouse, username: &str, password: &str, holder: Holder, replace: bool) -> Result<()> {
    let username = username.trim();
    if username.is_empty() || username.len() > 128 || username.chars().any(char::is_control) {
        return Err(Error::Usage("a username is 1 to 128 printable characters".into()));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::Usage(format!("a password has at least {MIN_PASSWORD_CHARS} characters")));
    }
    let salt = new_salt()?;
    let hash = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| Error::Internal(format!("hashing a password failed: {e}")))?
        .to_string();
    change(warehouse.root(), |accounts| {
        let existing = accounts.accounts.iter().position(|a| a.username.eq_ignore_ascii_case(username));
        let account = Account { username: username.to_string(), hash, holder, failures: 0, locked_until: None };
        match existing {
            Some(_) if !replace => {
                Err(Error::Usage("that username is taken; give --replace to reset its password and holder".into()))
            }
            Some(i) => {
                accounts.accounts[i] = account;
                Ok(())
            }
            None => {
                accounts.accounts.push(account);
                Ok(())
            }
        }
    })
}

/// Removes an account; returns whether there was one.
pub fn remove(warehouse: &Warehouse, username: &str) -> Result<bool> {
    change(warehouse.root(), |accounts| {
        let before = accounts.accounts.len();
        accounts.accounts.retain(|a| !a.username.eq_ignore_ascii_case(username));
        Ok(accounts.accounts.len() < before)
    })
}

/// Every account (hashes included; callers print only names and holders).
pub fn list(warehouse: &Warehouse) -> Result<Vec<Account>> {
    Ok(read(warehouse.root())?.accounts)
}

/// Checks a sign-in, counting failures and locking the account after too many.
pub fn sign_in(warehouse: &Warehouse, username: &str, password: &str, now_micros: i64) -> Result<SignIn> {
    let console = &warehouse.config().console;
    let (attempts, lock_micros) = (console.lockout_attempts.max(1), i64::from(console.lockout_minutes) * 60_000_000);
    change(warehouse.root(), |accounts| {
        let Some(account) = accounts.accounts.iter_mut().find(|a| a.username.eq_ignore_ascii_case(username.trim()))
        else {
            // Spend the time a real check takes, so a missing account is not told by speed.
            let _ = verify(dummy_hash(), password);
            return Ok(SignIn::Refused);
        };
        if account.locked_until.is_some_and(|until| until > now_micros) {
            return Ok(SignIn::Locked);
        }
        if verify(&account.hash, password) {
            account.failures = 0;
            account.locked_until = None;
            return Ok(SignIn::Ok(account.holder.clone()));
        }
        account.failures += 1;
        if account.failures >= attempts {
            account.failures = 0;
            account.locked_until = Some(now_micros + lock_micros);
            return Ok(SignIn::Locked);
        }
        Ok(SignIn::Refused)
    })
}

/// A random 16-byte salt.
fn new_salt() -> Result<SaltString> {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    SaltString::encode_b64(&bytes).map_err(|e| Error::Internal(format!("making a salt failed: {e}")))
}

/// A hash of a random password, checked against when the account does not exist.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let Ok(salt) = new_salt() else { return String::new() };
        argon2::Argon2::default()
            .hash_password(salt.as_str().as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

fn verify(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|parsed| argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hashed_checked_and_accounts_lock_after_repeated_failures() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("w");
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (warehouse, _) = runtime.block_on(Warehouse::init(&root, "staged-review")).unwrap();
        let tutor = Holder::Staff("T1".into());
        add(&warehouse, "tutor", "correct horse battery", tutor.clone(), false).unwrap();
        assert!(add(&warehouse, "TUTOR", "another long password", tutor.clone(), false).is_err(), "names are unique");
        assert!(add(&warehouse, "short", "short", tutor.clone(), false).is_err());
        let text = std::fs::read_to_string(root.join(ACCOUNTS_FILE)).unwrap();
        assert!(!text.contains("correct horse") && text.contains("$argon2id$"));
        assert_eq!(sign_in(&warehouse, "tutor", "correct horse battery", 0).unwrap(), SignIn::Ok(tutor.clone()));
        assert_eq!(sign_in(&warehouse, "nobody", "correct horse battery", 0).unwrap(), SignIn::Refused);
        for _ in 0..4 {
            assert_eq!(sign_in(&warehouse, "tutor", "wrong password!", 0).unwrap(), SignIn::Refused);
        }
        assert_eq!(sign_in(&warehouse, "tutor", "wrong password!", 0).unwrap(), SignIn::Locked);
        assert_eq!(sign_in(&warehouse, "tutor", "correct horse battery", 1).unwrap(), SignIn::Locked, "locked");
        let later = 15 * 60_000_000 + 1;
        assert_eq!(sign_in(&warehouse, "tutor", "correct horse battery", later).unwrap(), SignIn::Ok(tutor));
        assert!(remove(&warehouse, "tutor").unwrap());
        assert_eq!(sign_in(&warehouse, "tutor", "correct horse battery", later).unwrap(), SignIn::Refused);
    }
}
