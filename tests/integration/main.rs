//! The integration tests, one binary: the real `pxb-preflight` run as a process, against
//! fixture bundles and the in-process fake ARM of `common`. One module per area; nothing
//! here reaches anything but 127.0.0.1.

mod common;

mod blob;
mod bundle_format;
mod bundles;
mod cli;
mod diagnose;
mod discovery;
mod fleet;
mod fleet_fake;
mod graph;
mod kubernetes;
mod kubernetes_tls;
mod live;
mod network;
mod permissions;
mod policy;
mod ports;
mod proxy;
mod redaction;
mod reports;
mod snapshots;
mod storage_key;
mod terminal;
mod vault_identity;
