//! `completions SHELL` and `man`: generated from the clap definitions, so they cannot
//! disagree with `--help`.

use crate::cli::Cli;
use crate::exit::Exit;
use anyhow::Result;
use clap::CommandFactory;

pub fn completions(shell: clap_complete::Shell) -> Result<Exit> {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "pxb-preflight",
        &mut std::io::stdout(),
    );
    Ok(Exit::Ready)
}

pub fn man() -> Result<Exit> {
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
    Ok(Exit::Ready)
}
