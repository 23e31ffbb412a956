//! What a test needs from outside the Rust toolchain: Debian programs and the shared
//! fixture images. README's `cargo test` must pass on a machine with the toolchain alone,
//! so a test whose oracle is missing says so and passes there; in CI (`CI` set, as
//! `.ci/run` sets it), where every one of them is installed, a missing one fails.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Whether every program in `programs` runs; where one does not, a note naming the Debian
/// `package` that has it (or, in CI, a failure).
pub fn tools(programs: &[&str], package: &str) -> bool {
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|program| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {program}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    skip(&format!(
        "{} not installed (Debian: {package})",
        missing.join(", ")
    ));
    false
}

/// The shared fixture images (`$LAYERSCOPE_FIXTURES`, else `../shared/fixtures` beside the
/// repository), or `None` with a note where they are not (a failure in CI).
pub fn fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("LAYERSCOPE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    if dir.join("README.md").is_file() {
        return Some(dir);
    }
    skip(&format!(
        "fixtures not found at {}; set LAYERSCOPE_FIXTURES",
        dir.display()
    ));
    None
}

fn skip(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{why}: .ci/run provides it"
    );
    eprintln!("note: {why}; test skipped");
}
