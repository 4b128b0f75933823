//! A single-file `.tar.gz` bundle, replayed through every check and report.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pxb_preflight::harness::bundle_archive(data);
});
