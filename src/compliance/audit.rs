//! The audit trail: an append-only log of every job that reads or writes personal data,
//! each entry hash-chained to the one before with SHA-256.
//!
//! `WAREHOUSE/audit/audit.jsonl` holds one JSON entry per line: sequence number, time, OS
//! user, command, outcome, counts and the SHA-256 of each output file, the previous
//! entry's hash and the entry's own hash (over the previous hash and the entry without its
//! hash). `WAREHOUSE/audit/head` holds the last sequence number and hash, so removing
//! entries from the end is detected too. Entries carry no personal data: rows are counted,
//! files hashed, requests named by opaque ids.
//!
//! Two anchors outside the log itself make a rewrite detectable even by someone who can
//! write to the warehouse:
//! - with an audit key configured (`[privacy] audit_key_file`, kept outside the warehouse),
//!   each entry carries a seal, HMAC-SHA256 of its hash under that key: an entry changed
//!   and the chain re-hashed without the key no longer matches its seal;
//! - every Delta commit records the head as it stood (`rollcall.audit_head` in the
//!   commit's metadata), so a trail deleted, emptied, cut back or re-hashed contradicts the
//!   tables' own transaction logs ([`check_anchors`]).

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::privacy::pseudonym::PseudonymKey as SecretKey;
use crate::warehouse::{os_user, write_atomically};

/// The log, relative to the warehouse.
pub const LOG_FILE: &str = "audit/audit.jsonl";
/// The last entry's sequence number and hash, relative to the warehouse.
pub const HEAD_FILE: &str = crate::warehouse::AUDIT_HEAD_FILE;

tokio::task_local! {
    /// Details the running command adds to its entry (counts, opaque ids; never personal
    /// data). Each command runs in its own scope, so commands running side by side in one
    /// process (the web console's requests) keep their details apart.
    static DETAILS: Mutex<Map<String, Value>>;
}

/// Adds a detail to the running command's audit entry. Outside a command's scope (a
/// library caller that keeps no audit trail) it is dropped.
pub fn note(key: &str, value: impl Into<Value>) {
    let value = value.into();
    let _ = DETAILS.try_with(|details| {
        if let Ok(mut details) = details.lock() {
            details.insert(key.to_string(), value);
        }
    });
}

/// Takes the details noted so far in this scope (for a command that writes its own entry).
pub fn take_noted() -> Map<String, Value> {
    DETAILS.try_with(|d| d.lock().map(|mut d| std::mem::take(&mut *d)).unwrap_or_default()).unwrap_or_default()
}

/// Runs a command in its own scope of audit details; returns its result and the details
/// it noted, for its entry.
pub async fn scoped<T>(command: impl Future<Output = T>) -> (T, Map<String, Value>) {
    DETAILS
        .scope(Mutex::new(Map::new()), async {
            let result = command.await;
            (result, take_noted())
        })
        .await
}

/// One entry, as written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// 1, 2, 3, ... without gaps.
    pub seq: u64,
    /// When (UTC, RFC 3339).
    pub at: String,
    /// The operating-system account that ran the job.
    pub user: String,
    /// The command, e.g. `return ukvi`.
    pub command: String,
    /// `ok`, or `error:` and the error's code.
    pub outcome: String,
    /// Counts and opaque ids.
    pub details: Map<String, Value>,
    /// Output files and their SHA-256.
    pub outputs: Vec<Output>,
    /// The previous entry's hash (64 zeros for the first).
    pub prev: String,
    /// SHA-256 over `prev` and this entry without `hash` and `seal`.
    #[serde(default)]
    pub hash: String,
    /// HMAC-SHA256 of `hash` under the audit key, when one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
}

/// An output file's SHA-256 and size (not its name, which a user may have chosen to
/// contain a student's id).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Output {
    /// SHA-256 of its contents.
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
}

impl Entry {
    fn compute_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.hash = String::new();
        unhashed.seal = None;
        let text = serde_json::to_string(&unhashed).expect("an entry serialises");
        hex::encode(Sha256::digest(format!("{}\n{text}", self.prev).as_bytes()))
    }
}

/// SHA-256 of a file's contents.
pub fn file_sha256(path: &Path) -> Result<String> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| Error::io(path, e))?;
    Ok(hex::encode(hasher.finalize()))
}

/// The outputs under `path`: the file itself, or the files directly in a directory.
pub fn outputs_at(path: &Path) -> Vec<Output> {
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map(|entries| entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect())
            .unwrap_or_default();
        files.sort();
        files
    } else if path.is_file() {
        vec![path.to_path_buf()]
    } else {
        vec![]
    };
    files
        .into_iter()
        .filter_map(|f| {
            let bytes = std::fs::metadata(&f).ok()?.len();
            file_sha256(&f).ok().map(|sha256| Output { sha256, bytes })
        })
        .collect()
}

/// The purpose label of audit seals under the audit key.
const SEAL_PURPOSE: &str = "audit-seal";

/// The audit key configured for the warehouse at `root` (the environment variable, else
/// the warehouse's own `rollcall.toml`), if any; a configured key that is unsafe or
/// unreadable is an error.
pub fn seal_key(root: &Path) -> Result<Option<SecretKey>> {
    let path = root.join(crate::config::CONFIG_FILE);
    let config = if path.is_file() { crate::config::Config::load(&path)? } else { crate::config::Config::default() };
    match config.audit_key_file() {
        None => Ok(None),
        Some(path) => SecretKey::read(&path, root).map(Some),
    }
}

fn seal(key: &SecretKey, hash: &str) -> String {
    key.pseudonym(SEAL_PURPOSE, hash)
}

/// Appends an entry for a command that ran against the warehouse at `root`.
pub fn append(
    root: &Path,
    command: &str,
    outcome: &str,
    details: Map<String, Value>,
    outputs: Vec<Output>,
) -> Result<Entry> {
    let mut entries = append_all(
        root,
        vec![Pending { command: command.to_string(), outcome: outcome.to_string(), details, outputs }],
    )?;
    Ok(entries.pop().expect("one entry appended"))
}

/// An entry to append: what ran, how it ended, its details and outputs.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The command.
    pub command: String,
    /// How it ended.
    pub outcome: String,
    /// Its details (never a student's personal data).
    pub details: Map<String, Value>,
    /// The files it wrote.
    pub outputs: Vec<Output>,
}

/// Appends entries in order, chained as if appended one by one, with one write and one
/// flush to disk for all of them (a server recording many page views at once).
pub fn append_all(root: &Path, pending: Vec<Pending>) -> Result<Vec<Entry>> {
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let key = seal_key(root)?;
    let log = root.join(LOG_FILE);
    let dir = log.parent().expect("the log is in a directory");
    crate::warehouse::create_private_dir(dir)?;
    let mut file =
        crate::warehouse::private_options().append(true).read(true).open(&log).map_err(|e| Error::io(&log, e))?;
    // One writer at a time: the sequence number and previous hash are read under the lock.
    file.lock().map_err(|e| Error::io(&log, e))?;
    let (mut seq, mut prev) = match last_entry(&log)? {
        Some(last) => (last.seq + 1, last.hash),
        None => (1, "0".repeat(64)),
    };
    let mut entries = Vec::with_capacity(pending.len());
    let mut lines = String::new();
    for p in pending {
        let mut entry = Entry {
            seq,
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            user: os_user(),
            command: p.command,
            outcome: p.outcome,
            details: p.details,
            outputs: p.outputs,
            prev,
            hash: String::new(),
            seal: None,
        };
        entry.hash = entry.compute_hash();
        entry.seal = key.as_ref().map(|key| seal(key, &entry.hash));
        lines.push_str(&(serde_json::to_string(&entry).expect("an entry serialises") + "\n"));
        (seq, prev) = (entry.seq + 1, entry.hash.clone());
        entries.push(entry);
    }
    // After a line cut short, start on a line of its own.
    let ends_cleanly = {
        use std::io::{Read, Seek, SeekFrom};
        let size = file.metadata().map_err(|e| Error::io(&log, e))?.len();
        let mut last = [b'\n'];
        if size > 0 {
            file.seek(SeekFrom::Start(size - 1)).map_err(|e| Error::io(&log, e))?;
            file.read_exact(&mut last).map_err(|e| Error::io(&log, e))?;
        }
        last[0] == b'\n'
    };
    if !ends_cleanly {
        lines.insert(0, '\n');
    }
    file.write_all(lines.as_bytes()).map_err(|e| Error::io(&log, e))?;
    file.sync_data().map_err(|e| Error::io(&log, e))?;
    crate::warehouse::fault::step();
    let last = entries.last().expect("at least one entry");
    write_atomically(&root.join(HEAD_FILE), format!("{} {}\n", last.seq, last.hash).as_bytes())?;
    Ok(entries)
}

/// Every intact entry of the trail at `root`, oldest first (none before the first job).
/// A line cut short at the end (a job killed while writing it) is passed over, as
/// [`append`] does; any other unreadable line is an error.
pub fn entries(root: &Path) -> Result<Vec<Entry>> {
    let log = root.join(LOG_FILE);
    if !log.exists() {
        return Ok(Vec::new());
    }
    read_entries(&log)
}

fn read_entries(log: &Path) -> Result<Vec<Entry>> {
    let log = log.to_path_buf();
    let file = File::open(&log).map_err(|e| Error::io(&log, e))?;
    let mut out = Vec::new();
    let mut unreadable: Option<(usize, String)> = None;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Error::io(&log, e))?;
        if line.trim().is_empty() {
            continue;
        }
        if let Some((n, e)) = unreadable.take() {
            // Not the last line: this is damage, not an interrupted write.
            let cut_then_resumed = serde_json::from_str::<Entry>(&line).is_ok() && out.len() + 1 == n;
            if !cut_then_resumed {
                return Err(Error::Warehouse {
                    path: log.clone(),
                    message: format!("line {n}: not an audit entry ({e}); run `rollcall audit verify`"),
                });
            }
        }
        match serde_json::from_str(&line) {
            Ok(entry) => out.push(entry),
            Err(e) => unreadable = Some((i + 1, e.to_string())),
        }
    }
    Ok(out)
}

/// The last intact entry of the log (see [`entries`] for a line cut short).
/// The last intact entry, read from the end of the log (a busy console appends thousands
/// of entries a day; reading the whole trail for each would grow without end). As
/// [`read_entries`] does, only a last line cut short is passed over; anything else odd in
/// the tail is left to the full reading, which reports it.
fn last_entry(log: &Path) -> Result<Option<Entry>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = match std::fs::File::open(log) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(log, e)),
    };
    let size = file.metadata().map_err(|e| Error::io(log, e))?.len();
    let start = size.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start)).map_err(|e| Error::io(log, e))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).map_err(|e| Error::io(log, e))?;
    // The first line of a tail that does not start the file may be partial: never read.
    let lines: Vec<&[u8]> = tail.split(|b| *b == b'\n').skip(usize::from(start > 0)).collect();
    let mut cut_short = 0;
    for line in lines.iter().rev().filter(|l| !l.iter().all(u8::is_ascii_whitespace)) {
        match serde_json::from_slice::<Entry>(line) {
            Ok(entry) => return Ok(Some(entry)),
            Err(_) if cut_short == 0 => cut_short += 1,
            Err(_) => break,
        }
    }
    Ok(read_entries(log)?.pop())
}

/// How much of the log's end [`last_entry`] reads: many entries' worth.
const TAIL_BYTES: u64 = 64 * 1024;

/// What `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verified {
    /// Entries checked.
    pub entries: u64,
    /// Entries whose seal was checked against the audit key.
    pub sealed: u64,
    /// Problems, each naming the line.
    pub problems: Vec<String>,
    /// What could not be checked, and why (not a failure).
    pub notices: Vec<String>,
}

/// Checks the whole chain: every hash, every link, the sequence, and the head.
pub fn verify(root: &Path) -> Result<Verified> {
    let key = seal_key(root)?;
    let log = root.join(LOG_FILE);
    let name = LOG_FILE;
    let mut problems = Vec::new();
    let mut notices = Vec::new();
    let (mut sealed, mut unchecked_seals) = (0, 0);
    let mut first_sealed: Option<u64> = None;
    let mut prev = "0".repeat(64);
    let mut expected_seq = 1;
    let mut entries = 0;
    // The head as it would read had the last entry's job stopped before writing it.
    let mut behind_by_one: Option<String> = None;
    if log.exists() {
        let file = File::open(&log).map_err(|e| Error::io(&log, e))?;
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| Error::io(&log, e))?;
            let n = i + 1;
            let entry: Entry = match serde_json::from_str(&line) {
                Ok(entry) => entry,
                Err(e) => {
                    problems.push(format!("{name}:{n}: not an audit entry ({e})"));
                    continue;
                }
            };
            entries += 1;
            if entry.seq != expected_seq {
                problems.push(format!(
                    "{name}:{n}: entry {} where {expected_seq} was expected (entries removed or reordered)",
                    entry.seq
                ));
            }
            if entry.prev != prev {
                problems.push(format!("{name}:{n}: does not follow the entry before it (chain broken)"));
            }
            if entry.compute_hash() != entry.hash {
                problems.push(format!("{name}:{n}: entry {} was changed after it was written", entry.seq));
            }
            match (&entry.seal, &key) {
                (Some(found), Some(key)) => {
                    first_sealed.get_or_insert(entry.seq);
                    sealed += 1;
                    if *found != seal(key, &entry.hash) {
                        problems.push(format!(
                            "{name}:{n}: entry {}'s seal does not match (changed and re-hashed without the audit key, \
                             or sealed with another key)",
                            entry.seq
                        ));
                    }
                }
                (Some(_), None) => unchecked_seals += 1,
                (None, Some(_)) if first_sealed.is_some() => problems.push(format!(
                    "{name}:{n}: entry {} carries no seal though entries before it do (its seal was removed)",
                    entry.seq
                )),
                (None, _) => {}
            }
            behind_by_one = Some(format!("{} {}", expected_seq - 1, prev));
            prev = entry.hash.clone();
            expected_seq = entry.seq + 1;
        }
    }
    let head = root.join(HEAD_FILE);
    match std::fs::read_to_string(&head) {
        Ok(text) if Some(text.trim().to_string()) == behind_by_one && problems.is_empty() => {
            // A job stopped between writing its entry and the head: the entry is intact and
            // chained, so the head is brought up to it.
            write_atomically(&head, format!("{} {}\n", expected_seq - 1, prev).as_bytes())?;
        }
        Ok(text) => {
            let expected = format!("{} {}", expected_seq - 1, prev);
            if text.trim() != expected {
                problems.push(format!(
                    "{HEAD_FILE}: records a different last entry than the log ends with (entries removed from the end)"
                ));
            }
        }
        Err(_) if entries == 0 => {}
        Err(_) => problems.push(format!("{HEAD_FILE}: missing")),
    }
    if unchecked_seals > 0 {
        notices.push(format!(
            "{unchecked_seals} entries carry seals that were not checked: no audit key is configured \
             (set {} or [privacy] audit_key_file)",
            crate::config::env::AUDIT_KEY_FILE
        ));
    }
    if key.is_some() && entries > sealed {
        let before = first_sealed.map(|s| s.saturating_sub(1)).unwrap_or(entries);
        notices.push(format!(
            "{before} entries were written before the audit key was configured: they are checked by their hashes \
             and the tables' anchors only"
        ));
    }
    Ok(Verified { entries, sealed, problems, notices })
}

/// One anchor: a table commit's record of the audit head when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The table.
    pub table: String,
    /// The commit's version.
    pub version: i64,
    /// The head it recorded: `SEQ HASH`.
    pub head: String,
}

/// Checks the tables' anchors against the trail: each anchored entry must be in the log
/// with the hash the commit recorded. A trail deleted, emptied, cut back below an anchor,
/// or rewritten up to one, fails here however consistent it is in itself.
pub fn check_anchors(root: &Path, anchors: &[Anchor]) -> Result<Vec<String>> {
    let held: std::collections::HashMap<u64, String> = if root.join(LOG_FILE).exists() {
        read_entries(&root.join(LOG_FILE)).unwrap_or_default().into_iter().map(|e| (e.seq, e.hash)).collect()
    } else {
        Default::default()
    };
    // One problem per table: its latest contradicting commit.
    let mut problems: std::collections::BTreeMap<&str, (i64, String)> = std::collections::BTreeMap::new();
    for anchor in anchors {
        let Some((seq, hash)) = anchor.head.split_once(' ') else { continue };
        let Ok(seq) = seq.parse::<u64>() else { continue };
        let problem = match held.get(&seq) {
            Some(h) if h == hash => continue,
            Some(_) => format!(
                "{}: commit {} records audit entry {seq} with a different hash than the trail holds (the trail was \
                 rewritten)",
                anchor.table, anchor.version
            ),
            None => format!(
                "{}: commit {} was made when the audit trail reached entry {seq}, which the trail no longer holds \
                 (entries deleted or the trail cut back)",
                anchor.table, anchor.version
            ),
        };
        if problems.get(anchor.table.as_str()).is_none_or(|(v, _)| anchor.version > *v) {
            problems.insert(&anchor.table, (anchor.version, problem));
        }
    }
    Ok(problems.into_values().map(|(_, p)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn commands_running_side_by_side_keep_their_details_apart() {
        let job = |rows: u64| async move {
            note("rows", rows);
            tokio::task::yield_now().await;
            note("rows_again", rows);
        };
        let ((_, first), (_, second)) = tokio::join!(scoped(job(1)), scoped(job(2)));
        assert_eq!(Value::Object(first), serde_json::json!({"rows": 1, "rows_again": 1}));
        assert_eq!(Value::Object(second), serde_json::json!({"rows": 2, "rows_again": 2}));
        note("outside", 3); // no scope: dropped, no panic
        let ((), after) = scoped(async {}).await;
        assert!(after.is_empty());
    }

    #[test]
    fn entries_appended_together_chain_as_if_appended_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        append(root, "job 0", "ok", Map::new(), vec![]).unwrap();
        let pending = |i: usize| Pending {
            command: format!("job {i}"),
            outcome: "ok".into(),
            details: Map::from_iter([("rows".to_string(), Value::from(i))]),
            outputs: vec![],
        };
        let written = append_all(root, (1..4).map(pending).collect()).unwrap();
        assert_eq!(written.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3, 4]);
        append(root, "job 4", "ok", Map::new(), vec![]).unwrap();
        assert_eq!(verify(root).unwrap(), Verified { entries: 5, ..Verified::default() });
        let all = entries(root).unwrap();
        assert_eq!(
            all.iter().map(|e| e.command.as_str()).collect::<Vec<_>>(),
            ["job 0", "job 1", "job 2", "job 3", "job 4"]
        );
        assert!(all.windows(2).all(|w| w[1].prev == w[0].hash), "each entry names the one before it");
        assert!(append_all(root, vec![]).unwrap().is_empty());
    }

    #[test]
    fn edits_removals_and_reorders_are_detected() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for i in 0..4 {
            let details = Map::from_iter([("rows".to_string(), Value::from(i))]);
            append(root, &format!("job {i}"), "ok", details, vec![]).unwrap();
        }
        assert_eq!(verify(root).unwrap(), Verified { entries: 4, ..Verified::default() });
        let log = root.join(LOG_FILE);
        let original = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = original.lines().collect();

        let edited = original.replacen("\"rows\":2", "\"rows\":7", 1);
        std::fs::write(&log, &edited).unwrap();
        assert!(verify(root).unwrap().problems.iter().any(|p| p.contains(":3: entry 3 was changed")));

        let removed = [lines[0], lines[2], lines[3]].join("\n") + "\n";
        std::fs::write(&log, removed).unwrap();
        assert!(verify(root).unwrap().problems.iter().any(|p| p.contains("removed or reordered")));

        let reordered = [lines[0], lines[2], lines[1], lines[3]].join("\n") + "\n";
        std::fs::write(&log, reordered).unwrap();
        assert!(!verify(root).unwrap().problems.is_empty());

        let truncated = lines[..3].join("\n") + "\n";
        std::fs::write(&log, truncated).unwrap();
        assert!(verify(root).unwrap().problems.iter().any(|p| p.contains("removed from the end")));

        std::fs::write(&log, &original).unwrap();
        assert!(verify(root).unwrap().problems.is_empty());
    }

    #[test]
    fn a_job_killed_while_writing_its_entry_blocks_no_later_job() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for i in 0..3 {
            append(root, &format!("job {i}"), "ok", Map::new(), vec![]).unwrap();
        }
        // Killed between the entry and the head: verify brings the head up to the entry.
        let head = std::fs::read_to_string(root.join(HEAD_FILE)).unwrap();
        append(root, "job 3", "ok", Map::new(), vec![]).unwrap();
        std::fs::write(root.join(HEAD_FILE), &head).unwrap();
        assert_eq!(verify(root).unwrap(), Verified { entries: 4, ..Verified::default() });
        assert!(std::fs::read_to_string(root.join(HEAD_FILE)).unwrap().starts_with("4 "));
        // Killed half-way through writing a line: the next job still appends (chained to
        // the last intact entry), and verify names the cut line.
        let log = root.join(LOG_FILE);
        let mut text = std::fs::read_to_string(&log).unwrap();
        text.push_str("{\"seq\":5,\"at\":\"2026");
        std::fs::write(&log, text).unwrap();
        append(root, "job 5", "ok", Map::new(), vec![]).unwrap();
        let verified = verify(root).unwrap();
        assert_eq!(verified.entries, 5);
        assert!(verified.problems.iter().any(|p| p.contains(":5: not an audit entry")), "{verified:?}");
        assert_eq!(entries(root).unwrap().len(), 5, "the intact entries are read around the cut line");
    }
}
