//! CI rules: thresholds, their value syntax, and evaluation against a [`CiInput`].
//!
//! Comparisons follow dive: a value equal to its threshold passes.
//!
//! Undefined metrics: dive compares with Go floats, where any comparison with NaN
//! is false, so a NaN efficiency or user-wasted ratio silently *passes* there. We
//! report such a rule as `Skip` with the reason instead, which gives the same exit
//! code but says why nothing was checked. `+Inf` (wasted bytes but zero user bytes)
//! is a real value: it fails any ratio threshold, exactly as in dive.

use serde::{Serialize, Serializer};

use super::CiInput;
use crate::escape::escape_str;
use crate::size::human;

/// The rules, in evaluation and report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleId {
    LowestEfficiency,
    HighestWastedBytes,
    HighestUserWastedPercent,
    HighestImageBytes,
    HighestLayerCount,
    /// Secret findings in any layer or in the config ([`crate::analysis::secrets`]).
    Secrets,
}

/// What a threshold measures; decides the value syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// 0..=1, written `0.1` or `10%`.
    Ratio,
    /// humanized size, go-humanize style: `20MB` (10^6), `1.5 GiB` (2^30), `20000`.
    Bytes,
    /// non-negative integer.
    Count,
}

impl ValueKind {
    /// The unit's name in machine output.
    pub fn unit(self) -> &'static str {
        match self {
            ValueKind::Ratio => "ratio",
            ValueKind::Bytes => "bytes",
            ValueKind::Count => "count",
        }
    }
}

impl RuleId {
    pub const ALL: [RuleId; 6] = [
        RuleId::LowestEfficiency,
        RuleId::HighestWastedBytes,
        RuleId::HighestUserWastedPercent,
        RuleId::HighestImageBytes,
        RuleId::HighestLayerCount,
        RuleId::Secrets,
    ];

    /// Kebab-case name used in CLI flags (`--lowest-efficiency`), reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            RuleId::LowestEfficiency => "lowest-efficiency",
            RuleId::HighestWastedBytes => "highest-wasted-bytes",
            RuleId::HighestUserWastedPercent => "highest-user-wasted-percent",
            RuleId::HighestImageBytes => "highest-image-bytes",
            RuleId::HighestLayerCount => "highest-layer-count",
            RuleId::Secrets => "secrets",
        }
    }

    /// What the rule checks, in one line (for SARIF rule descriptions and `--help`).
    pub fn description(self) -> &'static str {
        match self {
            RuleId::LowestEfficiency => "the image's efficiency score is at least the threshold",
            RuleId::HighestWastedBytes => "the image wastes at most this many bytes",
            RuleId::HighestUserWastedPercent => {
                "the bytes wasted above the base image are at most this ratio of them"
            }
            RuleId::HighestImageBytes => "the image is at most this many bytes",
            RuleId::HighestLayerCount => "the image has at most this many layers",
            RuleId::Secrets => {
                "at most this many secrets in any layer (deleted files included) or in the config"
            }
        }
    }

    /// dive's camelCase config key (the last three are layerscope additions).
    pub fn dive_key(self) -> &'static str {
        match self {
            RuleId::LowestEfficiency => "lowestEfficiency",
            RuleId::HighestWastedBytes => "highestWastedBytes",
            RuleId::HighestUserWastedPercent => "highestUserWastedPercent",
            RuleId::HighestImageBytes => "highestImageBytes",
            RuleId::HighestLayerCount => "highestLayerCount",
            RuleId::Secrets => "secrets",
        }
    }

    pub fn kind(self) -> ValueKind {
        match self {
            RuleId::LowestEfficiency | RuleId::HighestUserWastedPercent => ValueKind::Ratio,
            RuleId::HighestWastedBytes | RuleId::HighestImageBytes => ValueKind::Bytes,
            RuleId::HighestLayerCount | RuleId::Secrets => ValueKind::Count,
        }
    }

    /// Finds a rule by any spelling of its key: dive's camelCase, kebab-case or
    /// snake_case, case-insensitively (dive reads config through viper, which
    /// ignores case, so `lowestefficiency` works there too).
    pub fn from_key(key: &str) -> Option<RuleId> {
        let norm = normalize_key(key);
        RuleId::ALL
            .into_iter()
            .find(|r| normalize_key(r.name()) == norm)
    }

    /// dive's defaults; the layerscope-only size rules start disabled, and `secrets` is on
    /// with no finding allowed (a shipped secret is never acceptable by default).
    pub fn default_threshold(self) -> Option<Metric> {
        match self {
            RuleId::LowestEfficiency => Some(Metric::Ratio(0.9)),
            RuleId::HighestUserWastedPercent => Some(Metric::Ratio(0.1)),
            RuleId::Secrets => Some(Metric::Count(0)),
            RuleId::HighestWastedBytes | RuleId::HighestImageBytes | RuleId::HighestLayerCount => {
                None
            }
        }
    }
}

impl Serialize for RuleId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Lower-case and drop `-`/`_` so every key style compares equal.
pub(crate) fn normalize_key(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// A threshold or a measured value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    Ratio(f64),
    Bytes(u64),
    Count(u64),
}

impl Metric {
    /// Numeric value for machine output; `None` when not finite (JSON has no NaN).
    pub fn as_json_number(self) -> Option<serde_json::Number> {
        match self {
            Metric::Ratio(r) => serde_json::Number::from_f64(r),
            Metric::Bytes(n) | Metric::Count(n) => Some(n.into()),
        }
    }

    pub fn unit(self) -> &'static str {
        kind_of(self).unit()
    }
}

impl std::fmt::Display for Metric {
    /// Ratios print exactly (shortest round-trip form), bytes as `1.2 MB (1234567 bytes)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Metric::Ratio(r) => write!(f, "{}", fmt_ratio(r)),
            Metric::Bytes(n) => write!(f, "{} ({n} bytes)", human(n)),
            Metric::Count(n) => write!(f, "{n}"),
        }
    }
}

/// Ratio with dive's spellings for non-finite values (`NaN`, `+Inf`).
pub fn fmt_ratio(r: f64) -> String {
    if r.is_nan() {
        "NaN".into()
    } else if r == f64::INFINITY {
        "+Inf".into()
    } else if r == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{r}")
    }
}

/// Ratio as a percentage with two decimals, `NaN`/`+Inf` as dive prints them.
pub fn fmt_percent(r: f64) -> String {
    if r.is_finite() {
        format!("{:.2}%", r * 100.0)
    } else {
        fmt_ratio(r)
    }
}

/// Thresholds; `None` = rule disabled.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    pub lowest_efficiency: Option<f64>,
    pub highest_wasted_bytes: Option<u64>,
    pub highest_user_wasted_ratio: Option<f64>,
    pub highest_image_bytes: Option<u64>,
    pub highest_layer_count: Option<u64>,
    /// Findings allowed; `None` also means the layers are not scanned at all.
    pub secrets: Option<u64>,
}

impl Default for RuleSet {
    fn default() -> Self {
        let mut set = RuleSet::disabled();
        for rule in RuleId::ALL {
            set.set(rule, rule.default_threshold());
        }
        set
    }
}

impl RuleSet {
    /// Every rule off.
    pub fn disabled() -> RuleSet {
        RuleSet {
            lowest_efficiency: None,
            highest_wasted_bytes: None,
            highest_user_wasted_ratio: None,
            highest_image_bytes: None,
            highest_layer_count: None,
            secrets: None,
        }
    }

    pub fn get(&self, rule: RuleId) -> Option<Metric> {
        match rule {
            RuleId::LowestEfficiency => self.lowest_efficiency.map(Metric::Ratio),
            RuleId::HighestWastedBytes => self.highest_wasted_bytes.map(Metric::Bytes),
            RuleId::HighestUserWastedPercent => self.highest_user_wasted_ratio.map(Metric::Ratio),
            RuleId::HighestImageBytes => self.highest_image_bytes.map(Metric::Bytes),
            RuleId::HighestLayerCount => self.highest_layer_count.map(Metric::Count),
            RuleId::Secrets => self.secrets.map(Metric::Count),
        }
    }

    /// Sets a threshold; a metric of the wrong kind disables the rule (only
    /// [`parse_threshold`] output reaches here, which always matches the kind).
    pub(crate) fn set(&mut self, rule: RuleId, value: Option<Metric>) {
        debug_assert!(value.is_none_or(|v| kind_of(v) == rule.kind()));
        match rule {
            RuleId::LowestEfficiency => self.lowest_efficiency = ratio(value),
            RuleId::HighestWastedBytes => self.highest_wasted_bytes = bytes(value),
            RuleId::HighestUserWastedPercent => self.highest_user_wasted_ratio = ratio(value),
            RuleId::HighestImageBytes => self.highest_image_bytes = bytes(value),
            RuleId::HighestLayerCount => self.highest_layer_count = count(value),
            RuleId::Secrets => self.secrets = count(value),
        }
    }
}

fn kind_of(m: Metric) -> ValueKind {
    match m {
        Metric::Ratio(_) => ValueKind::Ratio,
        Metric::Bytes(_) => ValueKind::Bytes,
        Metric::Count(_) => ValueKind::Count,
    }
}

fn ratio(m: Option<Metric>) -> Option<f64> {
    match m {
        Some(Metric::Ratio(r)) => Some(r),
        _ => None,
    }
}

fn bytes(m: Option<Metric>) -> Option<u64> {
    match m {
        Some(Metric::Bytes(n)) => Some(n),
        _ => None,
    }
}

fn count(m: Option<Metric>) -> Option<u64> {
    match m {
        Some(Metric::Count(n)) => Some(n),
        _ => None,
    }
}

/// Raw CLI values, one per rule; `None` = flag not given (keep the file's value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleOverrides {
    pub lowest_efficiency: Option<String>,
    pub highest_wasted_bytes: Option<String>,
    pub highest_user_wasted_percent: Option<String>,
    pub highest_image_bytes: Option<String>,
    pub highest_layer_count: Option<String>,
    pub secrets: Option<String>,
}

impl RuleOverrides {
    pub fn get(&self, rule: RuleId) -> Option<&str> {
        match rule {
            RuleId::LowestEfficiency => self.lowest_efficiency.as_deref(),
            RuleId::HighestWastedBytes => self.highest_wasted_bytes.as_deref(),
            RuleId::HighestUserWastedPercent => self.highest_user_wasted_percent.as_deref(),
            RuleId::HighestImageBytes => self.highest_image_bytes.as_deref(),
            RuleId::HighestLayerCount => self.highest_layer_count.as_deref(),
            RuleId::Secrets => self.secrets.as_deref(),
        }
    }
}

/// A config scalar before interpretation. YAML numbers arrive as their decimal text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RawScalar<'a> {
    Null,
    Bool(bool),
    Text(&'a str),
}

/// Why a threshold does not parse. The text is a single line for a config error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdError {
    #[error("`true` is not a threshold: expected {expected}, or `disabled`")]
    True { expected: &'static str },
    #[error("invalid value \"{value}\": {hint}expected {expected}, or `disabled`")]
    Invalid {
        /// As written, escaped.
        value: String,
        hint: String,
        expected: &'static str,
    },
    #[error("invalid value \"{value}\": {source}; expected {expected}, or `disabled`")]
    Size {
        value: String,
        #[source]
        source: SizeError,
        expected: &'static str,
    },
}

/// Why a size does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error("not a size")]
    NotASize,
    #[error("a bare number must be a whole count of bytes")]
    NotWhole,
    /// The unit as written, escaped.
    #[error("unknown size unit \"{0}\"")]
    UnknownUnit(String),
    #[error("size too large")]
    TooLarge,
}

/// Parses one threshold. `Ok(None)` means disabled: `disabled`, `off`, `false`
/// (any case), an empty value, YAML null or YAML `false`.
pub(crate) fn parse_threshold(
    rule: RuleId,
    raw: RawScalar<'_>,
) -> Result<Option<Metric>, ThresholdError> {
    let expected = expected(rule.kind());
    // An on/off rule can be switched on by name: `secrets: enabled` is its default (0).
    let enabled = |t: &str| {
        ["enabled", "on", "true"]
            .iter()
            .any(|e| t.trim().eq_ignore_ascii_case(e))
    };
    if rule == RuleId::Secrets
        && (raw == RawScalar::Bool(true) || matches!(raw, RawScalar::Text(t) if enabled(t)))
    {
        return Ok(rule.default_threshold());
    }
    let text = match raw {
        RawScalar::Null | RawScalar::Bool(false) => return Ok(None),
        RawScalar::Bool(true) => return Err(ThresholdError::True { expected }),
        RawScalar::Text(t) => t.trim(),
    };
    if text.is_empty()
        || ["disabled", "off", "false"]
            .iter()
            .any(|d| text.eq_ignore_ascii_case(d))
    {
        return Ok(None);
    }
    let bad = |hint: &str| ThresholdError::Invalid {
        value: escape_str(text).into_owned(),
        hint: hint.to_owned(),
        expected,
    };
    match rule.kind() {
        ValueKind::Ratio => {
            let (number, scale) = match text.strip_suffix('%') {
                Some(n) => (n.trim_end(), 100.0),
                None => (text, 1.0),
            };
            let v = number
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad(""))?
                / scale;
            if !(0.0..=1.0).contains(&v) {
                // dive rejects out-of-range ratios too; `10` almost always meant 10%.
                let hint = if scale == 1.0 && v > 1.0 && v <= 100.0 {
                    format!("out of range (did you mean {number}%?); ")
                } else {
                    "out of range; ".to_owned()
                };
                return Err(bad(&hint));
            }
            Ok(Some(Metric::Ratio(v)))
        }
        ValueKind::Bytes => parse_bytes(text)
            .map(|n| Some(Metric::Bytes(n)))
            .map_err(|source| ThresholdError::Size {
                value: escape_str(text).into_owned(),
                source,
                expected,
            }),
        ValueKind::Count => text
            .parse::<u64>()
            .map(|n| Some(Metric::Count(n)))
            .map_err(|_| bad("")),
    }
}

fn expected(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Ratio => "a ratio from 0 to 1 (0.1 or 10%)",
        ValueKind::Bytes => "a size (20MB, 1.5GiB, 20000)",
        ValueKind::Count => "a whole number",
    }
}

/// Parses a humanized size the way dive's go-humanize `ParseBytes` does: decimal
/// units are powers of 1000 (`MB` = 10^6), `i` units powers of 1024 (`MiB` = 2^20),
/// units are case-insensitive, space before the unit and `,` in the number are allowed,
/// and a bare number is bytes. The unit arithmetic is bytesize's, which uses the
/// same tables.
pub fn parse_bytes(text: &str) -> Result<u64, SizeError> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: String = number.chars().filter(|c| *c != ',').collect();
    let unit = unit.trim();
    if number.is_empty() || number == "." {
        return Err(SizeError::NotASize);
    }
    if unit.is_empty() {
        return number.parse::<u64>().map_err(|_| SizeError::NotWhole);
    }
    let size: bytesize::ByteSize = format!("{number} {unit}")
        .parse()
        .map_err(|_| SizeError::UnknownUnit(escape_str(unit).into_owned()))?;
    // bytesize saturates instead of failing; go-humanize reports "too large".
    if size.0 == u64::MAX {
        return Err(SizeError::TooLarge);
    }
    Ok(size.0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleStatus {
    Pass,
    Fail,
    Skip,
}

impl RuleStatus {
    pub fn label(self) -> &'static str {
        match self {
            RuleStatus::Pass => "PASS",
            RuleStatus::Fail => "FAIL",
            RuleStatus::Skip => "SKIP",
        }
    }
}

/// The result of one rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleOutcome {
    pub rule: RuleId,
    pub status: RuleStatus,
    /// `None` when the rule is disabled.
    pub threshold: Option<Metric>,
    /// The measured value (may be NaN/+Inf for ratios); `None` when nothing was measured
    /// (the `secrets` rule when the layers were not scanned).
    pub actual: Option<Metric>,
    /// One line, built from numbers and, for `secrets`, escaped paths and redacted
    /// previews (reporters escape it again for their medium).
    pub message: String,
}

/// Evaluates every rule, in [`RuleId::ALL`] order; disabled rules are `Skip`.
pub fn evaluate(rules: &RuleSet, input: &CiInput) -> Vec<RuleOutcome> {
    RuleId::ALL
        .into_iter()
        .map(|rule| evaluate_one(rule, rules.get(rule), input))
        .collect()
}

fn actual_of(rule: RuleId, input: &CiInput) -> Option<Metric> {
    Some(match rule {
        RuleId::LowestEfficiency => Metric::Ratio(input.efficiency),
        RuleId::HighestWastedBytes => Metric::Bytes(input.wasted_bytes),
        RuleId::HighestUserWastedPercent => Metric::Ratio(input.user_wasted_ratio),
        RuleId::HighestImageBytes => Metric::Bytes(input.total_bytes),
        RuleId::HighestLayerCount => Metric::Count(input.layer_count as u64),
        RuleId::Secrets => Metric::Count(input.secrets.as_ref()?.len() as u64),
    })
}

/// Findings named in the `secrets` rule's failure message; the reports list them all.
const NAMED_SECRETS: usize = 3;

/// The `secrets` rule's verdict: the count and the first findings, redacted and escaped.
fn secrets_verdict(findings: &[super::SecretFinding], limit: u64) -> (RuleStatus, String) {
    let count = findings.len() as u64;
    if count <= limit {
        let message = if count == 0 {
            format!("no secrets found in any layer or the config (threshold {limit})")
        } else {
            format!("{count} secret findings <= threshold {limit}")
        };
        return (RuleStatus::Pass, message);
    }
    let named: Vec<String> = findings
        .iter()
        .take(NAMED_SECRETS)
        .map(|f| {
            let mut item = format!("{} at {}", f.rule, f.place());
            if !f.preview.is_empty() {
                item.push_str(&format!(" [{}]", escape_str(&f.preview)));
            }
            use crate::analysis::secrets::Fate;
            match (f.layer, f.fate) {
                (Some(layer), Fate::Present) => item.push_str(&format!(" (layer {layer})")),
                (Some(layer), Fate::Deleted(by)) => {
                    item.push_str(&format!(" (layer {layer}, deleted by layer {by})"))
                }
                (Some(layer), Fate::Overwritten(by)) => {
                    item.push_str(&format!(" (layer {layer}, overwritten by layer {by})"))
                }
                (None, _) => {}
            }
            item
        })
        .collect();
    let more = findings.len().saturating_sub(named.len());
    let more = if more > 0 {
        format!(", and {more} more")
    } else {
        String::new()
    };
    (
        RuleStatus::Fail,
        format!(
            "{count} secret finding{} exceed{} the threshold {limit}: {}{more}",
            if count == 1 { "" } else { "s" },
            if count == 1 { "s" } else { "" },
            named.join(", ")
        ),
    )
}

fn evaluate_one(rule: RuleId, threshold: Option<Metric>, input: &CiInput) -> RuleOutcome {
    let actual = actual_of(rule, input);
    let outcome = |status, message: String| RuleOutcome {
        rule,
        status,
        threshold,
        actual,
        message,
    };
    let Some(limit) = threshold else {
        return outcome(RuleStatus::Skip, "disabled".into());
    };
    let Some(measured) = actual else {
        return outcome(
            RuleStatus::Skip,
            "the layers were not scanned; not checked".into(),
        );
    };
    let (status, message) = match (rule, measured, limit) {
        // `actual` is `Some` only when the findings are there.
        (RuleId::Secrets, _, Metric::Count(t)) => {
            secrets_verdict(input.secrets.as_deref().unwrap_or_default(), t)
        }
        (RuleId::LowestEfficiency, Metric::Ratio(a), Metric::Ratio(t)) => {
            if a.is_nan() {
                (
                    RuleStatus::Skip,
                    "efficiency is undefined (NaN: nothing to score); not checked".into(),
                )
            } else {
                let (a_s, t_s) = fmt_distinct(a, t);
                if a < t {
                    (
                        RuleStatus::Fail,
                        format!("image efficiency {a_s} is below the threshold {t_s}"),
                    )
                } else {
                    (
                        RuleStatus::Pass,
                        format!("image efficiency {a_s} >= threshold {t_s}"),
                    )
                }
            }
        }
        (RuleId::HighestUserWastedPercent, Metric::Ratio(a), Metric::Ratio(t)) => {
            if a.is_nan() {
                (
                    RuleStatus::Skip,
                    "user-wasted ratio is undefined (NaN: 0 wasted of 0 user bytes); not checked"
                        .into(),
                )
            } else {
                let (a_s, t_s) = fmt_distinct(a, t);
                let detail = format!(
                    "{} wasted of {} user bytes",
                    human(input.wasted_bytes),
                    human(input.user_bytes)
                );
                if a > t {
                    (
                        RuleStatus::Fail,
                        format!("user-wasted ratio {a_s} ({detail}) exceeds the threshold {t_s}"),
                    )
                } else {
                    (
                        RuleStatus::Pass,
                        format!("user-wasted ratio {a_s} ({detail}) <= threshold {t_s}"),
                    )
                }
            }
        }
        (_, Metric::Bytes(a), Metric::Bytes(t)) => {
            let what = if rule == RuleId::HighestImageBytes {
                "image size"
            } else {
                "wasted"
            };
            if a > t {
                (
                    RuleStatus::Fail,
                    format!("{what} {measured} exceeds the threshold {limit}"),
                )
            } else {
                (
                    RuleStatus::Pass,
                    format!("{what} {measured} <= threshold {limit}"),
                )
            }
        }
        (_, Metric::Count(a), Metric::Count(t)) => {
            if a > t {
                (
                    RuleStatus::Fail,
                    format!("{a} layers exceed the threshold {t}"),
                )
            } else {
                (RuleStatus::Pass, format!("{a} layers <= threshold {t}"))
            }
        }
        // RuleSet::get always pairs a rule with its own kind.
        _ => (
            RuleStatus::Skip,
            "internal error: threshold of the wrong kind".into(),
        ),
    };
    outcome(status, message)
}

/// Formats two ratios with as few decimals as keep them visibly different, so a
/// failure never reads "0.9 is below the threshold 0.9".
fn fmt_distinct(a: f64, t: f64) -> (String, String) {
    if !a.is_finite() || a == t {
        return (fmt_ratio(a), fmt_ratio(t));
    }
    for digits in 4..=17 {
        let (x, y) = (format!("{a:.digits$}"), format!("{t:.digits$}"));
        if x != y {
            return (trim_zeros(x), trim_zeros(y));
        }
    }
    (fmt_ratio(a), fmt_ratio(t))
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Tally {
    pub fn of(outcomes: &[RuleOutcome]) -> Tally {
        let mut t = Tally::default();
        for o in outcomes {
            match o.status {
                RuleStatus::Pass => t.passed += 1,
                RuleStatus::Fail => t.failed += 1,
                RuleStatus::Skip => t.skipped += 1,
            }
        }
        t
    }

    pub fn total(self) -> usize {
        self.passed + self.failed + self.skipped
    }

    pub fn pass(self) -> bool {
        self.failed == 0
    }
}

/// 0 when every rule passed or was skipped, 1 when any failed. (Config and usage
/// errors, exit 2, come from [`CiConfigError`] before evaluation.)
pub fn exit_code(outcomes: &[RuleOutcome]) -> i32 {
    if Tally::of(outcomes).pass() {
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::testutil::sample_input;

    fn only(rule: RuleId, value: &str) -> RuleSet {
        let mut set = RuleSet::disabled();
        set.set(rule, parse_threshold(rule, RawScalar::Text(value)).unwrap());
        set
    }

    fn status(rule: RuleId, value: &str, input: &CiInput) -> RuleStatus {
        let outcomes = evaluate(&only(rule, value), input);
        outcomes.iter().find(|o| o.rule == rule).unwrap().status
    }

    #[test]
    fn defaults_match_dive() {
        let d = RuleSet::default();
        assert_eq!(d.lowest_efficiency, Some(0.9));
        assert_eq!(d.highest_wasted_bytes, None);
        assert_eq!(d.highest_user_wasted_ratio, Some(0.1));
        assert_eq!(d.highest_image_bytes, None);
        assert_eq!(d.highest_layer_count, None);
        assert_eq!(d.secrets, Some(0));
    }

    #[test]
    fn secrets_fail_above_the_threshold_naming_the_first_findings() {
        use crate::ci::testutil::sample_secret;
        let mut input = sample_input();
        let secrets = |input: &CiInput, value: &str| {
            evaluate(&only(RuleId::Secrets, value), input)
                .into_iter()
                .find(|o| o.rule == RuleId::Secrets)
                .unwrap()
        };
        let clean = secrets(&input, "0");
        assert_eq!(clean.status, RuleStatus::Pass);
        assert_eq!(clean.actual, Some(Metric::Count(0)));
        assert_eq!(
            clean.message,
            "no secrets found in any layer or the config (threshold 0)"
        );

        let mut token = sample_secret();
        token.rule = "github-token";
        token.path = Some(b"/app/\x1b[2Jtoken.txt".to_vec());
        token.preview = "ghp_…i2".into();
        token.fate = crate::analysis::secrets::Fate::Present;
        input.secrets = Some(vec![
            sample_secret(),
            token,
            sample_secret(),
            sample_secret(),
        ]);
        let failed = secrets(&input, "0");
        assert_eq!(failed.status, RuleStatus::Fail);
        assert_eq!(failed.actual, Some(Metric::Count(4)));
        assert_eq!(
            failed.message,
            "4 secret findings exceed the threshold 0: private-key at /root/.ssh/id_rsa \
             (layer 1, deleted by layer 2), github-token at /app/\\x1b[2Jtoken.txt \
             [ghp_…i2] (layer 1), private-key at /root/.ssh/id_rsa (layer 1, deleted by \
             layer 2), and 1 more"
        );
        assert_eq!(secrets(&input, "4").status, RuleStatus::Pass);
        assert_eq!(secrets(&input, "off").status, RuleStatus::Skip);

        // Not scanned: nothing measured, nothing judged.
        input.secrets = None;
        let unscanned = secrets(&input, "0");
        assert_eq!(unscanned.status, RuleStatus::Skip);
        assert_eq!(unscanned.actual, None);
    }

    #[test]
    fn key_spellings() {
        for k in [
            "lowestEfficiency",
            "lowest-efficiency",
            "lowest_efficiency",
            "LOWESTEFFICIENCY",
        ] {
            assert_eq!(RuleId::from_key(k), Some(RuleId::LowestEfficiency), "{k}");
        }
        assert_eq!(
            RuleId::from_key("highestUserWastedPercent"),
            Some(RuleId::HighestUserWastedPercent)
        );
        assert_eq!(RuleId::from_key("lowestEfficiencyy"), None);
    }

    #[test]
    fn humanized_sizes() {
        assert_eq!(parse_bytes("20MB"), Ok(20_000_000));
        assert_eq!(parse_bytes("1.5 GiB"), Ok(1_610_612_736));
        assert_eq!(parse_bytes("20000"), Ok(20_000));
        assert_eq!(parse_bytes("20 mib"), Ok(20 * 1024 * 1024));
        assert_eq!(parse_bytes("1,000 kB"), Ok(1_000_000));
        assert_eq!(parse_bytes("5 K"), Ok(5_000));
        assert!(parse_bytes("banana").is_err());
        assert!(parse_bytes("20 parsecs").is_err());
        assert!(parse_bytes("-5MB").is_err());
        assert!(parse_bytes("1.5").is_err());
        assert!(parse_bytes("99999999999 EiB").is_err());
    }

    #[test]
    fn disable_spellings() {
        for rule in RuleId::ALL {
            for text in ["disabled", "off", "false", "", "  ", "Disabled", "OFF"] {
                assert_eq!(
                    parse_threshold(rule, RawScalar::Text(text)),
                    Ok(None),
                    "{text:?}"
                );
            }
            assert_eq!(parse_threshold(rule, RawScalar::Null), Ok(None));
            assert_eq!(parse_threshold(rule, RawScalar::Bool(false)), Ok(None));
            if rule == RuleId::Secrets {
                // An on/off rule: `true` and `enabled` switch it on at its default.
                for on in [
                    RawScalar::Bool(true),
                    RawScalar::Text("Enabled"),
                    RawScalar::Text("on"),
                ] {
                    assert_eq!(parse_threshold(rule, on), Ok(Some(Metric::Count(0))));
                }
            } else {
                assert!(parse_threshold(rule, RawScalar::Bool(true)).is_err());
            }
        }
    }

    #[test]
    fn ratio_syntax() {
        let p = |t| parse_threshold(RuleId::HighestUserWastedPercent, RawScalar::Text(t));
        assert_eq!(p("0.1"), Ok(Some(Metric::Ratio(0.1))));
        assert_eq!(p("10%"), Ok(Some(Metric::Ratio(0.1))));
        assert_eq!(p("0"), Ok(Some(Metric::Ratio(0.0))));
        assert_eq!(p("1"), Ok(Some(Metric::Ratio(1.0))));
        let err = p("10").unwrap_err();
        assert!(err.to_string().contains("did you mean 10%?"), "{err}");
        assert!(p("-0.1").is_err());
        assert!(p("NaN").is_err());
        assert!(p("inf").is_err());
        assert!(p("banana").unwrap_err().to_string().contains("\"banana\""));
    }

    #[test]
    fn count_syntax() {
        let p = |t| parse_threshold(RuleId::HighestLayerCount, RawScalar::Text(t));
        assert_eq!(p("50"), Ok(Some(Metric::Count(50))));
        assert!(p("1.5").is_err());
        assert!(p("-1").is_err());
    }

    #[test]
    fn lowest_efficiency_boundary() {
        let mut input = sample_input();
        input.efficiency = 0.9;
        assert_eq!(
            status(RuleId::LowestEfficiency, "0.9", &input),
            RuleStatus::Pass
        );
        input.efficiency = 0.899_999_9;
        assert_eq!(
            status(RuleId::LowestEfficiency, "0.9", &input),
            RuleStatus::Fail
        );
        input.efficiency = f64::NAN;
        assert_eq!(
            status(RuleId::LowestEfficiency, "0.9", &input),
            RuleStatus::Skip
        );
        assert_eq!(
            status(RuleId::LowestEfficiency, "off", &input),
            RuleStatus::Skip
        );
    }

    #[test]
    fn failure_message_shows_distinct_numbers() {
        let mut input = sample_input();
        input.efficiency = 0.899_999_9;
        let o = evaluate(&only(RuleId::LowestEfficiency, "0.9"), &input);
        assert_eq!(
            o[0].message,
            "image efficiency 0.8999999 is below the threshold 0.9"
        );
    }

    #[test]
    fn wasted_bytes_boundary() {
        let mut input = sample_input();
        input.wasted_bytes = 20_000_000;
        assert_eq!(
            status(RuleId::HighestWastedBytes, "20MB", &input),
            RuleStatus::Pass
        );
        input.wasted_bytes = 20_000_001;
        assert_eq!(
            status(RuleId::HighestWastedBytes, "20MB", &input),
            RuleStatus::Fail
        );
        assert_eq!(
            status(RuleId::HighestWastedBytes, "disabled", &input),
            RuleStatus::Skip
        );
        let o = evaluate(&only(RuleId::HighestWastedBytes, "20MB"), &input);
        assert!(o[1].message.contains("20000001 bytes"), "{}", o[1].message);
        assert!(o[1].message.contains("20000000 bytes"), "{}", o[1].message);
    }

    #[test]
    fn user_wasted_boundary_nan_and_inf() {
        let mut input = sample_input();
        input.user_wasted_ratio = 0.1;
        let r = RuleId::HighestUserWastedPercent;
        assert_eq!(status(r, "0.1", &input), RuleStatus::Pass);
        input.user_wasted_ratio = 0.100_000_1;
        assert_eq!(status(r, "0.1", &input), RuleStatus::Fail);
        input.user_wasted_ratio = f64::NAN;
        assert_eq!(status(r, "0.1", &input), RuleStatus::Skip);
        // dive: `0.1 < +Inf` is true, so the rule fails.
        input.user_wasted_ratio = f64::INFINITY;
        assert_eq!(status(r, "0.1", &input), RuleStatus::Fail);
        assert_eq!(status(r, "1", &input), RuleStatus::Fail);
    }

    #[test]
    fn image_bytes_boundary() {
        let mut input = sample_input();
        input.total_bytes = 1_073_741_824;
        assert_eq!(
            status(RuleId::HighestImageBytes, "1GiB", &input),
            RuleStatus::Pass
        );
        assert_eq!(
            status(RuleId::HighestImageBytes, "1GB", &input),
            RuleStatus::Fail
        );
    }

    #[test]
    fn layer_count_boundary() {
        let mut input = sample_input();
        input.layer_count = 3;
        assert_eq!(
            status(RuleId::HighestLayerCount, "3", &input),
            RuleStatus::Pass
        );
        assert_eq!(
            status(RuleId::HighestLayerCount, "2", &input),
            RuleStatus::Fail
        );
    }

    #[test]
    fn every_rule_is_reported_in_order() {
        let outcomes = evaluate(&RuleSet::default(), &sample_input());
        let ids: Vec<_> = outcomes.iter().map(|o| o.rule).collect();
        assert_eq!(ids, RuleId::ALL);
        // sample: efficiency 0.95, user-wasted 0.05, no secrets; the other three are
        // disabled.
        let statuses: Vec<_> = outcomes.iter().map(|o| o.status).collect();
        assert_eq!(
            statuses,
            [
                RuleStatus::Pass,
                RuleStatus::Skip,
                RuleStatus::Pass,
                RuleStatus::Skip,
                RuleStatus::Skip,
                RuleStatus::Pass
            ]
        );
    }

    #[test]
    fn exit_codes() {
        let mut input = sample_input();
        assert_eq!(exit_code(&evaluate(&RuleSet::default(), &input)), 0);
        input.efficiency = 0.5;
        let outcomes = evaluate(&RuleSet::default(), &input);
        assert_eq!(exit_code(&outcomes), 1);
        assert_eq!(
            Tally::of(&outcomes),
            Tally {
                passed: 2,
                failed: 1,
                skipped: 3
            }
        );
        // Everything skipped is a pass, as in dive.
        input.efficiency = f64::NAN;
        input.user_wasted_ratio = f64::NAN;
        assert_eq!(exit_code(&evaluate(&RuleSet::default(), &input)), 0);
        assert_eq!(exit_code(&[]), 0);
    }

    #[test]
    fn cli_overrides_replace_and_disable() {
        let mut set = RuleSet::default();
        set.apply_overrides(&RuleOverrides {
            lowest_efficiency: Some("95%".into()),
            highest_user_wasted_percent: Some("off".into()),
            highest_layer_count: Some("40".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(set.lowest_efficiency, Some(0.95));
        assert_eq!(set.highest_user_wasted_ratio, None);
        assert_eq!(set.highest_layer_count, Some(40));
        assert_eq!(set.highest_wasted_bytes, None);
    }

    #[test]
    fn bad_cli_value_names_the_flag() {
        let err = RuleSet::default()
            .apply_overrides(&RuleOverrides {
                highest_wasted_bytes: Some("lots".into()),
                ..Default::default()
            })
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("--highest-wasted-bytes: "), "{msg}");
        assert!(msg.contains("\"lots\""), "{msg}");
        assert!(!msg.contains('\n'));
    }
}
