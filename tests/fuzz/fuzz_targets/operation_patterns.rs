//! Two RBAC operation patterns, newline-separated: match, cover, intersect.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pxb_preflight::harness::operation_patterns(data);
});
