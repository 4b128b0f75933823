//! `role-definition --for ROLE --assignable-scope SCOPE`: a PXB permission list as a custom
//! role, in the JSON `az role definition create --role-definition` takes.

use crate::cli::PxbRole;
use crate::exit::Exit;
use crate::{ids, rbac, requirements};
use anyhow::{bail, Result};

pub fn run(role: PxbRole, assignable_scope: &str) -> Result<Exit> {
    let scope = assignable_scope.trim();
    let valid = rbac::scope::is_management_group(scope)
        || ids::ResourceId::parse(scope).is_ok_and(|id| id.resource_type().is_none());
    if !valid {
        bail!("--assignable-scope '{scope}' must be a subscription, resource group or management group ID");
    }
    let pxb = requirements::pxb();
    let list = match role {
        PxbRole::PxbInstall => &pxb.install,
        PxbRole::PxbAppCluster => &pxb.app_cluster,
        PxbRole::PxbRestore => &pxb.restore,
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&list.role_definition(scope))?
    );
    Ok(Exit::Ready)
}
