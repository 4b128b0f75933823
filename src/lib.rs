//! pxb-preflight: read-only preflight checks for Portworx Backup and Azure Backup for AKS.
//!
//! [`main`] parses the command line and hands it to a command (`commands`); `check` and
//! `collect` go through the one pipeline (`pipeline`: gather, facts, judge, render). Anything
//! that stops a run early is one line on stderr and exit code 2. The library exists for the
//! binary and, with the `fuzzing` feature, for `harness`, which the fuzz targets drive; it is
//! not a stable API.

#![forbid(unsafe_code)]

mod arm;
mod bundle;
mod checks;
mod cli;
mod cloud;
mod collect;
mod commands;
mod diagnosis;
mod exit;
mod facts;
mod fleet;
#[cfg(any(test, feature = "fuzzing"))]
pub mod harness;
mod helm;
mod ids;
mod kubeapi;
mod nsg;
mod pipeline;
mod plan;
mod probe;
mod rbac;
mod reads;
mod redact;
mod report;
mod requirements;
mod secret;
mod target;
mod ui;

use clap::Parser;
use exit::Exit;
use std::process::ExitCode;

/// The whole program: parse the command line, run the command, and end with its exit code.
pub fn main() -> ExitCode {
    match commands::run(cli::Cli::parse()) {
        Ok(exit) => exit.into(),
        Err(error) => {
            // An input may be a URL with a password (`--arm-endpoint`): never echo it.
            let message = arm::one_line(&format!("{error:#}"));
            eprintln!("pxb-preflight: error: {}", redact::url_passwords(&message));
            Exit::CouldNotRun.into()
        }
    }
}
