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
        text.contains("github-token (critical): /app/deploy-token.txt [ghp_…i2]"),
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

/// The vendored SARIF 2.1.0 schema, compiled.
fn sarif_validator() -> jsonschema::Validator {
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
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

fn assert_valid_sarif(what: &str, validator: &jsonschema::Validator, doc: &serde_json::Value) {
    let errors: Vec<String> = validator.iter_errors(doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let validator = sarif_validator();
    for name in ["leaky.tar", "clean.tar"] {
        let out = run(&["secrets", &image(name), "--format", "sarif"]);
        assert_no_secret("sarif", &out.stdout);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_valid_sarif(name, &validator, &doc);
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

// ---- `ci`'s `secrets` rule and `--dockerfile` lines ----

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/secrets")
}

/// `layerscope ci ARGS` in `dir`, where config files are looked up.
fn ci_in(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .current_dir(dir)
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .arg("ci")
        .arg("-q")
        .args(args)
        .output()
        .unwrap()
}

/// A temp directory holding `.layerscope-ci.yaml` with `config`.
fn config_dir(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".layerscope-ci.yaml"), config).unwrap();
    dir
}

fn ci_json(dir: &std::path::Path, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let image = image("leaky.tar");
    let mut args = vec![image.as_str(), "--format", "json"];
    args.extend_from_slice(extra);
    let out = ci_in(dir, &args);
    assert_no_secret("ci json", &out.stdout);
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

fn rule<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no rule {id} in {report:#}"))
}

/// The 1-based line of the Containerfile that starts with `prefix`.
fn containerfile_line(prefix: &str) -> u64 {
    let text = std::fs::read_to_string(fixtures_dir().join("Containerfile.leaky")).unwrap();
    text.lines()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?}")) as u64
        + 1
}

#[test]
fn the_secrets_rule_is_on_by_default_and_fails_the_leaky_image() {
    // The leaky image also fails the user-wasted rule (its deleted files are most of its
    // few user bytes): turn that one off to see the secrets rule alone decide.
    let dir = config_dir("rules:\n  highestUserWastedPercent: disabled\n");
    let out = ci_in(dir.path(), &[&image("leaky.tar")]);
    assert_eq!(out.status.code(), Some(1));
    assert_no_secret("ci text", &out.stdout);
    let text = String::from_utf8_lossy(&out.stdout);
    let (_, findings) = json_findings("leaky.tar");
    let fail = text
        .lines()
        .find(|l| l.starts_with("  FAIL  secrets: "))
        .unwrap_or_else(|| panic!("{text}"));
    // The count, then the first findings by rule and place.
    assert!(
        fail.contains(&format!(
            "{} secret findings exceed the threshold 0: ",
            findings.len()
        )),
        "{fail}"
    );
    let first = &findings[0];
    assert!(
        fail.contains(&format!(
            "{} at {}",
            first["rule"].as_str().unwrap(),
            first["path"].as_str().unwrap()
        )),
        "{fail}"
    );
    assert!(
        fail.ends_with(&format!(", and {} more", findings.len() - 3)),
        "{fail}"
    );
    // The first file finding's layer and what deleted it, as `changes` shows them.
    let deleted = first["fate"]["layer"].as_u64().unwrap();
    assert!(
        fail.contains(&format!(
            "(layer {}, deleted by layer {deleted})",
            first["layer"]
        )),
        "{fail}"
    );
    // The findings section says what still ships.
    assert!(text.contains("Secrets (top "), "{text}");
    assert!(
        text.contains("deleted by layer 6, but still shipped in layer 2"),
        "{text}"
    );

    let (code, report) = ci_json(dir.path(), &[]);
    assert_eq!(code, Some(1));
    assert_eq!(report["schema"], "layerscope.ci/v3");
    let secrets = rule(&report, "secrets");
    assert_eq!(secrets["status"], "fail");
    assert_eq!(secrets["threshold"], 0);
    assert_eq!(secrets["actual"], findings.len());
    assert_eq!(secrets["unit"], "count");
    let listed = report["secrets"].as_array().unwrap();
    assert_eq!(listed.len(), findings.len());
    // The same findings as `secrets`, each with its layer's diff_id.
    for (ci, own) in listed.iter().zip(&findings) {
        assert_eq!(ci["rule"], own["rule"]);
        assert_eq!(ci["layer"], own["layer"]);
        assert_eq!(ci["preview"], own["preview"]);
        if let Some(layer) = ci["layer"].as_u64() {
            assert_eq!(
                ci["layerDigest"],
                report["layers"][layer as usize]["digest"]
            );
        }
    }

    // The clean twin passes every rule with the defaults.
    let empty = tempfile::tempdir().unwrap();
    let out = ci_in(empty.path(), &[&image("clean.tar"), "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(rule(&report, "secrets")["status"], "pass");
    assert_eq!(rule(&report, "secrets")["actual"], 0);
    assert_eq!(report["secrets"], serde_json::json!([]));
}

#[test]
fn secrets_disabled_passes_and_skips_the_scan() {
    for config in [
        "secrets: disabled\nrules:\n  highestUserWastedPercent: disabled\n",
        "rules:\n  secrets: off\n  highestUserWastedPercent: disabled\n",
    ] {
        let dir = config_dir(config);
        let (code, report) = ci_json(dir.path(), &[]);
        assert_eq!(code, Some(0), "{config}: {report:#}");
        let secrets = rule(&report, "secrets");
        assert_eq!(secrets["status"], "skip");
        assert_eq!(secrets["threshold"], serde_json::Value::Null);
        // Not scanned, so nothing measured: no count, no list.
        assert_eq!(secrets["actual"], serde_json::Value::Null);
        assert_eq!(report["secrets"], serde_json::Value::Null);
        let text = ci_in(dir.path(), &[&image("leaky.tar")]);
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("Secrets: not scanned"), "{text}");
        assert!(text.contains("  SKIP  secrets: disabled"), "{text}");
    }
    // The flag wins over the file, both ways.
    let dir = config_dir("secrets: disabled\nrules:\n  highestUserWastedPercent: disabled\n");
    assert_eq!(ci_json(dir.path(), &["--secrets", "0"]).0, Some(1));
    let dir = config_dir("rules:\n  highestUserWastedPercent: disabled\n");
    assert_eq!(ci_json(dir.path(), &["--secrets", "disabled"]).0, Some(0));
    // A threshold allows that many findings.
    let (_, findings) = json_findings("leaky.tar");
    let allowed = findings.len().to_string();
    assert_eq!(ci_json(dir.path(), &["--secrets", &allowed]).0, Some(0));
    // Setting it twice (top level and under rules) is a config error naming both.
    let dir = config_dir("secrets: disabled\nrules:\n  secrets: 0\n");
    let out = ci_in(dir.path(), &[&image("leaky.tar")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rules.secrets") && stderr.contains("`secrets`"),
        "{stderr}"
    );
}

#[test]
fn exclude_globs_apply_to_secret_findings() {
    let (_, findings) = json_findings("leaky.tar");
    let outside = |prefix: &str| {
        findings
            .iter()
            .filter(|f| !f["path"].as_str().is_some_and(|p| p.starts_with(prefix)))
            .count()
    };
    let dir =
        config_dir("rules:\n  highestUserWastedPercent: disabled\nexclude:\n  - /root/.ssh/**\n");
    let (_, report) = ci_json(dir.path(), &[]);
    let listed = report["secrets"].as_array().unwrap();
    assert_eq!(listed.len(), outside("/root/.ssh/"));
    assert!(
        listed.iter().all(|f| f["rule"] != "private-key"),
        "{listed:#?}"
    );
    assert_eq!(rule(&report, "secrets")["actual"], outside("/root/.ssh/"));
    // With every file excluded (config globs and --exclude add up), the config's own
    // findings still fail the rule: ENV and RUN lines have no path to exclude.
    let (code, report) = ci_json(dir.path(), &["--exclude", "/app"]);
    let listed = report["secrets"].as_array().unwrap();
    assert!(!listed.is_empty());
    assert!(listed.iter().all(|f| f["place"] == "config"), "{listed:#?}");
    assert_eq!(code, Some(1));
}

#[test]
fn every_ci_format_shows_the_rule_and_never_a_secret() {
    let dir = fixtures_dir();
    for dockerfile in [None, Some("Containerfile.leaky")] {
        for format in ["text", "json", "junit", "github", "markdown", "sarif"] {
            let mut args = vec!["leaky.tar", "--format", format];
            if let Some(d) = dockerfile {
                args.extend(["--dockerfile", d]);
            }
            let out = ci_in(&dir, &args);
            assert_eq!(out.status.code(), Some(1), "{format}");
            assert_no_secret(format, &out.stdout);
            assert_no_secret(format, &out.stderr);
            let text = String::from_utf8_lossy(&out.stdout);
            let shown = match format {
                "text" => text.contains("  FAIL  secrets: "),
                "json" => text.contains("\"id\": \"secrets\""),
                "junit" => text.contains("<testcase name=\"secrets\" classname=\"layerscope\">"),
                "github" => text.contains("::error title=layerscope secrets::"),
                "markdown" => text.contains("| ❌ | secrets | 0 |"),
                _ => text.contains("\"ruleId\": \"private-key\""),
            };
            assert!(shown, "{format} {dockerfile:?}:\n{text}");
        }
    }
    // With the Dockerfile, GitHub annotations sit on the line that added the key.
    let out = ci_in(
        &dir,
        &[
            "leaky.tar",
            "--format",
            "github",
            "--dockerfile",
            "Containerfile.leaky",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = containerfile_line("COPY id_ed25519");
    assert!(
        text.contains(&format!(
            "::error file=Containerfile.leaky,line={line},endLine={line},title=layerscope secret private-key::"
        )),
        "{text}"
    );
}

#[test]
fn ci_sarif_locates_results_on_dockerfile_lines_and_validates() {
    let validator = sarif_validator();
    let dir = fixtures_dir();
    let run_sarif = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_layerscope"))
            .current_dir(&dir)
            .env_remove("CI")
            .args(args)
            .output()
            .unwrap();
        assert_no_secret("sarif", &out.stdout);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_valid_sarif(&args.join(" "), &validator, &doc);
        (out.status.code(), doc)
    };
    let (code, doc) = run_sarif(&[
        "ci",
        "-q",
        "leaky.tar",
        "--format",
        "sarif",
        "--dockerfile",
        "Containerfile.leaky",
        "--highest-layer-count",
        "1",
    ]);
    assert_eq!(code, Some(1));
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    // One rule per secret rule and per hint kind (docs/hints.md lists them), and the rules
    // of ci that can fail.
    for id in [
        "private-key",
        "aws-access-key",
        "github-token",
        "gitlab-token",
        "slack-token",
        "password-assignment",
        "dotenv-file",
        "netrc",
        "pgpass",
        "aws-credentials",
        "docker-config-auth",
        "npm-token",
        "pypi-token",
        "kube-config",
        "shell-history",
        "chmod-copy",
        "deleted-later",
        "overwritten-later",
        "package-cache",
        "vcs-directory",
        "build-toolchain",
        "duplicate-content",
        "cache-busting-order",
        "lowest-efficiency",
        "highest-user-wasted-percent",
    ] {
        assert!(ids.contains(&id), "rule {id} missing: {ids:?}");
    }
    let secret_rule = rules.iter().find(|r| r["id"] == "private-key").unwrap();
    assert_eq!(secret_rule["defaultConfiguration"]["level"], "error");
    assert_eq!(secret_rule["properties"]["security-severity"], "9.5");
    assert!(secret_rule["properties"]["tags"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("security")));

    let results = run["results"].as_array().unwrap();
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
    }
    let find = |rule: &str, pred: &dyn Fn(&serde_json::Value) -> bool| {
        results
            .iter()
            .find(|r| r["ruleId"] == rule && pred(r))
            .unwrap_or_else(|| panic!("no {rule} result in {results:#?}"))
    };
    // The key: on the COPY that added it, the path in the image related, layer logical.
    let key = find("private-key", &|_| true);
    let location = &key["locations"][0];
    assert_eq!(
        location["physicalLocation"]["artifactLocation"]["uri"],
        "Containerfile.leaky"
    );
    assert_eq!(
        location["physicalLocation"]["region"]["startLine"],
        containerfile_line("COPY id_ed25519")
    );
    assert_eq!(location["logicalLocations"][0]["name"], "layer 2");
    assert!(location["logicalLocations"][0]["fullyQualifiedName"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert_eq!(
        key["relatedLocations"][0]["physicalLocation"]["artifactLocation"],
        serde_json::json!({"uri": "root/.ssh/id_ed25519", "uriBaseId": "IMAGE_ROOT"})
    );
    assert_eq!(key["properties"]["layer"], 2);
    assert_eq!(key["properties"]["fate"]["state"], "deleted");
    // Each file on its own COPY line.
    for (rule, path, prefix) in [
        ("dotenv-file", "/app/.env", "COPY dotenv "),
        (
            "github-token",
            "/app/deploy-token.txt",
            "COPY deploy-token.txt",
        ),
    ] {
        let result = find(rule, &|r| r["properties"]["path"] == path);
        assert_eq!(
            result["locations"][0]["physicalLocation"]["region"]["startLine"],
            containerfile_line(prefix),
            "{rule}"
        );
    }
    // Config findings: the ENV on its ENV line, the token on its RUN line.
    let env = find("password-assignment", &|r| {
        r["properties"]["field"] == "Env"
    });
    assert_eq!(
        env["locations"][0]["physicalLocation"]["region"]["startLine"],
        containerfile_line("ENV DB_PASSWORD")
    );
    let run_line = find("github-token", &|r| {
        r["properties"]["field"]
            .as_str()
            .is_some_and(|f| f.starts_with("history["))
    });
    assert_eq!(
        run_line["locations"][0]["physicalLocation"]["region"]["startLine"],
        containerfile_line("RUN GITHUB_TOKEN")
    );
    // A failed size rule and the deleted-later hint are results too.
    let wasted = find("highest-layer-count", &|_| true);
    assert_eq!(wasted["level"], "error");
    assert_eq!(
        wasted["locations"][0]["physicalLocation"]["region"]["startLine"],
        containerfile_line("FROM ")
    );
    let hint = find("deleted-later", &|_| true);
    assert_eq!(hint["level"], "note");
    assert_eq!(
        hint["locations"][0]["physicalLocation"]["region"]["startLine"],
        containerfile_line("COPY id_ed25519")
    );

    // `secrets --format sarif --dockerfile` locates the same finding the same way, with the
    // same fingerprint, so either report closes the other's alerts.
    let (code, own) = run_sarif(&[
        "secrets",
        "-q",
        "leaky.tar",
        "--format",
        "sarif",
        "--dockerfile",
        "Containerfile.leaky",
    ]);
    assert_eq!(code, Some(1));
    let own_key = own["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "private-key")
        .unwrap();
    assert_eq!(own_key["locations"], key["locations"]);
    assert_eq!(own_key["partialFingerprints"], key["partialFingerprints"]);

    // Without the Dockerfile: the path in the image comes first.
    let (_, plain) = run_sarif(&["ci", "-q", "leaky.tar", "--format", "sarif"]);
    let plain_key = plain["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "private-key")
        .unwrap();
    assert_eq!(
        plain_key["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "root/.ssh/id_ed25519"
    );
    assert!(plain_key["locations"][0]["physicalLocation"]["region"].is_null());
    // The clean image: no results, still valid.
    let (code, clean) = run_sarif(&["ci", "-q", "clean.tar", "--format", "sarif"]);
    assert_eq!(code, Some(0));
    assert_eq!(clean["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn secrets_findings_name_their_dockerfile_line() {
    let dir = fixtures_dir();
    let run_in = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_layerscope"))
            .current_dir(&dir)
            .env_remove("CI")
            .args(args)
            .output()
            .unwrap()
    };
    let out = run_in(&[
        "secrets",
        "leaky.tar",
        "--format",
        "json",
        "--dockerfile",
        "Containerfile.leaky",
    ]);
    assert_no_secret("json", &out.stdout);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    let key = findings
        .iter()
        .find(|f| f["rule"] == "private-key")
        .unwrap();
    let line = containerfile_line("COPY id_ed25519");
    assert_eq!(key["dockerfile"]["line"], line);
    assert_eq!(
        key["dockerfile"]["instruction"],
        "COPY id_ed25519 /root/.ssh/id_ed25519"
    );
    // The RUN line's own text is redacted where it carries the token.
    let run_token = findings
        .iter()
        .find(|f| {
            f["rule"] == "github-token"
                && f["field"]
                    .as_str()
                    .is_some_and(|f| f.starts_with("history["))
        })
        .unwrap();
    assert_eq!(
        run_token["dockerfile"]["line"],
        containerfile_line("RUN GITHUB_TOKEN")
    );
    assert!(run_token["dockerfile"]["instruction"]
        .as_str()
        .unwrap()
        .contains("ghp_…"));
    // Without --dockerfile the field is absent, as in v1.
    let (_, plain) = json_findings("leaky.tar");
    assert!(plain.iter().all(|f| f.get("dockerfile").is_none()));

    let out = run_in(&[
        "secrets",
        "leaky.tar",
        "--dockerfile",
        "Containerfile.leaky",
    ]);
    assert_no_secret("text", &out.stdout);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "(Dockerfile line {line}: COPY id_ed25519 /root/.ssh/id_ed25519); deleted by layer 6, but still shipped in layer 2"
        )),
        "{text}"
    );
}

#[test]
fn inspect_explain_and_diff_show_instructions_with_their_secrets_redacted() {
    let leaky = image("leaky.tar");
    let clean = image("clean.tar");
    let dockerfile = fixtures_dir().join("Containerfile.leaky");
    let dockerfile = dockerfile.to_str().unwrap();
    let runs: Vec<Vec<&str>> = vec![
        vec!["inspect", &leaky],
        vec!["inspect", &leaky, "--format", "json"],
        vec!["inspect", &leaky, "--dockerfile", dockerfile],
        vec![
            "inspect",
            &leaky,
            "--dockerfile",
            dockerfile,
            "--format",
            "json",
        ],
        vec!["explain", &leaky],
        vec!["explain", &leaky, "--format", "markdown"],
        vec!["explain", &leaky, "--dockerfile", dockerfile],
        vec!["diff", &clean, &leaky],
        vec!["diff", &clean, &leaky, "--format", "json"],
    ];
    for args in runs {
        let out = run(&args);
        let what = args.join(" ");
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_no_secret(&what, &out.stdout);
        assert_no_secret(&what, &out.stderr);
        // The instruction is still there, with its redacted preview.
        let text = String::from_utf8_lossy(&out.stdout);
        if !args.contains(&"diff") {
            assert!(text.contains("GITHUB_TOKEN=ghp_…45"), "{what}:\n{text}");
        }
    }
}
