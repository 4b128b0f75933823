//! An ARM resource ID (`--cluster`, `--vault`, IDs inside bodies).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pxb_preflight::harness::resource_id(data);
});
