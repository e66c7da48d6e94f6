//! Build script: compresses the release binary's line tables at link time (issue 20: the binary
//! within 40 MB while backtraces still name file and line). Only for release-like profiles, so
//! test binaries link at full speed. The linker is the toolchain's default (rust-lld, or GNU ld
//! through gcc); both accept the flag, and std's backtrace reads zlib-compressed sections.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("PROFILE").as_deref() == Ok("release") {
        println!("cargo:rustc-link-arg-bins=-Wl,--compress-debug-sections=zlib");
    }
}
