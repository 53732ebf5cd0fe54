//! `rollcall sql QUERY`: read-only SQL for analysts; the equality table is not reachable.

use std::process::ExitCode;

use datafusion::execution::context::SQLOptions;
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::ast;

use super::{GlobalArgs, output};
use crate::engine::session::{self, Access};
use crate::error::{Error, Result};

/// Run a read-only SQL query (DataFusion dialect) over the warehouse tables.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// One SELECT (or WITH ... SELECT, or EXPLAIN) statement.
    pub query: String,
}

impl Args {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<ExitCode> {
        check_read_only(&self.query)?;
        let warehouse = global.open()?;
        let ctx = session::build(&warehouse, Access::Analyst).await?;
        let options = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
        let df = ctx.sql_with_options(&self.query, options).await.map_err(|e| Error::query("sql", e))?;
        crate::warehouse::fault::pause_reader();
        output::write_frame(df, "sql", global.format(), global.out.as_deref()).await?;
        Ok(ExitCode::SUCCESS)
    }
}

/// Refuses anything but a single query.
pub fn check_read_only(query: &str) -> Result<()> {
    let statements = DFParser::parse_sql(query).map_err(|e| Error::query("sql", e))?;
    if statements.len() != 1 {
        return Err(Error::Usage(format!("give exactly one query, not {}", statements.len())));
    }
    let is_query = match &statements[0] {
        Statement::Statement(s) => matches!(s.as_ref(), ast::Statement::Query(_)),
        Statement::Explain(_) => true,
        _ => false,
    };
    if !is_query {
        return Err(Error::Usage(
            "only queries (SELECT, WITH, EXPLAIN) are allowed; the warehouse is read-only here".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_queries_pass() {
        assert!(check_read_only("SELECT 1").is_ok());
        assert!(check_read_only("WITH a AS (SELECT 1) SELECT * FROM a").is_ok());
        for bad in [
            "DROP TABLE students",
            "INSERT INTO students VALUES (1)",
            "CREATE TABLE x AS SELECT 1",
            "SELECT 1; SELECT 2",
            "COPY students TO 'x.csv'",
            "SET datafusion.execution.batch_size = 1",
        ] {
            assert!(check_read_only(bad).is_err(), "{bad}");
        }
    }
}
