//! SARIF 2.1.0 for code-scanning dashboards (GitHub code scanning, GitLab, Azure DevOps),
//! written with serde-sarif's typed model. `ci --format sarif` and `secrets --format sarif`
//! both come from [`write`], so a finding has the same rule id, location and fingerprint in
//! either report.
//!
//! - Rules: one per secret rule ([`crate::analysis::secrets::RULES`]), and for `ci` one per
//!   hint kind and one per size rule. Ids are the names reports use (`private-key`,
//!   `deleted-later`, `lowest-efficiency`).
//! - Results are located by their path in the image (an artifact relative to the
//!   `IMAGE_ROOT` base) and by their layer (a logical location named `layer N` whose fully
//!   qualified name is the layer's diff_id). With `--dockerfile`, the first location is
//!   the Dockerfile's line instead (and the path in the image a related location), so
//!   GitHub shows the result on the instruction that made the layer.
//! - Secrets are `error`s with a `security-severity`; failed size rules `error`s; hints
//!   `note`s.

use super::hint_bytes_phrase;
use crate::analysis::secrets::RULES;
use crate::analysis::{Hint, HintKind};
use crate::ci::rules::{RuleId, RuleOutcome, RuleStatus};
use crate::ci::{CiInput, LayerSummary, SecretFinding};
use crate::escape::{escape_bytes, escape_str};
use percent_encoding::{percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_sarif::sarif::{
    ArtifactLocation, Location, LogicalLocation, Message, MultiformatMessageString,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultLevel, Run, Sarif, Tool, ToolComponent,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The base URI id of paths inside the image.
pub const IMAGE_ROOT: &str = "IMAGE_ROOT";

/// The key of the fingerprint every result carries, stable across runs and tool versions.
pub const FINGERPRINT: &str = "layerscope/v1";

/// What one SARIF run reports. `ci` fills every part; `secrets` only the findings.
pub struct SarifReport<'a> {
    /// The image as shown to the user (file name or reference).
    pub image: &'a str,
    /// IMAGE as given (a path or a reference): the artifact of whole-image results.
    pub source: &'a str,
    /// Every layer, for digests and Dockerfile lines.
    pub layers: &'a [LayerSummary],
    pub secrets: &'a [SecretFinding],
    /// `None`: hint kinds are not declared as rules (the `secrets` command).
    pub hints: Option<&'a [Hint]>,
    /// `None`: the size rules are not declared (the `secrets` command).
    pub outcomes: Option<&'a [RuleOutcome]>,
    /// The Dockerfile as given with `--dockerfile`.
    pub dockerfile: Option<&'a str>,
    /// The final stage's `FROM` line, where whole-image results (a failed size rule) go.
    pub from_line: Option<usize>,
}

/// The `ci` report.
pub fn render(input: &CiInput, outcomes: &[RuleOutcome]) -> String {
    write(&SarifReport {
        image: &input.image,
        source: &input.source,
        layers: &input.layers,
        secrets: input.secrets.as_deref().unwrap_or_default(),
        hints: Some(&input.hints),
        outcomes: Some(outcomes),
        dockerfile: input.dockerfile.as_ref().map(|d| d.path.as_str()),
        from_line: input.dockerfile.as_ref().and_then(|d| d.from_line),
    })
}

/// The SARIF log of `report`, pretty-printed, ending with a newline.
pub fn write(report: &SarifReport<'_>) -> String {
    let mut rules: Vec<ReportingDescriptor> = RULES.iter().map(secret_rule).collect();
    let hint_base = rules.len();
    if report.hints.is_some() {
        rules.extend(HintKind::ALL.iter().map(|&kind| hint_rule(kind)));
    }
    let size_base = rules.len();
    let size_rules: Vec<RuleId> = RuleId::ALL
        .into_iter()
        .filter(|r| *r != RuleId::Secrets)
        .collect();
    if report.outcomes.is_some() {
        rules.extend(size_rules.iter().map(|&rule| size_rule(rule)));
    }

    let mut results: Vec<SarifResult> = report
        .secrets
        .iter()
        .map(|finding| secret_result(report, finding))
        .collect();
    for outcome in report.outcomes.unwrap_or_default() {
        let Some(position) = size_rules.iter().position(|r| *r == outcome.rule) else {
            continue; // `secrets`: its findings are the results above
        };
        if outcome.status == RuleStatus::Fail {
            results.push(size_result(report, outcome, size_base + position));
        }
    }
    for hint in report.hints.unwrap_or_default() {
        let position = HintKind::ALL.iter().position(|k| *k == hint.kind);
        results.push(hint_result(report, hint, hint_base + position.unwrap_or(0)));
    }

    let mut driver = ToolComponent::builder().name("layerscope").build();
    driver.version = Some(env!("CARGO_PKG_VERSION").into());
    driver.semantic_version = Some(env!("CARGO_PKG_VERSION").into());
    driver.rules = Some(rules);
    let base = ArtifactLocation {
        description: Some(text(format!(
            "the root of the filesystem of image {}",
            escape_str(report.image)
        ))),
        ..Default::default()
    };
    let mut run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .build();
    run.original_uri_base_ids = Some(BTreeMap::from([(IMAGE_ROOT.to_string(), base)]));
    run.results = Some(results);
    let sarif = Sarif::builder()
        .schema(serde_sarif::sarif::SCHEMA_URL)
        .version(serde_json::json!("2.1.0"))
        .runs(vec![run])
        .build();
    // Plain structs of strings and numbers: serialising cannot fail.
    let mut out = serde_json::to_string_pretty(&sarif).unwrap_or_default();
    out.push('\n');
    out
}

fn text(text: String) -> Message {
    Message {
        text: Some(text),
        ..Default::default()
    }
}

fn plain(text: &str) -> MultiformatMessageString {
    MultiformatMessageString::builder().text(text).build()
}

/// A rule's descriptor: its id, name, description, help and default level.
fn descriptor(
    id: &str,
    name: &str,
    short: &str,
    help: &str,
    default_level: &str,
    properties: PropertyBag,
) -> ReportingDescriptor {
    let mut rule = ReportingDescriptor::builder().id(id).build();
    rule.name = Some(name.into());
    rule.short_description = Some(plain(short));
    rule.help = Some(plain(help));
    rule.default_configuration = Some(level(default_level));
    rule.properties = Some(properties);
    rule
}

fn properties(
    tags: &[&str],
    values: impl IntoIterator<Item = (&'static str, serde_json::Value)>,
) -> PropertyBag {
    PropertyBag {
        tags: (!tags.is_empty()).then(|| tags.iter().map(|t| t.to_string()).collect()),
        additional_properties: values
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    }
}

fn level(level: &str) -> ReportingConfiguration {
    ReportingConfiguration {
        level: Some(serde_json::json!(level)),
        ..Default::default()
    }
}

fn secret_rule(rule: &crate::analysis::secrets::Rule) -> ReportingDescriptor {
    let mut descriptor = descriptor(
        rule.id,
        rule.id,
        rule.title,
        rule.fix,
        "error",
        properties(
            &["security", "secret"],
            [
                (
                    "security-severity",
                    serde_json::json!(rule.severity.score()),
                ),
                ("severity", serde_json::json!(rule.severity.name())),
            ],
        ),
    );
    descriptor.full_description = Some(plain(&format!(
        "{}, in any layer of the image (files a later layer deleted included) or in its config",
        rule.title
    )));
    descriptor
}

/// What each hint kind is about, for the rule's description (docs/hints.md has the rest).
fn hint_title(kind: HintKind) -> &'static str {
    match kind {
        HintKind::ChmodCopy => {
            "a later layer copies files again only to change their mode or owner"
        }
        HintKind::DeletedLater => {
            "files added by one layer are deleted by a later one but still shipped"
        }
        HintKind::OverwrittenLater => {
            "files added by one layer are overwritten by a later one but still shipped"
        }
        HintKind::PackageCache => "a package manager's cache or index is left in the image",
        HintKind::VcsDirectory => "a VCS or editor directory is copied into the image",
        HintKind::BuildToolchain => {
            "compilers, headers or a language toolchain are in the final image"
        }
        HintKind::DuplicateContent => {
            "the same content is shipped at several paths or by several layers"
        }
        HintKind::CacheBustingOrder => {
            "the whole build context is copied before a dependency install"
        }
        HintKind::PackageDocs => "OS packages installed documentation, man pages and locales",
        HintKind::NoDependents => "large OS packages that no other package in the image depends on",
    }
}

fn hint_rule(kind: HintKind) -> ReportingDescriptor {
    descriptor(
        kind.name(),
        kind.name(),
        hint_title(kind),
        "each result says what to change in the Dockerfile and the bytes it saves",
        "note",
        properties(&["efficiency", "hint"], []),
    )
}

fn size_rule(rule: RuleId) -> ReportingDescriptor {
    descriptor(
        rule.name(),
        rule.dive_key(),
        rule.description(),
        "thresholds come from .layerscope-ci.yaml, dive's .dive-ci or the ci flags",
        "error",
        properties(&["efficiency", "ci"], []),
    )
}

/// A result of rule `index`, with its message, level, primary location and fingerprint.
fn result(
    rule_id: &str,
    index: usize,
    level: ResultLevel,
    message: String,
    primary: Location,
    fingerprint: BTreeMap<String, String>,
) -> SarifResult {
    let mut result = SarifResult::builder().message(text(message)).build();
    result.rule_id = Some(rule_id.into());
    result.rule_index = Some(index as i64);
    result.level = Some(level);
    result.locations = Some(vec![primary]);
    result.partial_fingerprints = Some(fingerprint);
    result
}

/// Bytes of a URI path: everything but unreserved characters and `/` is percent-encoded,
/// so any name from an image (spaces, `#`, `%`, invalid UTF-8) makes a valid URI reference.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

fn uri(bytes: &[u8]) -> String {
    percent_encode(bytes, PATH).to_string()
}

/// A path inside the image, relative to `IMAGE_ROOT`.
fn image_path(path: &[u8]) -> PhysicalLocation {
    PhysicalLocation {
        artifact_location: Some(ArtifactLocation {
            uri: Some(uri(path.strip_prefix(b"/").unwrap_or(path))),
            uri_base_id: Some(IMAGE_ROOT.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The image itself, as it was named (a file relative to the working directory, or a
/// reference), for results about the whole image or its config.
fn image_itself(report: &SarifReport<'_>) -> PhysicalLocation {
    PhysicalLocation {
        artifact_location: Some(ArtifactLocation {
            uri: Some(uri(report.source.as_bytes())),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Lines `line..=end_line` of the Dockerfile.
fn dockerfile_lines(path: &str, line: usize, end_line: usize) -> PhysicalLocation {
    PhysicalLocation {
        artifact_location: Some(ArtifactLocation {
            uri: Some(uri(path.as_bytes())),
            ..Default::default()
        }),
        region: Some(Region {
            start_line: Some(line as i64),
            end_line: (end_line > line).then_some(end_line as i64),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn layer_location(report: &SarifReport<'_>, layer: usize) -> LogicalLocation {
    let summary = report.layers.get(layer);
    LogicalLocation {
        name: Some(format!("layer {layer}")),
        fully_qualified_name: summary.map(|l| l.digest.clone()).filter(|d| !d.is_empty()),
        kind: Some("module".into()),
        decorated_name: summary
            .and_then(|l| l.instruction.as_deref())
            .map(|i| escape_str(i).into_owned()),
        ..Default::default()
    }
}

fn location(physical: PhysicalLocation, logical: Vec<LogicalLocation>) -> Location {
    Location {
        physical_location: Some(physical),
        logical_locations: (!logical.is_empty()).then_some(logical),
        ..Default::default()
    }
}

/// A related location: an id (unique within the result) and what it is.
fn related(id: i64, physical: PhysicalLocation, what: String) -> Location {
    Location {
        id: Some(id),
        physical_location: Some(physical),
        message: Some(text(what)),
        ..Default::default()
    }
}

fn fingerprint(parts: &[&[u8]]) -> BTreeMap<String, String> {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    BTreeMap::from([(FINGERPRINT.to_string(), hex::encode(hasher.finalize()))])
}

fn secret_result(report: &SarifReport<'_>, finding: &SecretFinding) -> SarifResult {
    let index = RULES.iter().position(|r| r.id == finding.rule).unwrap_or(0);
    let mut message = format!("{}: {}", finding.title, finding.description);
    if !finding.preview.is_empty() {
        message.push_str(&format!(" [{}]", escape_str(&finding.preview)));
    }
    let logical: Vec<LogicalLocation> = finding
        .layer
        .map(|l| layer_location(report, l))
        .into_iter()
        .collect();
    let in_image = match &finding.path {
        Some(path) => image_path(path),
        None => image_itself(report),
    };
    let (primary, related_locations) = match (report.dockerfile, &finding.dockerfile) {
        (Some(dockerfile), Some(line)) => {
            let what = match (&finding.path, finding.layer) {
                (Some(path), Some(layer)) => {
                    format!("{} in layer {layer} of the image", escape_bytes(path))
                }
                _ => format!(
                    "the config of the image ({})",
                    escape_str(finding.field.as_deref().unwrap_or_default())
                ),
            };
            (
                location(
                    dockerfile_lines(dockerfile, line.line, line.end_line),
                    logical,
                ),
                Some(vec![related(1, in_image, what)]),
            )
        }
        _ => (location(in_image, logical), None),
    };
    let place = finding
        .path
        .clone()
        .unwrap_or_else(|| finding.field.clone().unwrap_or_default().into_bytes());
    let mut values = vec![
        ("evidence", serde_json::json!(finding.evidence)),
        ("fate", serde_json::json!(finding.fate)),
        ("severity", serde_json::json!(finding.severity.name())),
    ];
    if let Some(layer) = finding.layer {
        values.push(("layer", serde_json::json!(layer)));
    }
    if let Some(digest) = &finding.layer_digest {
        values.push(("layerDigest", serde_json::json!(digest)));
    }
    if let Some(path) = &finding.path {
        values.push(("path", serde_json::json!(escape_bytes(path))));
    }
    if let Some(field) = &finding.field {
        values.push(("field", serde_json::json!(escape_str(field))));
    }
    if !finding.preview.is_empty() {
        values.push(("preview", serde_json::json!(escape_str(&finding.preview))));
    }
    // The secret never goes in: the rule, the place and the layer identify a finding.
    let fingerprint = fingerprint(&[
        finding.rule.as_bytes(),
        &place,
        finding
            .layer_digest
            .as_deref()
            .unwrap_or_default()
            .as_bytes(),
    ]);
    let mut result = result(
        finding.rule,
        index,
        ResultLevel::Error,
        message,
        primary,
        fingerprint,
    );
    result.related_locations = related_locations;
    result.properties = Some(properties(&[], values));
    result
}

/// A failed size rule: about the whole image, so located at the final stage's `FROM` line,
/// or at the image.
fn size_result(report: &SarifReport<'_>, outcome: &RuleOutcome, index: usize) -> SarifResult {
    let physical = match (report.dockerfile, report.from_line) {
        (Some(dockerfile), Some(line)) => dockerfile_lines(dockerfile, line, line),
        _ => image_itself(report),
    };
    result(
        outcome.rule.name(),
        index,
        ResultLevel::Error,
        format!(
            "{}: {}",
            escape_str(report.image),
            escape_str(&outcome.message)
        ),
        location(physical, Vec::new()),
        fingerprint(&[outcome.rule.name().as_bytes(), report.source.as_bytes()]),
    )
}

/// A hint: at its first Dockerfile line (the others related), else at its first path in the
/// image, else at the image; its layers are logical locations.
fn hint_result(report: &SarifReport<'_>, hint: &Hint, index: usize) -> SarifResult {
    let end_of = |line: usize| {
        report
            .layers
            .iter()
            .filter_map(|l| l.dockerfile.as_ref())
            .find(|d| d.line == line)
            .map_or(line, |d| d.end_line)
    };
    let logical: Vec<LogicalLocation> = hint
        .layers
        .iter()
        .map(|&l| layer_location(report, l))
        .collect();
    let mut related_locations = Vec::new();
    let primary = match (report.dockerfile, hint.dockerfile_lines.split_first()) {
        (Some(dockerfile), Some((&first, rest))) => {
            for (id, &line) in rest.iter().enumerate() {
                related_locations.push(related(
                    id as i64 + 1,
                    dockerfile_lines(dockerfile, line, end_of(line)),
                    format!("line {line}, also involved"),
                ));
            }
            dockerfile_lines(dockerfile, first, end_of(first))
        }
        _ => match hint.paths.first() {
            Some(path) => image_path(path),
            None => image_itself(report),
        },
    };
    if report.dockerfile.is_some() {
        for path in hint.paths.iter().take(5) {
            let id = related_locations.len() as i64 + 1;
            related_locations.push(related(
                id,
                image_path(path),
                format!("{} in the image", escape_bytes(path)),
            ));
        }
    }
    let mut message = format!(
        "{} ({}). Fix: {}",
        escape_str(&hint.summary),
        hint_bytes_phrase(hint),
        escape_str(&hint.fix)
    );
    if !hint.paths.is_empty() {
        message.push_str(&format!(" Paths: {}.", super::hint_paths(hint, 5)));
    }
    let digests: Vec<&[u8]> = hint
        .layers
        .iter()
        .filter_map(|&l| report.layers.get(l))
        .map(|l| l.digest.as_bytes())
        .collect();
    let mut parts: Vec<&[u8]> = vec![hint.kind.name().as_bytes()];
    parts.extend(hint.paths.first().map(Vec::as_slice));
    parts.extend(digests);
    let mut result = result(
        hint.kind.name(),
        index,
        ResultLevel::Note,
        message,
        location(primary, logical),
        fingerprint(&parts),
    );
    result.related_locations = (!related_locations.is_empty()).then_some(related_locations);
    result.properties = Some(properties(
        &[],
        [
            ("bytes", serde_json::json!(hint.bytes)),
            (
                "bytesKind",
                serde_json::json!(if hint.kind.saves_image_bytes() {
                    "image"
                } else {
                    "rebuild"
                }),
            ),
            ("layers", serde_json::json!(hint.layers)),
            ("pathCount", serde_json::json!(hint.path_count)),
        ],
    ));
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::rules::{evaluate, RuleSet};
    use crate::ci::testutil::{sample_input, sample_secret};
    use serde_json::Value;

    fn parsed(input: &CiInput) -> Value {
        serde_json::from_str(&render(input, &evaluate(&RuleSet::default(), input))).unwrap()
    }

    #[test]
    fn rule_ids_are_unique_and_results_point_at_their_rule() {
        let mut input = sample_input();
        input.efficiency = 0.5;
        input.secrets = Some(vec![sample_secret()]);
        let doc = parsed(&input);
        let rules = doc["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        let mut ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids.len(),
            RULES.len() + HintKind::ALL.len() + RuleId::ALL.len() - 1
        );
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), rules.len(), "duplicate rule ids");
        let results = doc["runs"][0]["results"].as_array().unwrap();
        let rule_ids: Vec<&str> = results
            .iter()
            .map(|r| r["ruleId"].as_str().unwrap())
            .collect();
        assert_eq!(
            rule_ids,
            ["private-key", "lowest-efficiency", "deleted-later"]
        );
        for result in results {
            let index = result["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[index]["id"], result["ruleId"]);
        }
        assert_eq!(results[0]["level"], "error");
        assert_eq!(results[2]["level"], "note");
    }

    #[test]
    fn without_a_dockerfile_results_are_located_in_the_image() {
        let mut input = sample_input();
        input.secrets = Some(vec![sample_secret()]);
        let doc = parsed(&input);
        let key = &doc["runs"][0]["results"][0];
        let location = &key["locations"][0];
        assert_eq!(
            location["physicalLocation"]["artifactLocation"],
            serde_json::json!({"uri": "root/.ssh/id_rsa", "uriBaseId": "IMAGE_ROOT"})
        );
        assert_eq!(
            location["logicalLocations"][0],
            serde_json::json!({
                "name": "layer 1",
                "fullyQualifiedName": "sha256:bbb",
                "kind": "module",
                "decoratedName": "RUN apt-get install -y foo",
            })
        );
        assert_eq!(key["properties"]["layerDigest"], "sha256:bbb");
        assert_eq!(key["properties"]["fate"]["state"], "deleted");
        assert_eq!(
            key["partialFingerprints"][FINGERPRINT]
                .as_str()
                .unwrap()
                .len(),
            64
        );
        let hint = &doc["runs"][0]["results"][1];
        assert_eq!(
            hint["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "opt/big.bin"
        );
        assert_eq!(
            hint["locations"][0]["logicalLocations"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn with_a_dockerfile_the_line_comes_first() {
        let mut input = sample_input();
        let mut secret = sample_secret();
        secret.dockerfile = Some(crate::ci::DockerfileLine {
            line: 7,
            end_line: 8,
            stage: None,
            instruction: "COPY id_rsa /root/.ssh/id_rsa".into(),
        });
        input.secrets = Some(vec![secret]);
        input.efficiency = 0.5;
        input.dockerfile = Some(crate::ci::DockerfileSummary {
            path: "app/Docker file".into(),
            from_line: Some(3),
            ..Default::default()
        });
        let doc = parsed(&input);
        let results = doc["runs"][0]["results"].as_array().unwrap();
        let physical = &results[0]["locations"][0]["physicalLocation"];
        assert_eq!(physical["artifactLocation"]["uri"], "app/Docker%20file");
        assert_eq!(
            physical["region"],
            serde_json::json!({"startLine": 7, "endLine": 8})
        );
        assert_eq!(
            results[0]["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "root/.ssh/id_rsa"
        );
        // The failed efficiency rule sits on the FROM line.
        assert_eq!(
            results[1]["locations"][0]["physicalLocation"]["region"]["startLine"],
            3
        );
        // The hint: its first line, the second one related.
        let hint = &results[2];
        assert_eq!(
            hint["locations"][0]["physicalLocation"]["region"]["startLine"],
            4
        );
        assert_eq!(
            hint["relatedLocations"][0]["physicalLocation"]["region"]["startLine"],
            5
        );
    }

    #[test]
    fn hostile_names_make_valid_uris() {
        assert_eq!(uri(b"a b/c#d%e?\xff"), "a%20b/c%23d%25e%3F%FF");
    }
}
