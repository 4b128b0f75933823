//! `collect`: gather live (the checks' reads and `diagnose`'s), make sure the cluster was readable (as `check` would), and write
//! the reads as a redacted support bundle for `check --bundle`.

use crate::cli::CollectArgs;
use crate::exit::Exit;
use crate::plan::Purpose;
use crate::ui::Ui;
use crate::{bundle, pipeline};
use anyhow::{Context, Result};

pub fn run(args: CollectArgs, ui: &Ui) -> Result<Exit> {
    // A support bundle carries what `diagnose` reads too, so it can be diagnosed offline.
    let purpose = Purpose::Diagnose(args.window.scope(time::OffsetDateTime::now_utc()));
    let gathered = pipeline::gather_live(&args.target, &args.connection, &purpose, &ui.progress())?;
    // A bundle that `check --bundle` could not judge is no use to support: stop here instead.
    pipeline::facts(&gathered)?;
    let collected_at = gathered
        .observed_at
        .format(&time::format_description::well_known::Rfc3339)
        .context("cannot format the collection time")?;
    let manifest = bundle::Manifest::new(
        gathered.target,
        collected_at,
        gathered.diagnosis,
        &gathered.raws,
    );
    bundle::write(&args.out, &manifest, &gathered.raws)?;
    if !ui.quiet {
        eprintln!(
            "pxb-preflight: wrote {} ({} reads, {} failed); check it with: pxb-preflight check --bundle {}",
            args.out.display(),
            gathered.raws.len(),
            manifest.failed_reads.len(),
            args.out.display()
        );
    }
    Ok(Exit::Ready)
}
