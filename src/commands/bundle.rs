//! `bundle ACTION`: work with support bundles, one function per action.

use crate::bundle;
use crate::cli::BundleAction;
use crate::exit::Exit;
use anyhow::Result;
use std::path::Path;

pub fn run(action: BundleAction) -> Result<Exit> {
    match action {
        BundleAction::Inspect { path } => inspect(&path),
        BundleAction::Upgrade {
            source,
            destination,
        } => upgrade(&source, &destination),
    }
}

/// A bundle's summary: format, tool version, time, target, failed reads.
fn inspect(path: &Path) -> Result<Exit> {
    print!("{}", bundle::inspect(path)?);
    Ok(Exit::Ready)
}

/// Rewrites a bundle of an older format in the current one (a current bundle is copied as is).
fn upgrade(source: &Path, destination: &Path) -> Result<Exit> {
    bundle::upgrade(source, destination)?;
    Ok(Exit::Ready)
}
