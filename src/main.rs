//! The `pxb-preflight` binary: everything lives in the library so the fuzz targets can
//! reach the same parsers; this only hands over.

fn main() -> std::process::ExitCode {
    pxb_preflight::main()
}
