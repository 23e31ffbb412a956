//! Reports validate against the schemas of the tools that read them: JUnit against the
//! `junit-10.xsd` Jenkins' xunit plugin checks (with libxml2's `xmllint --schema`, the
//! validator the CI installs), vendored in tests/schemas/ with where each came from.

mod support;

use std::path::PathBuf;
use std::process::Command;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ci_report(image: &str, format: &str, extra: &[&str]) -> (Option<i32>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .current_dir(dir.path())
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .args(["ci", image, "--format", format])
        .args(extra)
        .output()
        .unwrap();
    (out.status.code(), out.stdout)
}

/// Validate `xml` against the vendored junit-10.xsd; the error text on failure.
fn validate_junit(xml: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.xml");
    std::fs::write(&report, xml).unwrap();
    let schema = manifest_dir().join("tests/schemas/junit-10.xsd");
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&report)
        .output()
        .expect("xmllint (Debian's libxml2-utils) is needed: .ci/run installs it");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn junit_reports_validate_against_jenkins_junit_10_xsd() {
    if !support::tools::tools(&["xmllint"], "libxml2-utils") {
        return;
    }
    let fixtures = manifest_dir().join("tests/fixtures");
    let cases: [(&str, &[&str], i32); 5] = [
        // Fails two rules, skips three.
        ("ggcr-whiteout.tar", &[], 1),
        // Passes once the failing rules are relaxed.
        (
            "ggcr-whiteout.tar",
            &[
                "--lowest-efficiency",
                "0.4",
                "--highest-user-wasted-percent",
                "off",
            ],
            0,
        ),
        // Names with every kind of hostile character.
        ("edge-oci-archive.tar", &[], 1),
        ("docker25-hello-world.tar", &[], 0),
        // The secrets rule fails, its failure listing every (redacted) finding.
        ("secrets/leaky.tar", &[], 1),
    ];
    for (name, extra, expected) in cases {
        let image = fixtures.join(name);
        let (code, xml) = ci_report(image.to_str().unwrap(), "junit", extra);
        assert_eq!(code, Some(expected), "{name}");
        if let Err(error) = validate_junit(&xml) {
            panic!(
                "{name}: the JUnit report does not validate:\n{error}\n{}",
                String::from_utf8_lossy(&xml)
            );
        }
    }
}

#[test]
fn the_validator_rejects_what_the_schema_forbids() {
    if !support::tools::tools(&["xmllint"], "libxml2-utils") {
        return;
    }
    // The check has teeth: the attribute that used to be emitted is refused.
    let bad = br#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="x" tests="1" failures="0" errors="0" skipped="1">
  <testsuite name="x" tests="1" failures="0" errors="0"><testcase name="t"/></testsuite>
</testsuites>
"#;
    assert!(validate_junit(bad).is_err());
}
