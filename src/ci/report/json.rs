//! Machine-readable report, schema `layerscope.ci/v3` (documented in
//! `docs/ci-json-schema.md`, with what changed since v1 and v2).

use serde::Serialize;

use super::sorted_paths;
use crate::ci::rules::{Metric, RuleOutcome, RuleStatus, Tally};
use crate::ci::{exit_code, CiInput, PathVersion, ScoreKind};

pub const SCHEMA: &str = "layerscope.ci/v3";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    schema: &'static str,
    image: Image<'a>,
    layers: Vec<Layer<'a>>,
    inefficient_paths: Vec<Path<'a>>,
    rules: Vec<Rule<'a>>,
    result: Summary,
    hints: Vec<Hint<'a>>,
    /// `null` when the `secrets` rule is disabled (the layers were not scanned).
    secrets: Option<Vec<Secret<'a>>>,
    warnings: &'a [String],
    /// Only with `--dockerfile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    dockerfile: Option<Dockerfile<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dockerfile<'a> {
    path: &'a str,
    base_image: &'a str,
    base_layers: usize,
    from_line: Option<usize>,
    unmatched_lines: &'a [usize],
    unmatched_history: &'a [usize],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Line<'a> {
    line: usize,
    end_line: usize,
    stage: Option<&'a str>,
    instruction: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Hint<'a> {
    kind: &'static str,
    bytes: u64,
    /// What `bytes` measures: `"image"` (bytes the fix removes from the image) or
    /// `"rebuild"` (bytes rebuilt and pushed again on every source change).
    bytes_kind: &'static str,
    layers: &'a [usize],
    paths: Vec<String>,
    path_count: usize,
    dockerfile_lines: &'a [usize],
    summary: &'a str,
    fix: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Secret<'a> {
    rule: &'static str,
    title: &'static str,
    severity: crate::analysis::secrets::Severity,
    evidence: crate::analysis::secrets::Evidence,
    /// Redacted.
    preview: &'a str,
    /// `"file"` or `"config"`.
    place: &'static str,
    path: Option<String>,
    field: Option<&'a str>,
    layer: Option<usize>,
    layer_digest: Option<&'a str>,
    instruction: Option<&'a str>,
    /// Only with `--dockerfile`: the line that made the layer (or set the ENV/LABEL).
    #[serde(skip_serializing_if = "Option::is_none")]
    dockerfile: Option<Option<Line<'a>>>,
    fate: crate::analysis::secrets::Fate,
    description: &'a str,
    fix: &'static str,
}

fn secret<'a>(s: &'a crate::ci::SecretFinding, with_dockerfile: bool) -> Secret<'a> {
    Secret {
        rule: s.rule,
        title: s.title,
        severity: s.severity,
        evidence: s.evidence,
        preview: &s.preview,
        place: if s.path.is_some() { "file" } else { "config" },
        // The exact path, lossily decoded like every other path of the report.
        path: s
            .path
            .as_ref()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        field: s.field.as_deref(),
        layer: s.layer,
        layer_digest: s.layer_digest.as_deref(),
        instruction: s.instruction.as_deref(),
        dockerfile: with_dockerfile.then(|| s.dockerfile.as_ref().map(line)),
        fate: s.fate,
        description: &s.description,
        fix: s.fix,
    }
}

fn line(d: &crate::ci::DockerfileLine) -> Line<'_> {
    Line {
        line: d.line,
        end_line: d.end_line,
        stage: d.stage.as_deref(),
        instruction: &d.instruction,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Image<'a> {
    name: &'a str,
    source_format: &'a str,
    platform: Option<&'a str>,
    score_kind: ScoreKind,
    /// `null` when undefined (NaN).
    efficiency: Option<f64>,
    total_bytes: u64,
    user_bytes: u64,
    wasted_bytes: u64,
    /// `null` when not finite: NaN (0/0) or +Inf (wasted > 0, userBytes == 0).
    user_wasted_ratio: Option<f64>,
    layer_count: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Layer<'a> {
    index: usize,
    digest: &'a str,
    size_bytes: u64,
    instruction: Option<&'a str>,
    /// Only with `--dockerfile`: the line that made the layer, `null` for a base layer
    /// or one no line explains.
    #[serde(skip_serializing_if = "Option::is_none")]
    dockerfile: Option<Option<Line<'a>>>,
    added: u64,
    modified: u64,
    removed: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Path<'a> {
    path: &'a str,
    count: usize,
    wasted_bytes: u64,
    versions: Vec<Version<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Version<'a> {
    layer: usize,
    instruction: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dockerfile_line: Option<usize>,
    action: &'a str,
    size_bytes: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    id: &'static str,
    config_key: &'static str,
    status: RuleStatus,
    unit: &'static str,
    threshold: Option<serde_json::Number>,
    actual: Option<serde_json::Number>,
    message: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    status: RuleStatus,
    exit_code: i32,
    total: usize,
    passed: usize,
    failed: usize,
    skipped: usize,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn version(v: &PathVersion) -> Version<'_> {
    Version {
        layer: v.layer,
        instruction: v.instruction.as_deref(),
        dockerfile_line: v.dockerfile_line,
        action: v.action.as_str(),
        size_bytes: v.size_bytes,
    }
}

pub fn render(input: &CiInput, outcomes: &[RuleOutcome]) -> String {
    let tally = Tally::of(outcomes);
    let report = Report {
        schema: SCHEMA,
        image: Image {
            name: &input.image,
            source_format: &input.source_format,
            platform: input.platform.as_deref(),
            score_kind: input.score_kind,
            efficiency: finite(input.efficiency),
            total_bytes: input.total_bytes,
            user_bytes: input.user_bytes,
            wasted_bytes: input.wasted_bytes,
            user_wasted_ratio: finite(input.user_wasted_ratio),
            layer_count: input.layer_count,
        },
        layers: input
            .layers
            .iter()
            .map(|l| Layer {
                index: l.index,
                digest: &l.digest,
                size_bytes: l.size_bytes,
                instruction: l.instruction.as_deref(),
                dockerfile: input
                    .dockerfile
                    .as_ref()
                    .map(|_| l.dockerfile.as_ref().map(line)),
                added: l.added,
                modified: l.modified,
                removed: l.removed,
            })
            .collect(),
        inefficient_paths: sorted_paths(input)
            .into_iter()
            .map(|p| Path {
                path: &p.path,
                count: p.count,
                wasted_bytes: p.wasted_bytes,
                versions: p.versions.iter().map(version).collect(),
            })
            .collect(),
        rules: outcomes
            .iter()
            .map(|o| Rule {
                id: o.rule.name(),
                config_key: o.rule.dive_key(),
                status: o.status,
                unit: o.rule.kind().unit(),
                threshold: o.threshold.and_then(Metric::as_json_number),
                actual: o.actual.and_then(Metric::as_json_number),
                message: &o.message,
            })
            .collect(),
        result: Summary {
            status: if tally.pass() {
                RuleStatus::Pass
            } else {
                RuleStatus::Fail
            },
            exit_code: exit_code(outcomes),
            total: tally.total(),
            passed: tally.passed,
            failed: tally.failed,
            skipped: tally.skipped,
        },
        hints: input
            .hints
            .iter()
            .map(|h| Hint {
                kind: h.kind.name(),
                bytes: h.bytes,
                bytes_kind: if h.kind.saves_image_bytes() {
                    "image"
                } else {
                    "rebuild"
                },
                layers: &h.layers,
                // The exact path, lossily decoded like every other path of the report.
                paths: h
                    .paths
                    .iter()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect(),
                path_count: h.path_count,
                dockerfile_lines: &h.dockerfile_lines,
                summary: &h.summary,
                fix: &h.fix,
            })
            .collect(),
        secrets: input.secrets.as_ref().map(|found| {
            found
                .iter()
                .map(|s| secret(s, input.dockerfile.is_some()))
                .collect()
        }),
        warnings: &input.warnings,
        dockerfile: input.dockerfile.as_ref().map(|d| Dockerfile {
            path: &d.path,
            base_image: &d.base_image,
            base_layers: d.base_layers,
            from_line: d.from_line,
            unmatched_lines: &d.unmatched_lines,
            unmatched_history: &d.unmatched_history,
        }),
    };
    // Serialising plain structs of strings and numbers cannot fail.
    let json = serde_json::to_string_pretty(&report).unwrap_or_default();
    let mut out = escape_invisible(&json);
    out.push('\n');
    out
}

/// serde_json escapes C0 controls but emits DEL, C1 controls, bidi overrides and
/// U+2028/2029 raw. They can only occur inside string literals (the JSON syntax
/// is ASCII), so `\uXXXX` keeps the same value while keeping `cat report.json` safe.
fn escape_invisible(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if matches!(c, '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
        {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::rules::{evaluate, RuleSet};
    use crate::ci::testutil::sample_input;
    use serde_json::{json, Value};

    fn parsed(input: &CiInput) -> Value {
        let out = render(input, &evaluate(&RuleSet::default(), input));
        serde_json::from_str(&out).expect("valid JSON")
    }

    #[test]
    fn has_schema_and_documented_shape() {
        let v = parsed(&sample_input());
        assert_eq!(v["schema"], "layerscope.ci/v3");
        assert_eq!(
            v["hints"],
            json!([{
                "kind": "deleted-later",
                "bytes": 1_000_000,
                "bytesKind": "image",
                "layers": [1, 2],
                "paths": ["/opt/big.bin"],
                "pathCount": 1,
                "dockerfileLines": [4, 5],
                "summary": "layer 1 adds files that layer 2 deletes",
                "fix": "delete them in the same RUN that creates them",
            }])
        );
        assert_eq!(v["image"]["name"], "example:latest");
        assert_eq!(v["image"]["efficiency"], 0.95);
        assert_eq!(v["image"]["scoreKind"], "layerscope");
        assert_eq!(v["image"]["wastedBytes"], 1_000_000);
        assert_eq!(v["layers"][1]["added"], 10);
        assert_eq!(v["layers"][1]["modified"], 2);
        assert_eq!(v["layers"][2]["removed"], 1);
        assert_eq!(v["inefficientPaths"][0]["path"], "/opt/big.bin");
        assert_eq!(v["inefficientPaths"][0]["versions"][1]["action"], "deleted");
        assert_eq!(
            v["rules"][0],
            json!({
                "id": "lowest-efficiency",
                "configKey": "lowestEfficiency",
                "status": "pass",
                "unit": "ratio",
                "threshold": 0.9,
                "actual": 0.95,
                "message": "image efficiency 0.95 >= threshold 0.9",
            })
        );
        assert_eq!(v["rules"][1]["status"], "skip");
        assert_eq!(v["rules"][1]["threshold"], Value::Null);
        assert_eq!(
            v["result"],
            json!({"status": "pass", "exitCode": 0, "total": 6, "passed": 3, "failed": 0, "skipped": 3})
        );
        assert_eq!(v["rules"][5]["id"], "secrets");
        assert_eq!(v["rules"][5]["actual"], 0);
        assert_eq!(v["secrets"], json!([]));
    }

    #[test]
    fn secrets_are_listed_and_null_when_not_scanned() {
        let mut input = crate::ci::testutil::sample_input();
        input.secrets = Some(vec![crate::ci::testutil::sample_secret()]);
        let v = parsed(&input);
        assert_eq!(
            v["secrets"][0],
            json!({
                "rule": "private-key",
                "title": "private key",
                "severity": "critical",
                "evidence": "path",
                "preview": "",
                "place": "file",
                "path": "/root/.ssh/id_rsa",
                "field": null,
                "layer": 1,
                "layerDigest": "sha256:bbb",
                "instruction": "COPY id_rsa /root/.ssh/id_rsa",
                "fate": {"state": "deleted", "layer": 2},
                "description": "added by layer 1; deleted by layer 2, but still shipped in layer 1",
                "fix": crate::analysis::secrets::rule("private-key").unwrap().fix,
            })
        );
        assert_eq!(v["rules"][5]["status"], "fail");
        assert_eq!(v["rules"][5]["actual"], 1);
        input.secrets = None;
        let v = parsed(&input);
        assert_eq!(v["secrets"], Value::Null);
        assert_eq!(v["rules"][5]["actual"], Value::Null);
        assert_eq!(v["rules"][5]["unit"], "count");
    }

    #[test]
    fn non_finite_ratios_become_null_and_failures_show() {
        let mut input = sample_input();
        input.efficiency = f64::NAN;
        input.user_bytes = 0;
        input.user_wasted_ratio = f64::INFINITY;
        let v = parsed(&input);
        assert_eq!(v["image"]["efficiency"], Value::Null);
        assert_eq!(v["image"]["userWastedRatio"], Value::Null);
        assert_eq!(v["rules"][0]["status"], "skip");
        assert_eq!(v["rules"][2]["status"], "fail");
        assert_eq!(v["result"]["exitCode"], 1);
    }

    #[test]
    fn invisible_characters_are_escaped_but_preserved() {
        let mut input = sample_input();
        input.inefficient[0].path = "/a\u{9b}b\u{202e}c\x1bd\x7f".into();
        let out = render(&input, &[]);
        assert!(!out.contains('\u{9b}') && !out.contains('\u{202e}') && !out.contains('\x1b'));
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["inefficientPaths"][0]["path"],
            "/a\u{9b}b\u{202e}c\x1bd\x7f"
        );
    }
}
