//! An NSG rule's address prefix, port range and protocol, evaluated for a port.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pxb_preflight::harness::nsg_rule(data);
});
