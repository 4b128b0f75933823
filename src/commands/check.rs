//! `check`: gather (live or from `--bundle`), judge, and write each `-o` report; the exit
//! code is the report's.

use crate::cli::{self, CheckArgs};
use crate::exit::Exit;
use crate::pipeline;
use crate::plan::Purpose;
use crate::ui::Ui;
use anyhow::{bail, Context, Result};
use std::io::IsTerminal;

pub fn run(args: CheckArgs, ui: &Ui) -> Result<Exit> {
    if args.output.iter().filter(|o| o.path.is_none()).count() > 1 {
        bail!("only one -o format can go to stdout; give the others a file: -o json=report.json");
    }
    let gathered = match &args.bundle {
        Some(path) => {
            if !args.target.is_empty() {
                bail!("--bundle replays the target it was collected for; drop the target flags (--cluster, --vault, ...)");
            }
            match pipeline::gather_bundle(path) {
                Err(e) if e.is::<pipeline::FleetBundle>() => {
                    return super::fleet::replay_for_check(path, &args, ui)
                }
                gathered => gathered?,
            }
        }
        None => pipeline::gather_live(
            &args.target,
            &args.connection,
            &Purpose::Check,
            &ui.progress(),
        )?,
    };
    let fail_on = cli::FailOn::of(&args.fail_on);
    let report = pipeline::judge(&gathered, args.profile.selected(), fail_on)?;
    for spec in &args.output {
        let to_stdout = spec.path.is_none();
        let text = pipeline::render(
            &report,
            spec.format,
            to_stdout && std::io::stdout().is_terminal(),
            to_stdout && ui.color(),
        );
        match &spec.path {
            None if ui.quiet => {}
            None => print!("{text}"),
            Some(path) => std::fs::write(path, text)
                .with_context(|| format!("cannot write the report to {}", path.display()))?,
        }
    }
    Ok(report.exit())
}
