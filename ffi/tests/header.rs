//! The checked-in header is exactly what cbindgen makes from this crate and `cbindgen.toml`,
//! plus the version defines taken from Cargo's version. `make test` runs this, so a stale
//! header fails the build. Regenerate with:
//!
//!     HY_BLESS=1 cargo test -p haoyuan-ffi --test header

use std::path::Path;

fn generate() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    config.after_includes = Some(format!(
        "\n/* The version of the library this header belongs to; hy_version() returns it at run time. */\n\
         #define HY_VERSION_MAJOR {}\n#define HY_VERSION_MINOR {}\n#define HY_VERSION_PATCH {}\n#define HY_VERSION \"{}\"\n",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION"),
    ));
    // Parse the sources directly (no `cargo metadata`): only this crate declares the C API.
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn header_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/haoyuan.h");
    let generated = generate();
    if std::env::var_os("HY_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write include/haoyuan.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let fresh = Path::new(env!("CARGO_TARGET_TMPDIR")).join("haoyuan.h");
        std::fs::write(&fresh, &generated).expect("write the fresh header");
        panic!(
            "ffi/include/haoyuan.h is stale: diff it with {} and regenerate with \
             `HY_BLESS=1 cargo test -p haoyuan-ffi --test header`",
            fresh.display()
        );
    }
}

#[test]
fn header_version_is_cargo_version() {
    let header = generate();
    for (name, v) in [
        ("HY_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("HY_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("HY_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        assert!(
            header.contains(&format!("#define {name} {v}\n")),
            "{name} {v} missing from the header"
        );
    }
    // And the library reports the same version at run time.
    let lib = unsafe { std::ffi::CStr::from_ptr(haoyuan::hy_version()) }.to_str().unwrap();
    assert_eq!(lib, env!("CARGO_PKG_VERSION"));
}
