//! `checks`: the catalog, one check a line: id, profiles, title.

use crate::checks::REGISTRY;
use crate::exit::Exit;
use anyhow::Result;

pub fn run() -> Result<Exit> {
    print!("{}", catalog());
    Ok(Exit::Ready)
}

fn catalog() -> String {
    REGISTRY
        .iter()
        .map(|c| {
            let profiles: Vec<_> = c.profiles.iter().map(|p| p.name()).collect();
            format!("{:<42} {:<18} {}\n", c.id, profiles.join(","), c.title)
        })
        .collect()
}
