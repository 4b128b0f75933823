//! The `pxb-preflight` binary: everything lives in the library, which the fuzz targets
//! also link; this only hands over.

fn main() -> std::process::ExitCode {
    pxb_preflight::main()
}
