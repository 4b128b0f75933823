//! A bundle's manifest and read records (NUL-separated), replayed through every check and report.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pxb_preflight::harness::bundle_files(data);
});
