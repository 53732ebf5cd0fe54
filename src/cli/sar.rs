//! `rollcall sar STUDENT_ID --out DIR`

use std::process::ExitCode;

use super::GlobalArgs;
use crate::error::{Error, Result};

/// Subject-access export.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The student (or former student).
    pub student_id: String,
}

impl Args {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let warehouse = global.open()?;
        let dir =
            global.out.as_deref().ok_or_else(|| Error::Usage("give the export's directory with --out DIR".into()))?;
        let report = crate::compliance::sar::export(&warehouse, &self.student_id, dir).await?;
        if report.held() {
            println!("wrote subject-access export {}: {} tables", report.request_id, report.tables.len());
            for (table, rows) in &report.tables {
                println!("  {table}: {rows} rows");
            }
        } else {
            println!(
                "wrote subject-access export {}: no personal data is held about this identifier",
                report.request_id
            );
        }
        println!("  {}", report.files[0].display());
        Ok(ExitCode::SUCCESS)
    }
}
