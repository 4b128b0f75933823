//! A Helm values file (YAML).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pxb_preflight::harness::helm_values(data);
});
