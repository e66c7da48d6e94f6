//! Build script. Two jobs, both for issue 20 (the release binary within 40 MB):
//!
//! 1. Compresses the release binary's line tables at link time, so backtraces still name file
//!    and line. Only for release-like profiles, so test binaries link at full speed. The linker
//!    is the toolchain's default (rust-lld, or GNU ld through gcc); both accept the flag, and
//!    std's backtrace reads zlib-compressed sections.
//! 2. Extracts the few Swagger UI files `/docs` serves from the archive vendored in the
//!    `utoipa-swagger-ui-vendored` crate into OUT_DIR (`src/http/docs.rs` embeds them). The whole
//!    `dist` folder (source maps, ES-module bundles: 11 MB) used to be embedded; the page needs
//!    only the bundle and its stylesheet. The archive is a crate's bytes: nothing is downloaded.

use std::io::{Cursor, Read};
use std::path::Path;

/// The files `/docs` serves from Swagger UI's `dist` folder. The standalone preset (the top bar
/// with a URL box) is left out on purpose: the page documents this service's API only.
const SWAGGER_UI_FILES: [&str; 3] = [
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "favicon-32x32.png",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("PROFILE").as_deref() == Ok("release") {
        println!("cargo:rustc-link-arg-bins=-Wl,--compress-debug-sections=zlib");
    }
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    extract_swagger_ui(Path::new(&out_dir).join("swagger-ui").as_path());
}

fn extract_swagger_ui(into: &Path) {
    let archive = utoipa_swagger_ui_vendored::SWAGGER_UI_VENDORED;
    let mut zip =
        zip::ZipArchive::new(Cursor::new(archive)).expect("the vendored Swagger UI archive opens");
    std::fs::create_dir_all(into).expect("OUT_DIR is writable");
    for name in SWAGGER_UI_FILES {
        // The archive's single top folder is `swagger-ui-<version>/`; find the file by its
        // `dist/` suffix so that a new version of the vendored crate needs no change here.
        let suffix = format!("/dist/{name}");
        let index = (0..zip.len())
            .find(|&i| zip.name_for_index(i).is_some_and(|n| n.ends_with(&suffix)))
            .unwrap_or_else(|| panic!("the vendored Swagger UI archive has no dist/{name}"));
        let mut entry = zip.by_index(index).expect("the archive entry reads");
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut bytes)
            .unwrap_or_else(|e| panic!("dist/{name} inflates: {e}"));
        assert!(
            !bytes.is_empty(),
            "dist/{name} is empty in the vendored archive"
        );
        std::fs::write(into.join(name), bytes)
            .unwrap_or_else(|e| panic!("writing {name} to OUT_DIR: {e}"));
    }
}
