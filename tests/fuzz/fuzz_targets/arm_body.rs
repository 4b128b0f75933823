//! Any status and body for any one read of the ready fixture, judged and rendered.
#![no_main]

use pxb_preflight::harness::{arm_body, Fixture};
use std::sync::LazyLock;

static READY: LazyLock<Fixture> = LazyLock::new(|| {
    Fixture::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ready"))
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    arm_body(&READY, data);
});
