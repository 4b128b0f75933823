//! The subcommands, one module each, and the dispatch from the parsed command line.
//!
//! A command returns how the run ends ([`Exit`]) or an error that stops it (exit 2, printed
//! by `main`); commands never exit the process themselves.

mod bundle;
mod check;
mod checks;
mod collect;
mod diagnose;
mod explain;
mod fleet;
mod role_definition;
mod shell;

use crate::cli::{Cli, Command};
use crate::exit::Exit;
use crate::ui::{self, Ui};
use anyhow::Result;

pub fn run(cli: Cli) -> Result<Exit> {
    ui::init_call_log(cli.verbose);
    let ui = Ui::new(cli.quiet, cli.color);
    match cli.command {
        Command::Check(args) => check::run(args, &ui),
        Command::Collect(args) => collect::run(args, &ui),
        Command::Diagnose(args) => diagnose::run(args, &ui),
        Command::Fleet(args) => fleet::run(args, &ui),
        Command::Checks => checks::run(),
        Command::Explain { id } => explain::run(&id),
        Command::Completions { shell } => shell::completions(shell),
        Command::Man => shell::man(),
        Command::Bundle { action } => bundle::run(action),
        Command::RoleDefinition {
            role,
            assignable_scope,
        } => role_definition::run(role, &assignable_scope),
    }
}
