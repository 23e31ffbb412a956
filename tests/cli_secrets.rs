//! `layerscope secrets` on real images built with buildah (tests/fixtures/secrets/, see
//! make-images.sh there): a build that adds a key, a .env and a token file in one layer
//! and deletes them in a later one, with a password in ENV and a token on a RUN line; and
//! its clean twin. Findings are checked against `changes` (which layer added and deleted
//! each file); no secret value may appear in any output; SARIF validates against the
//! vendored SARIF 2.1.0 schema.

use std::path::PathBuf;
use std::process::{Command, Output};

fn image(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/secrets")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

/// Values the build put in the image: none may be printed.
const SECRETS: &[&str] = &[
    "s3cr3t-from-dotenv",
    "ghp_Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2",
    "Z9y8X7w6V5u4T3s2",
    "R4nd0mLooking1TokenValue2For3Tests45",
    "correct-horse-battery-staple",
    "horse-battery",
];

fn assert_no_secret(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} prints {secret:?}:\n{text}");
    }
    // The private key's body (base64 lines after the BEGIN line) never appears.
    assert!(
        !text.contains("b3BlbnNzaC1rZXktdjEAAAAA"),
        "{what} prints the key:\n{text}"
    );
}

fn json_findings(name: &str) -> (Option<i32>, Vec<serde_json::Value>) {
    let out = run(&["secrets", &image(name), "--format", "json"]);
    assert_no_secret("json", &out.stdout);
    assert_no_secret("stderr", &out.stderr);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "layerscope.secrets/v1");
    (
        out.status.code(),
        doc["findings"].as_array().unwrap().clone(),
    )
}

/// The layer whose `changes` list `letter path`.
fn layer_with(name: &str, letter: char, path: &str, layers: usize) -> Option<usize> {
    (0..layers).find(|layer| {
        let out = run(&["changes", "-q", &image(name), "--layer", &layer.to_string()]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l == format!("{letter} {path}"))
    })
}

#[test]
fn deleted_files_are_found_in_the_layer_that_still_ships_them() {
    let (code, findings) = json_findings("leaky.tar");
    assert_eq!(code, Some(1));
    let file = |rule: &str, path: &str| {
        findings
            .iter()
            .find(|f| f["rule"] == rule && f["path"] == path)
            .unwrap_or_else(|| panic!("no {rule} at {path} in {findings:#?}"))
            .clone()
    };
    for (rule, path) in [
        ("private-key", "/root/.ssh/id_ed25519"),
        ("dotenv-file", "/app/.env"),
        ("password-assignment", "/app/.env"),
        ("github-token", "/app/deploy-token.txt"),
    ] {
        let finding = file(rule, path);
        let added = layer_with("leaky.tar", 'A', path, 8).expect("the file was added");
        let deleted = layer_with("leaky.tar", 'D', path, 8).expect("the file was deleted");
        assert_eq!(finding["layer"], added, "{path}");
        assert_eq!(finding["fate"]["state"], "deleted", "{path}");
        assert_eq!(finding["fate"]["layer"], deleted, "{path}");
        assert_eq!(finding["place"], "file");
        assert!(finding["instruction"]
            .as_str()
            .unwrap()
            .starts_with("COPY "));
    }
    // Redacted previews: rule and a hint of the value, never the value.
    assert_eq!(
        file("github-token", "/app/deploy-token.txt")["preview"],
        "ghp_…i2"
    );
    assert_eq!(
        file("password-assignment", "/app/.env")["preview"],
        "DB_PASSWORD=s3cr…nv"
    );
}

#[test]
fn env_and_run_secrets_are_found_in_the_config() {
    let (_, findings) = json_findings("leaky.tar");
    let config: Vec<(&str, &str)> = findings
        .iter()
        .filter(|f| f["place"] == "config")
        .map(|f| (f["rule"].as_str().unwrap(), f["field"].as_str().unwrap()))
        .collect();
    assert!(
        config.contains(&("password-assignment", "Env")),
        "{config:?}"
    );
    assert!(
        config
            .iter()
            .any(|(rule, field)| *rule == "github-token" && field.ends_with(".created_by")),
        "{config:?}"
    );
    assert!(
        config
            .iter()
            .any(|(rule, field)| *rule == "password-assignment" && field.starts_with("history[")),
        "{config:?}"
    );
}

#[test]
fn the_clean_twin_and_every_shared_fixture_have_no_findings() {
    let (code, findings) = json_findings("clean.tar");
    assert_eq!(code, Some(0));
    assert!(findings.is_empty(), "{findings:#?}");
    let out = run(&["secrets", &image("clean.tar")]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("No secrets found"));

    let dir = std::env::var_os("LAYERSCOPE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("note: {dir:?} not found; shared fixtures not checked");
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "tar") {
            let out = run(&["secrets", "-q", path.to_str().unwrap()]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{path:?}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
}

#[test]
fn text_output_says_what_still_ships_and_never_the_secret() {
    let out = run(&["secrets", &image("leaky.tar")]);
    assert_eq!(out.status.code(), Some(1));
    assert_no_secret("text", &out.stdout);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("deleted by layer 6, but still shipped in layer 2"),
        "{text}"
    );
    assert!(
        text.contains("github-token: /app/deploy-token.txt [ghp_…i2]"),
        "{text}"
    );
}

#[test]
fn exclude_globs_leave_paths_out() {
    let out = run(&[
        "secrets",
        &image("leaky.tar"),
        "--format",
        "json",
        "--exclude",
        "/app/**",
        "--exclude",
        "/root/**",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert!(
        findings.iter().all(|f| f["place"] == "config"),
        "{findings:#?}"
    );
    assert!(!findings.is_empty());
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let schema_path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/sarif-schema-2.1.0.json");
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(schema_path).unwrap()).unwrap();
    // The 2.1.0 schema's `language` pattern ends in a stray `]` that JavaScript's regex
    // dialect reads as a literal and Rust's refuses; the OASIS errata write it as below.
    let text = serde_json::to_string(&schema).unwrap().replace(
        r"^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$",
        r"^[a-zA-Z]{2}(-[a-zA-Z]{2})?$",
    );
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::draft7::new(&schema).expect("the SARIF schema compiles");
    for name in ["leaky.tar", "clean.tar"] {
        let out = run(&["secrets", &image(name), "--format", "sarif"]);
        assert_no_secret("sarif", &out.stdout);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        let results = doc["runs"][0]["results"].as_array().unwrap();
        if name == "leaky.tar" {
            assert_eq!(results.len(), 7);
            let rules = doc["runs"][0]["tool"]["driver"]["rules"]
                .as_array()
                .unwrap();
            for result in results {
                let index = result["ruleIndex"].as_u64().unwrap() as usize;
                assert_eq!(rules[index]["id"], result["ruleId"]);
            }
            let key = results
                .iter()
                .find(|r| r["ruleId"] == "private-key")
                .unwrap();
            let location = &key["locations"][0];
            assert_eq!(
                location["physicalLocation"]["artifactLocation"]["uri"],
                "root/.ssh/id_ed25519"
            );
            assert_eq!(location["logicalLocations"][0]["name"], "layer 2");
        } else {
            assert!(results.is_empty());
        }
    }
    // The check has teeth: a result without a message is refused.
    let bad = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "x"}]}]});
    assert!(!validator.is_valid(&bad));
}
