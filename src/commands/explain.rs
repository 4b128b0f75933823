//! `explain ID`: one check's title, profiles and explanation, then the requirement data it
//! applies (versions, lists), so the reader sees exactly what is compared.

use crate::checks::{self, Uses};
use crate::exit::Exit;
use crate::requirements;
use anyhow::{anyhow, Result};

pub fn run(id: &str) -> Result<Exit> {
    let check = checks::find(id)
        .ok_or_else(|| anyhow!("unknown check id '{id}'; `pxb-preflight checks` lists them"))?;
    let profiles: Vec<_> = check.profiles.iter().map(|p| p.name()).collect();
    println!(
        "{} ({})\nProfiles: {}\n\n{}",
        check.title,
        check.id,
        profiles.join(", "),
        check.explain_text()
    );
    print!("{}", requirements_text(check.uses));
    Ok(Exit::Ready)
}

/// The requirement data a check applies.
fn requirements_text(uses: Uses) -> String {
    match uses {
        Uses::Nothing => String::new(),
        Uses::AzureBackupMatrix => {
            let data = requirements::azure_backup();
            format!("\nRequirements: {} ({})\n", data.version, data.source)
        }
        Uses::PxbLists => {
            let data = requirements::pxb();
            let mut text = format!("\nRequirements: {} ({})\n", data.version, data.source);
            text.push_str(&format!(
                "\nproxy.httpProxy.noProxy must hold ({}):\n  {}\n",
                data.no_proxy_note,
                data.no_proxy.join(",")
            ));
            text.push_str(&format!(
                "\nPXB micro-services (list IV): {}\n",
                data.services.join(", ")
            ));
            for list in [&data.install, &data.app_cluster, &data.restore] {
                text.push_str(&format!("\n{} ({}):\n", list.role_name, list.note));
                for op in &list.operations {
                    text.push_str(&format!("  {op}\n"));
                }
            }
            text
        }
    }
}
