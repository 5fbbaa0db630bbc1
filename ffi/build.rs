//! Gives the shared library its SONAME, `libhaoyuan.so.MAJOR`, so that a program linked against
//! one release keeps loading every later release of the same MAJOR and refuses another MAJOR
//! (ffi/README.md, "Version policy"). MAJOR is the crate's version major, which is also
//! `HY_VERSION_MAJOR` in the header (ffi/tests/header.rs): the two move together. `make install`
//! (mk/install.mk) installs `libhaoyuan.so.MAJOR.MINOR.PATCH` with the `libhaoyuan.so.MAJOR`
//! and `libhaoyuan.so` links.
//!
//! A program linked in the source tree (`-Ltarget/debug -lhaoyuan -Wl,-rpath,…`, as make test
//! links ffi/examples/his_embed.c) records the SONAME and asks the loader for
//! `libhaoyuan.so.MAJOR`, which cargo does not make; so this script also puts that link, to
//! `libhaoyuan.so`, beside the library in the profile directory.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let major = env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets CARGO_PKG_VERSION_MAJOR");
    let soname = format!("libhaoyuan.so.{major}");
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    // ELF platforms only: macOS has install names, Windows neither.
    if matches!(target_os.as_str(), "linux" | "android" | "freebsd" | "netbsd" | "openbsd") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
        dev_link(&soname);
    }
}

/// `<profile dir>/libhaoyuan.so.MAJOR -> libhaoyuan.so`, made once (it dangles until the first
/// link of the library). OUT_DIR is `<profile dir>/build/haoyuan-ffi-<hash>/out`.
fn dev_link(soname: &str) {
    let Some(out_dir) = env::var_os("OUT_DIR") else { return };
    let Some(profile_dir) = PathBuf::from(out_dir).ancestors().nth(3).map(PathBuf::from) else {
        return;
    };
    let link = profile_dir.join(soname);
    if link.symlink_metadata().is_ok() {
        return;
    }
    #[cfg(unix)]
    if let Err(e) = std::os::unix::fs::symlink("libhaoyuan.so", &link) {
        // Only convenience for in-tree linking: say so and go on.
        println!("cargo:warning=could not create {}: {e}", link.display());
    }
}
