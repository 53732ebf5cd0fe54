//! `rollcall disclose STUDENT_ID ...` and `rollcall consent STUDENT_ID ...`

use std::process::ExitCode;

use super::GlobalArgs;
use crate::compliance::disclosure::{self, Consent, Disclosure};
use crate::domain::day::Day;
use crate::error::{Error, Result};

/// Record an ad-hoc disclosure.
#[derive(Debug, Clone, clap::Args)]
pub struct DiscloseArgs {
    /// The student.
    pub student_id: String,
    /// Who receives it (e.g. "Essex Police", "NHS Trust", "Embassy of ...").
    #[arg(long)]
    pub recipient: String,
    /// A configured legal basis, or `consent` (an active consent must cover it).
    #[arg(long)]
    pub basis: String,
    /// Why (a request reference; no personal data).
    #[arg(long)]
    pub purpose: String,
    /// Fields disclosed, comma-separated (the minimum needed).
    #[arg(long)]
    pub fields: String,
    /// Day of the disclosure (default: today).
    #[arg(long)]
    pub on: Option<Day>,
}

/// Record or withdraw a student's written authorisation.
#[derive(Debug, Clone, clap::Args)]
pub struct ConsentArgs {
    /// The student (omit with --withdraw).
    pub student_id: Option<String>,
    /// To whom their data may go.
    #[arg(long)]
    pub recipient: Option<String>,
    /// Which fields, comma-separated.
    #[arg(long)]
    pub fields: Option<String>,
    /// First day it covers.
    #[arg(long)]
    pub from: Option<Day>,
    /// Last day it covers.
    #[arg(long)]
    pub to: Option<Day>,
    /// Reference of the signed form.
    #[arg(long)]
    pub reference: Option<String>,
    /// Withdraw this consent (from today) instead.
    #[arg(long, conflicts_with_all = ["student_id", "recipient", "fields", "from", "to"])]
    pub withdraw: Option<String>,
}

impl DiscloseArgs {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let warehouse = global.open()?;
        let id = disclosure::disclose(
            &warehouse,
            Disclosure {
                student_id: self.student_id,
                recipient: self.recipient,
                legal_basis: self.basis,
                purpose: self.purpose,
                fields: self.fields,
                disclosed_on: self.on.map_or_else(|| warehouse.clock().today(), Day::date),
                source: "ad hoc".into(),
                consent_id: None,
            },
        )
        .await?;
        println!("logged disclosure {id}");
        Ok(ExitCode::SUCCESS)
    }
}

impl ConsentArgs {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        let warehouse = global.open()?;
        if let Some(id) = self.withdraw {
            let today = warehouse.clock().today();
            disclosure::withdraw(&warehouse, &id, today).await?;
            println!("withdrew consent {id} from {today}");
            return Ok(ExitCode::SUCCESS);
        }
        let missing = |what: &str| Error::Usage(format!("a consent needs {what}"));
        let consent = Consent {
            student_id: self.student_id.ok_or_else(|| missing("STUDENT_ID"))?,
            recipient: self.recipient.ok_or_else(|| missing("--recipient"))?,
            fields: self.fields.ok_or_else(|| missing("--fields"))?,
            valid_from: self.from.map_or_else(|| warehouse.clock().today(), Day::date),
            valid_to: self.to.ok_or_else(|| missing("--to"))?.date(),
            reference: self.reference,
        };
        let id = disclosure::consent(&warehouse, &consent).await?;
        println!("recorded consent {id}");
        Ok(ExitCode::SUCCESS)
    }
}
