//! `layerscope ci` end to end: exit codes, config precedence, dive's `.dive-ci`, and every
//! report format (JSON and JUnit parsed, not grepped).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Run `layerscope ci` in `dir` (where config files are looked up).
fn ci(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .current_dir(dir)
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .arg("ci")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn whiteout_image() -> String {
    fixture("ggcr-whiteout.tar").to_str().unwrap().to_string()
}

#[test]
fn default_rules_fail_an_inefficient_image_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    // ggcr-whiteout: 4 of its 8 bytes are deleted later, efficiency 0.5 < 0.9.
    let out = ci(dir.path(), &[&whiteout_image()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("FAIL  lowest-efficiency"), "{text}");
    assert!(text.contains("/foo.txt"), "{text}");
}

#[test]
fn flags_override_rules_and_can_pass() {
    let dir = tempfile::tempdir().unwrap();
    let out = ci(
        dir.path(),
        &[
            &whiteout_image(),
            "--lowest-efficiency",
            "0.4",
            "--highest-user-wasted-percent",
            "off",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // dive's camelCase spelling works as an alias.
    let out = ci(
        dir.path(),
        &[&whiteout_image(), "--lowestEfficiency", "0.6"],
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn config_precedence_explicit_then_layerscope_then_dive() {
    let dir = tempfile::tempdir().unwrap();
    let lenient = "rules:\n  lowestEfficiency: 0.4\n  highestUserWastedPercent: disabled\n";
    let strict = "rules:\n  lowest-efficiency: 0.99\n";
    // dive's own file, in dive's format, is read when nothing else is there.
    std::fs::write(dir.path().join(".dive-ci"), lenient).unwrap();
    assert_eq!(ci(dir.path(), &[&whiteout_image()]).status.code(), Some(0));
    // .layerscope-ci.yaml wins over .dive-ci.
    std::fs::write(dir.path().join(".layerscope-ci.yaml"), strict).unwrap();
    assert_eq!(ci(dir.path(), &[&whiteout_image()]).status.code(), Some(1));
    // --config wins over both.
    std::fs::write(dir.path().join("mine.yaml"), lenient).unwrap();
    assert_eq!(
        ci(dir.path(), &[&whiteout_image(), "--config", "mine.yaml"])
            .status
            .code(),
        Some(0)
    );
    // and a flag wins over the file.
    let out = ci(
        dir.path(),
        &[
            &whiteout_image(),
            "--config",
            "mine.yaml",
            "--lowest-efficiency",
            "0.9",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn bad_config_and_bad_images_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".dive-ci"),
        "rules:\n  lowestEfficiency: banana\n",
    )
    .unwrap();
    let out = ci(dir.path(), &[&whiteout_image()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("lowestEfficiency"), "{stderr}");

    let empty = tempfile::tempdir().unwrap();
    let not_an_image = empty.path().join("x.tar");
    std::fs::write(&not_an_image, b"hello").unwrap();
    let out = ci(empty.path(), &[not_an_image.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().contains("x.tar"));
}

#[test]
fn json_report_parses_and_carries_its_schema_and_rules() {
    let dir = tempfile::tempdir().unwrap();
    let out = ci(dir.path(), &[&whiteout_image(), "--format", "json"]);
    // A report format never skips rule evaluation (dive's --json does).
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["schema"], "layerscope.ci/v3");
    assert_eq!(json["image"]["wastedBytes"], 4);
    let rules = json["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["status"] == "fail"), "{json}");
    let layers = json["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
}

#[test]
fn junit_report_is_xml_with_a_testcase_per_rule() {
    let dir = tempfile::tempdir().unwrap();
    let out = ci(dir.path(), &[&whiteout_image(), "--format", "junit"]);
    assert_eq!(out.status.code(), Some(1));
    let xml = stdout(&out);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 6);
    assert!(cases
        .iter()
        .any(|c| c.attribute("name") == Some("lowest-efficiency")
            && c.children().any(|n| n.has_tag_name("failure"))));
}

#[test]
fn github_and_markdown_reports() {
    let dir = tempfile::tempdir().unwrap();
    let github = stdout(&ci(dir.path(), &[&whiteout_image(), "--format", "github"]));
    assert!(
        github.lines().any(|l| l.starts_with("::error ")),
        "{github}"
    );
    let markdown = stdout(&ci(
        dir.path(),
        &[&whiteout_image(), "--format", "markdown"],
    ));
    assert!(
        markdown.contains("| ❌ | lowest-efficiency |"),
        "{markdown}"
    );
}

#[test]
fn output_file_gets_the_report_and_stdout_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.xml");
    let out = ci(
        dir.path(),
        &[
            &whiteout_image(),
            "--format",
            "junit",
            "--output",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    roxmltree::Document::parse(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(stdout(&out).contains("lowest-efficiency"));
    assert!(!stdout(&out).contains("<testsuite"));
}

#[test]
fn dive_score_and_exclude() {
    let dir = tempfile::tempdir().unwrap();
    let out = ci(
        dir.path(),
        &[
            &fixture("ggcr-overwritten-file.tar").to_string_lossy(),
            "--score",
            "dive",
            "--format",
            "json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["image"]["efficiency"], 0.5);
    assert_eq!(json["image"]["scoreKind"], "dive");
    assert_eq!(json["image"]["wastedBytes"], 4);
    // Excluding the only wasted path leaves nothing wasted: every rule passes.
    let out = ci(dir.path(), &[&whiteout_image(), "--exclude", "/foo.txt"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn ci_env_runs_ci_mode_without_a_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .current_dir(dir.path())
        .env("CI", "true")
        .arg(whiteout_image())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("lowest-efficiency"));
}

#[test]
fn dockerfile_final_stage_sets_the_base_layers() {
    let shared = std::env::var_os("LAYERSCOPE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    let image = shared.join("dive-docker-legacy.tar");
    if !image.is_file() {
        eprintln!("note: shared fixtures not found; set LAYERSCOPE_FIXTURES");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Only the image's last RUN belongs to this final stage: layers 0..13 are its base, so
    // the user bytes are layer 13's alone.
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM example/saved\nRUN chmod +x /root/saved.txt\nUSER root\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![image.to_str().unwrap()];
        args.extend_from_slice(extra);
        ci(dir.path(), &args)
    };
    let json = |extra: &[&str]| {
        let mut args = vec!["--format", "json"];
        args.extend_from_slice(extra);
        serde_json::from_str::<serde_json::Value>(&stdout(&run(&args))).unwrap()
    };
    let with_dockerfile = json(&["--dockerfile", "Dockerfile"]);
    let last_layer = &with_dockerfile["layers"][13];
    assert_eq!(
        with_dockerfile["image"]["userBytes"],
        last_layer["sizeBytes"]
    );
    assert_eq!(last_layer["dockerfile"]["line"], 2);
    assert_eq!(
        last_layer["dockerfile"]["instruction"],
        "RUN chmod +x /root/saved.txt"
    );
    assert_eq!(
        last_layer["instruction"],
        "line 2: RUN chmod +x /root/saved.txt"
    );
    assert!(with_dockerfile["layers"][0]["dockerfile"].is_null());
    assert_eq!(
        with_dockerfile["layers"][0]["instruction"],
        "FROM example/saved"
    );
    let summary = &with_dockerfile["dockerfile"];
    assert_eq!(summary["baseLayers"], 13);
    assert_eq!(summary["baseImage"], "example/saved");
    // USER left no history entry: it is reported, not hidden.
    assert_eq!(summary["unmatchedLines"], serde_json::json!([3]));
    assert_eq!(summary["unmatchedHistory"], serde_json::json!([]));

    // --base-layers wins over the Dockerfile, and the default is layer 0 alone.
    let explicit = json(&["--dockerfile", "Dockerfile", "--base-layers", "1"]);
    let default = json(&[]);
    assert_eq!(
        explicit["image"]["userBytes"],
        default["image"]["userBytes"]
    );
    assert_ne!(
        default["image"]["userBytes"],
        with_dockerfile["image"]["userBytes"]
    );
    assert!(default.get("dockerfile").is_none());

    // Every report format names the lines.
    let text = stdout(&run(&["--dockerfile", "Dockerfile"]));
    assert!(
        text.contains("Dockerfile Dockerfile: base FROM example/saved (13 layers); lines with no history entry: 3"),
        "{text}"
    );
    assert!(
        text.contains("line 2: RUN chmod +x /root/saved.txt"),
        "{text}"
    );
    let markdown = stdout(&run(&[
        "--dockerfile",
        "Dockerfile",
        "--format",
        "markdown",
    ]));
    assert!(markdown.contains("line 2: RUN chmod"), "{markdown}");
    let github = stdout(&run(&["--dockerfile", "Dockerfile", "--format", "github"]));
    assert!(
        github.contains("::warning file=Dockerfile,line=3,title=layerscope::"),
        "{github}"
    );
    assert!(github.contains("(Dockerfile lines 2)"), "{github}");
    let junit = stdout(&run(&["--dockerfile", "Dockerfile", "--format", "junit"]));
    let xml = roxmltree::Document::parse(&junit).unwrap();
    let property = xml
        .descendants()
        .find(|n| n.attribute("name") == Some("dockerfile"))
        .unwrap();
    assert!(property
        .attribute("value")
        .unwrap()
        .contains("base FROM example/saved"));
    assert!(junit.contains("line 2: RUN chmod"), "{junit}");
}

#[test]
fn a_bad_dockerfile_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM a\nRUN <<EOF\nnever closed\n",
    )
    .unwrap();
    let out = ci(
        dir.path(),
        &[&whiteout_image(), "--dockerfile", "Dockerfile"],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("layerscope: error: Dockerfile: line "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let missing = ci(
        dir.path(),
        &[&whiteout_image(), "--dockerfile", "nope/Dockerfile"],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8(missing.stderr)
        .unwrap()
        .contains("nope/Dockerfile"));
}
