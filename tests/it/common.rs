//! Shared helpers: a temporary warehouse and a way to run the real binary against it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use tempfile::TempDir;

/// A temporary directory with an initialised warehouse in it.
pub struct Env {
    pub dir: TempDir,
    pub warehouse: PathBuf,
}

/// The result of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Panics with the output unless the run exited 0.
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    /// Panics unless the run exited with `code`.
    #[track_caller]
    pub fn code(self, code: i32) -> Run {
        assert_eq!(self.code, code, "expected exit {code}\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

/// A command for the real binary with no Rollcall settings inherited from the environment.
pub fn rollcall_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rollcall"));
    for var in ["ROLLCALL_WAREHOUSE", "ROLLCALL_CONFIG", "ROLLCALL_PSEUDONYM_KEY_FILE"] {
        cmd.env_remove(var);
    }
    cmd
}

impl Env {
    /// A fresh warehouse made with `rollcall init`.
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let warehouse = dir.path().join("warehouse");
        let env = Env { dir, warehouse };
        env.run(&["init"]).ok();
        env
    }

    /// Runs `rollcall --warehouse W ARGS...`.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// Runs with extra environment variables.
    pub fn run_with(&self, args: &[&str], envs: &[(&str, &Path)]) -> Run {
        let mut cmd = rollcall_command();
        cmd.arg("--warehouse").arg(&self.warehouse).args(args);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        Run::from(cmd.output().expect("run rollcall"))
    }

    /// Writes a file in the temp directory and returns its path as a string.
    pub fn file(&self, name: &str, contents: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write file");
        path.to_string_lossy().into_owned()
    }

    /// Ingests files of a kind and expects success.
    #[track_caller]
    pub fn ingest(&self, kind: &str, files: &[&str]) -> Run {
        let mut args = vec!["ingest", kind];
        args.extend_from_slice(files);
        self.run(&args).ok()
    }

    /// Runs a query and returns its CSV lines (header first).
    #[track_caller]
    pub fn sql(&self, query: &str) -> Vec<String> {
        let run = self.run(&["--format", "csv", "sql", query]).ok();
        run.stdout.lines().map(str::to_string).collect()
    }

    /// The single value of a one-row, one-column query.
    #[track_caller]
    pub fn scalar(&self, query: &str) -> String {
        let lines = self.sql(query);
        assert_eq!(lines.len(), 2, "expected one row from {query}: {lines:?}");
        // A value holding a comma or quote comes quoted.
        match lines[1].strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(inner) => inner.replace("\"\"", "\""),
            None => lines[1].clone(),
        }
    }

    /// Writes a pseudonym key (as `key` does) and names it in rollcall.toml.
    pub fn configure_key(&self) -> PathBuf {
        let key = self.key();
        let path = self.warehouse.join("rollcall.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let commented = "# pseudonym_key_file = \"/etc/rollcall/pseudonym.key\"";
        assert!(text.contains(commented));
        std::fs::write(&path, text.replacen(commented, &format!("pseudonym_key_file = \"{}\"", key.display()), 1))
            .unwrap();
        key
    }

    /// Writes a pseudonym key outside the warehouse, mode 600, and returns its path.
    pub fn key(&self) -> PathBuf {
        let path = self.dir.path().join("pseudonym.key");
        std::fs::write(&path, [7u8; 32]).expect("write key");
        set_mode(&path, 0o600);
        path
    }
}

/// Sets a file's permission bits.
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Every file below `dir`, recursively.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

pub const STUDENTS_HEADER: &str =
    "student_id,programme_code,department,level,stage,mode,start_date,status,given_name,family_name";

/// A valid students row.
pub fn student(id: &str, status: &str) -> String {
    format!("{id},CS4,Computer Science,4,1,full-time,2025-09-22,{status},Zebedee,Quixworth")
}

/// The (day, student_id) of every stored row of a table, file by file, in stored order.
pub fn stored_order(env: &Env, table: &str) -> Vec<Vec<(i32, String)>> {
    use arrow::array::{Array, AsArray};
    let mut files = Vec::new();
    for path in files_below(&env.warehouse.join("tables").join(table)) {
        if path.extension().is_none_or(|e| e != "parquet") {
            continue;
        }
        let file = std::fs::File::open(&path).unwrap();
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
        let mut rows = Vec::new();
        for batch in reader {
            let batch = batch.unwrap();
            let day =
                arrow::compute::cast(batch.column_by_name("day").unwrap(), &arrow::datatypes::DataType::Int32).unwrap();
            let student =
                arrow::compute::cast(batch.column_by_name("student_id").unwrap(), &arrow::datatypes::DataType::Utf8)
                    .unwrap();
            let (day, student) = (day.as_primitive::<arrow::datatypes::Int32Type>(), student.as_string::<i32>());
            rows.extend((0..batch.num_rows()).map(|i| (day.value(i), student.value(i).to_string())));
            assert_eq!(day.null_count(), 0);
        }
        files.push(rows);
    }
    files
}

/// How each stored file of a table holds `column`: its pages' encodings (by name), and
/// whether it has a dictionary page.
pub fn column_encodings(env: &Env, table: &str, column: &str) -> Vec<(Vec<String>, bool)> {
    use parquet::file::reader::FileReader;
    let mut files = Vec::new();
    for path in files_below(&env.warehouse.join("tables").join(table)) {
        if path.extension().is_none_or(|e| e != "parquet") {
            continue;
        }
        let reader = parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        for group in reader.metadata().row_groups() {
            let chunk = group.columns().iter().find(|c| c.column_path().string() == column).unwrap();
            let encodings = chunk.encodings().map(|e| format!("{e:?}")).collect();
            files.push((encodings, chunk.dictionary_page_offset().is_some()));
        }
    }
    files
}

/// Prints a line of figures (fault-injection and fuzz counts) to the real stderr, past the
/// test harness's capture, so `cargo test` shows them in every run.
pub fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Starts a server process and returns it with the first line it prints (where it
/// listens, or that it is ready); its errors go to the test's output.
pub fn spawn_until_first_line(mut cmd: Command) -> (Child, String) {
    // Standard error as the caller set it (inherited unless they chose otherwise).
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("start the process");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("its output")).read_line(&mut line).expect("its first line");
    (child, line)
}
