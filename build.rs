//! Chooses the gzip inflater at build time, so that a machine with only the Rust toolchain
//! builds layerscope with no flag: ISA-L when the system library is there (it inflates about
//! twice as fast as zlib), else flate2's zlib-rs backend.
//!
//! `LAYERSCOPE_GZIP` overrides the probe: `auto` (the default), `isal` (fail the build when
//! ISA-L cannot be linked: for packagers who want it) or `zlib-rs` (never link it).

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LAYERSCOPE_GZIP");
    println!("cargo::rustc-check-cfg=cfg(layerscope_isal)");

    let wanted = env::var("LAYERSCOPE_GZIP").unwrap_or_default();
    let inflater = match wanted.as_str() {
        "" | "auto" => {
            if find_isal() {
                "isa-l"
            } else {
                println!(
                    "cargo:warning=gzip layers inflate with zlib-rs: ISA-L (libisal) was not \
                     found; install it (Debian: libisal-dev) for about twice the speed"
                );
                "zlib-rs"
            }
        }
        "isal" | "isa-l" => {
            if !find_isal() {
                panic!("LAYERSCOPE_GZIP=isal, but ISA-L (libisal) cannot be linked");
            }
            "isa-l"
        }
        "zlib-rs" => "zlib-rs",
        other => panic!("LAYERSCOPE_GZIP={other:?}: expected auto, isal or zlib-rs"),
    };
    if inflater == "isa-l" {
        println!("cargo:rustc-cfg=layerscope_isal");
        println!("cargo:warning=gzip layers inflate with ISA-L (the system libisal)");
    }
    println!("cargo:rustc-env=LAYERSCOPE_INFLATER={inflater}");
}

/// pkg-config first (it also prints the link flags); where it or libisal's `.pc` file is
/// missing, a compile-and-link probe, which is what a distribution without pkg-config has.
fn find_isal() -> bool {
    if pkg_config::Config::new()
        .atleast_version("2.25")
        .probe("libisal")
        .is_ok()
    {
        return true;
    }
    if link_probe() {
        println!("cargo:rustc-link-lib=isal");
        return true;
    }
    false
}

/// Compiles and links a program that calls `isal_inflate_init`, with the C compiler the
/// `cc` crate would use. A missing compiler, header or library each make it fail quietly.
fn link_probe() -> bool {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let source = out.join("isal_probe.c");
    let program = out.join("isal_probe");
    let probe = "#include <isa-l/igzip_lib.h>\n\
                 int main(void) { struct inflate_state s; isal_inflate_init(&s); return 0; }\n";
    if std::fs::write(&source, probe).is_err() {
        return false;
    }
    let Ok(compiler) = cc::Build::new()
        .cargo_metadata(false)
        .cargo_warnings(false)
        .try_get_compiler()
    else {
        return false;
    };
    Command::new(compiler.path())
        .args(compiler.args())
        .arg(&source)
        .arg("-o")
        .arg(&program)
        .arg("-lisal")
        .output()
        .map(|output| output.status.success())
        .unwrap_or(false)
}
