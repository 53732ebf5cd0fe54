//! The web console's log of who viewed which student's page: one JSON line per view in
//! `WAREHOUSE/console/views.jsonl` (mode 0600). It names the student, so it is personal
//! data like the tables: a subject-access export reports the student's lines (who looked at
//! their record, when, from which page), and the retention purge erases them with the
//! student. The audit trail carries only each view's opaque id.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The log, relative to the warehouse.
pub const FILE: &str = "console/views.jsonl";

/// One view of a student's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// Opaque id, also in the view's audit entry.
    pub view: String,
    /// When (UTC, RFC 3339).
    pub at: String,
    /// The account or signed-in name of who looked.
    pub viewer: String,
    /// Their role.
    pub role: String,
    /// The student whose page it was.
    pub student_id: String,
    /// Which page (`student`, `own`).
    pub page: String,
}

/// Appends a view (fsynced).
pub fn append(root: &Path, view: &View) -> Result<()> {
    append_all(root, std::slice::from_ref(view))
}

/// Appends views with one write and one flush to disk for all of them.
pub fn append_all(root: &Path, views: &[View]) -> Result<()> {
    if views.is_empty() {
        return Ok(());
    }
    let path = root.join(FILE);
    crate::warehouse::create_private_dir(path.parent().expect("in a directory"))?;
    let mut file = crate::warehouse::private_options().append(true).open(&path).map_err(|e| Error::io(&path, e))?;
    let lines: String = views.iter().map(|v| serde_json::to_string(v).expect("a view serialises") + "\n").collect();
    file.write_all(lines.as_bytes()).map_err(|e| Error::io(&path, e))?;
    file.sync_data().map_err(|e| Error::io(&path, e))
}

fn read(root: &Path) -> Result<Vec<View>> {
    let path = root.join(FILE);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let mut views = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|e| Error::io(&path, e))?;
        // A line cut short by a kill is passed over.
        if let Ok(view) = serde_json::from_str(&line) {
            views.push(view);
        }
    }
    Ok(views)
}

/// The views of one student's page, oldest first.
pub fn of_student(root: &Path, student_id: &str) -> Result<Vec<View>> {
    Ok(read(root)?.into_iter().filter(|v| v.student_id == student_id).collect())
}

/// Removes every view of the given students' pages (the file is replaced whole); returns
/// how many.
pub fn erase(root: &Path, students: &HashSet<String>) -> Result<u64> {
    let views = read(root)?;
    let kept: Vec<&View> = views.iter().filter(|v| !students.contains(&v.student_id)).collect();
    let erased = (views.len() - kept.len()) as u64;
    if erased > 0 {
        let text: String = kept.iter().map(|v| serde_json::to_string(v).expect("a view serialises") + "\n").collect();
        crate::warehouse::write_atomically(&root.join(FILE), text.as_bytes())?;
    }
    Ok(erased)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_are_found_by_student_and_erased_with_them() {
        let dir = tempfile::tempdir().unwrap();
        let view = |id: &str, student: &str| View {
            view: id.into(),
            at: "2026-12-03T10:00:00Z".into(),
            viewer: "tutor".into(),
            role: "tutor".into(),
            student_id: student.into(),
            page: "student".into(),
        };
        for (id, student) in [("V1", "S1"), ("V2", "S2"), ("V3", "S1")] {
            append(dir.path(), &view(id, student)).unwrap();
        }
        assert_eq!(of_student(dir.path(), "S1").unwrap(), vec![view("V1", "S1"), view("V3", "S1")]);
        assert_eq!(erase(dir.path(), &HashSet::from(["S1".to_string()])).unwrap(), 2);
        assert!(of_student(dir.path(), "S1").unwrap().is_empty());
        assert_eq!(of_student(dir.path(), "S2").unwrap().len(), 1);
    }
}
