//! CI mode: rules, their config (with `.dive-ci` compatibility) and reporters.
//!
//! Flow for `layerscope ci IMAGE`:
//! 1. [`CiConfig::load`] finds and parses the config (`--config`, else
//!    `.layerscope-ci.yaml` / `.layerscope-ci.yml`, else dive's `.dive-ci`, else defaults);
//! 2. [`CiConfig::apply_overrides`] applies CLI flags (same value syntax as the file);
//! 3. the analysis (elsewhere) honours [`CiConfig::path_filter`] and fills a [`CiInput`];
//! 4. [`evaluate`] runs every rule, [`render`] formats a report, [`exit_code`] gives 0/1.
//!
//! Rule evaluation never depends on the report format: every format is rendered from
//! the same `&[RuleOutcome]`.

pub mod config;
pub mod report;
pub mod rules;

pub use config::{CiConfig, CiConfigError, ConfigSource, PathFilter};
pub use report::{render, ReportFormat, TextStyle};
pub use rules::{
    evaluate, exit_code, Metric, RuleId, RuleOutcome, RuleOverrides, RuleSet, RuleStatus, Tally,
};

pub use crate::analysis::PathEvent;
use serde::{Serialize, Serializer};

/// Which efficiency formula produced [`CiInput::efficiency`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoreKind {
    /// layerscope's own score (default).
    #[default]
    Layerscope,
    /// dive-compatible score, for comparing numbers with existing dive gates.
    Dive,
}

impl ScoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScoreKind::Layerscope => "layerscope",
            ScoreKind::Dive => "dive",
        }
    }
}

/// Everything rules and reporters need, as plain data produced by the analysis.
///
/// Strings here come from an untrusted image (paths, history, tags); reporters escape
/// them. Paths are absolute (`/usr/bin/x`); non-UTF-8 names should be decoded lossily
/// by the producer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CiInput {
    /// File name or tag shown to the user.
    pub image: String,
    /// IMAGE as given on the command line (a path or a reference).
    pub source: String,
    /// e.g. `docker-archive`, `oci-layout`.
    pub source_format: String,
    /// e.g. `linux/amd64`.
    pub platform: Option<String>,
    pub score_kind: ScoreKind,
    /// 0..=1; NaN when undefined (nothing to score).
    pub efficiency: f64,
    pub wasted_bytes: u64,
    pub total_bytes: u64,
    /// Bytes of all layers above the base layer, as in dive.
    pub user_bytes: u64,
    /// `wasted_bytes / user_bytes` as dive computes it: NaN for 0/0, +Inf for x/0.
    /// Use [`dive_ratio`] to compute it.
    pub user_wasted_ratio: f64,
    pub layer_count: usize,
    pub layers: Vec<LayerSummary>,
    /// Paths present in more than one layer; reporters sort by wasted bytes.
    pub inefficient: Vec<WastedPath>,
    /// Advice with measured savings, most bytes first ([`crate::analysis::hints`]). They
    /// never change a rule's outcome.
    pub hints: Vec<crate::analysis::Hint>,
    /// Secret findings, after `exclude`; `None` when the `secrets` rule is disabled and the
    /// layers were not scanned.
    pub secrets: Option<Vec<SecretFinding>>,
    /// Analysis warnings (unreadable entries, missing history, ...), shown in reports.
    pub warnings: Vec<String>,
    /// The Dockerfile given with `--dockerfile`, and how it mapped.
    pub dockerfile: Option<DockerfileSummary>,
}

/// A secret finding ([`crate::analysis::secrets::Finding`]) with what every view shows of
/// it: the layer that ships it, its instruction and Dockerfile line, what became of it.
/// Nothing here holds the secret: `preview` and `instruction` are redacted.
#[derive(Debug, Clone, Serialize)]
pub struct SecretFinding {
    /// The rule's id in [`crate::analysis::secrets::RULES`].
    pub rule: &'static str,
    pub title: &'static str,
    pub severity: crate::analysis::secrets::Severity,
    pub fix: &'static str,
    pub evidence: crate::analysis::secrets::Evidence,
    /// Redacted (`ghp_…i2`); empty when the name alone is the finding.
    pub preview: String,
    /// The file's path in the image (raw bytes: reporters escape or decode); `None` for
    /// the config.
    pub path: Option<Vec<u8>>,
    /// For the config: `Env`, `Labels[KEY]` or `history[N].created_by`.
    pub field: Option<String>,
    /// The layer whose tar ships the bytes (for a history entry, its layer).
    pub layer: Option<usize>,
    /// That layer's diff_id.
    pub layer_digest: Option<String>,
    /// The layer's history instruction, secrets redacted.
    pub instruction: Option<String>,
    /// With `--dockerfile`: the line that made the layer, or that set the `ENV`/`LABEL`.
    pub dockerfile: Option<DockerfileLine>,
    pub fate: crate::analysis::secrets::Fate,
    /// Where it is and what became of it, in words: `added by layer 2 `COPY …`; deleted by
    /// layer 6, but still shipped in layer 2`.
    pub description: String,
}

impl SecretFinding {
    /// Where the finding is, in one line: the escaped path or `config FIELD`.
    pub fn place(&self) -> String {
        match (&self.path, &self.field) {
            (Some(path), _) => crate::escape::escape_bytes(path).into_owned(),
            (None, Some(field)) => format!("config {}", crate::escape::escape_str(field)),
            (None, None) => "config".to_owned(),
        }
    }

    /// Whether a later layer deleted or overwrote the file (its bytes still ship).
    pub fn hidden_later(&self) -> bool {
        !matches!(self.fate, crate::analysis::secrets::Fate::Present)
    }
}

/// How the `--dockerfile` mapped onto the image.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DockerfileSummary {
    pub path: String,
    /// The final stage's base image, as written after `FROM`.
    pub base_image: String,
    /// Layers `0..base_layers` come from it (they count as base for the user-wasted ratio).
    pub base_layers: usize,
    /// The line of the final stage's `FROM`: where results about the whole image point.
    pub from_line: Option<usize>,
    /// Dockerfile lines of the final stage that no history entry matched.
    pub unmatched_lines: Vec<usize>,
    /// History entries (0-based) after the base that no Dockerfile line matched.
    pub unmatched_history: Vec<usize>,
}

/// The Dockerfile instruction that made a layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DockerfileLine {
    pub line: usize,
    pub end_line: usize,
    /// The stage's name (or number when unnamed).
    pub stage: Option<String>,
    pub instruction: String,
}

/// One layer and its file changes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LayerSummary {
    /// 0-based position, base layer first.
    pub index: usize,
    /// diff_id (`sha256:…`).
    pub digest: String,
    pub size_bytes: u64,
    /// `created_by` from the image history, if known; with `--dockerfile`, the line that
    /// made the layer (`line 7: COPY …`) or `FROM <base>`.
    pub instruction: Option<String>,
    /// With `--dockerfile`: the line that made the layer (`None` for a base layer).
    pub dockerfile: Option<DockerfileLine>,
    pub added: u64,
    pub modified: u64,
    pub removed: u64,
}

/// A path that occupies space in more than one layer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WastedPath {
    pub path: String,
    /// Number of layers that carry a version of the path.
    pub count: usize,
    pub wasted_bytes: u64,
    /// Every layer's version, in layer order.
    pub versions: Vec<PathVersion>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PathVersion {
    pub layer: usize,
    pub instruction: Option<String>,
    /// With `--dockerfile`: the first line of the instruction that made the layer.
    pub dockerfile_line: Option<usize>,
    /// What the layer did; serialised as its phrase (`"hidden by opaque dir"`).
    #[serde(serialize_with = "action_phrase")]
    pub action: PathEvent,
    pub size_bytes: u64,
}

fn action_phrase<S: Serializer>(action: &PathEvent, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(action.as_str())
}

/// `num / den` with dive's float semantics (0/0 = NaN, x/0 = +Inf), so thresholds
/// behave the same way as in dive for degenerate images.
pub fn dive_ratio(num: u64, den: u64) -> f64 {
    num as f64 / den as f64
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    /// A small but complete input: one duplicated file added then deleted.
    pub fn sample_input() -> CiInput {
        CiInput {
            image: "example:latest".into(),
            source: "example.tar".into(),
            source_format: "docker-archive".into(),
            platform: Some("linux/amd64".into()),
            score_kind: ScoreKind::Layerscope,
            efficiency: 0.95,
            wasted_bytes: 1_000_000,
            total_bytes: 50_000_000,
            user_bytes: 20_000_000,
            user_wasted_ratio: 0.05,
            layer_count: 3,
            layers: vec![
                LayerSummary {
                    index: 0,
                    digest: "sha256:aaa".into(),
                    size_bytes: 30_000_000,
                    instruction: Some("ADD rootfs.tar /".into()),
                    added: 100,
                    ..Default::default()
                },
                LayerSummary {
                    index: 1,
                    digest: "sha256:bbb".into(),
                    size_bytes: 20_000_000,
                    instruction: Some("RUN apt-get install -y foo".into()),
                    added: 10,
                    modified: 2,
                    ..Default::default()
                },
                LayerSummary {
                    index: 2,
                    digest: "sha256:ccc".into(),
                    size_bytes: 0,
                    instruction: Some("RUN rm /opt/big.bin".into()),
                    removed: 1,
                    ..Default::default()
                },
            ],
            inefficient: vec![WastedPath {
                path: "/opt/big.bin".into(),
                count: 2,
                wasted_bytes: 1_000_000,
                versions: vec![
                    PathVersion {
                        layer: 1,
                        instruction: Some("RUN apt-get install -y foo".into()),
                        dockerfile_line: None,
                        action: PathEvent::Added,
                        size_bytes: 1_000_000,
                    },
                    PathVersion {
                        layer: 2,
                        instruction: Some("RUN rm /opt/big.bin".into()),
                        dockerfile_line: None,
                        action: PathEvent::Deleted,
                        size_bytes: 0,
                    },
                ],
            }],
            hints: vec![crate::analysis::Hint {
                kind: crate::analysis::HintKind::DeletedLater,
                bytes: 1_000_000,
                layers: vec![1, 2],
                paths: vec![b"/opt/big.bin".to_vec()],
                path_count: 1,
                dockerfile_lines: vec![4, 5],
                summary: "layer 1 adds files that layer 2 deletes".into(),
                fix: "delete them in the same RUN that creates them".into(),
            }],
            secrets: Some(vec![]),
            warnings: vec![],
            dockerfile: None,
        }
    }

    /// A deleted key file: the kind of finding the `secrets` rule fails on.
    pub fn sample_secret() -> SecretFinding {
        use crate::analysis::secrets::{rule, Evidence, Fate};
        let key = rule("private-key").unwrap();
        SecretFinding {
            rule: key.id,
            title: key.title,
            severity: key.severity,
            fix: key.fix,
            evidence: Evidence::Path,
            preview: String::new(),
            path: Some(b"/root/.ssh/id_rsa".to_vec()),
            field: None,
            layer: Some(1),
            layer_digest: Some("sha256:bbb".into()),
            instruction: Some("COPY id_rsa /root/.ssh/id_rsa".into()),
            dockerfile: None,
            fate: Fate::Deleted(2),
            description: "added by layer 1; deleted by layer 2, but still shipped in layer 1"
                .into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dive_ratio_matches_dive_float_semantics() {
        assert!(dive_ratio(0, 0).is_nan());
        assert_eq!(dive_ratio(5, 0), f64::INFINITY);
        assert_eq!(dive_ratio(1, 4), 0.25);
    }

    #[test]
    fn version_action_serialises_as_phrase() {
        let version = PathVersion {
            layer: 3,
            instruction: None,
            dockerfile_line: None,
            action: PathEvent::OpaqueDir,
            size_bytes: 0,
        };
        let v = serde_json::to_value(version).unwrap();
        assert_eq!(v["action"], serde_json::json!("hidden by opaque dir"));
    }
}
