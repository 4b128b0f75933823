//! A Helm `--set` expression, and the escaped fix the proxy checks print for it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pxb_preflight::harness::helm_set(data);
});
