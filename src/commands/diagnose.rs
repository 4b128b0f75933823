//! `diagnose`: gather (live, or from `--bundle`) the checks' reads plus what Azure Backup
//! and Portworx Backup recorded, then report each failure in the window with its recorded
//! reasons and the verdicts of the checks that explain it, on every cluster involved.
//! Exit code: 0 nothing recorded, 1 a failure explained by a failing check, 3 failures
//! none of which is explained (or records that could not be read), 2 could not run.

use crate::cli::{DiagnoseArgs, OutputFormat};
use crate::exit::Exit;
use crate::pipeline;
use crate::plan::Purpose;
use crate::report;
use crate::ui::Ui;
use anyhow::{bail, Context, Result};
use std::io::IsTerminal;

pub fn run(args: DiagnoseArgs, ui: &Ui) -> Result<Exit> {
    if args.output.iter().filter(|o| o.path.is_none()).count() > 1 {
        bail!(
            "only one -o format can go to stdout; give the others a file: -o json=diagnosis.json"
        );
    }
    if args.output.iter().any(|o| o.format == OutputFormat::Junit) {
        bail!("diagnose writes table, json or markdown (JUnit is for check)");
    }
    let (gathered, scope) = match &args.bundle {
        Some(path) => {
            if !args.target.is_empty() {
                bail!("--bundle replays the target it was collected for; drop the target flags (--cluster, --vault, ...)");
            }
            let gathered = pipeline::gather_bundle(path)?;
            // The window the bundle was collected for, unless the flags narrow it; either
            // way counted back from the collection time, so a replay gives the same answer.
            let scope = match (&gathered.diagnosis, args.window.is_empty()) {
                (Some(scope), true) => scope.clone(),
                _ => args.window.scope(gathered.observed_at),
            };
            (gathered, scope)
        }
        None => {
            let scope = args.window.scope(time::OffsetDateTime::now_utc());
            let purpose = Purpose::Diagnose(scope.clone());
            let gathered =
                pipeline::gather_live(&args.target, &args.connection, &purpose, &ui.progress())?;
            (gathered, scope)
        }
    };
    let diagnosis = pipeline::diagnose(&gathered, scope)?;
    for spec in &args.output {
        let to_stdout = spec.path.is_none();
        let text = match spec.format {
            OutputFormat::Json => report::diagnosis::json(&diagnosis),
            OutputFormat::Markdown => report::diagnosis::markdown(&diagnosis),
            // JUnit was refused above.
            OutputFormat::Table | OutputFormat::Junit => report::diagnosis::table(
                &diagnosis,
                &pipeline::table_style(
                    to_stdout && std::io::stdout().is_terminal(),
                    to_stdout && ui.color(),
                ),
            ),
        };
        match &spec.path {
            None if ui.quiet => {}
            None => print!("{text}"),
            Some(path) => std::fs::write(path, text)
                .with_context(|| format!("cannot write the diagnosis to {}", path.display()))?,
        }
    }
    Ok(diagnosis.exit())
}
