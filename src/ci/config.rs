//! CI config: discovery, YAML parsing (layerscope's and dive's `.dive-ci` format)
//! and path exclusion.
//!
//! ```yaml
//! rules:
//!   lowestEfficiency: 0.95          # or lowest-efficiency; ratio 0..1 or 95%
//!   highestWastedBytes: 20MB        # go-humanize sizes: MB = 10^6, MiB = 2^20
//!   highestUserWastedPercent: 0.20  # a ratio, as in dive (0.2 = 20%)
//!   highest-image-bytes: 1.5GiB     # layerscope only
//!   highest-layer-count: disabled   # disabled / off / false / empty
//! secrets: disabled                 # on by default (0 findings); also under `rules:`
//! exclude:                          # also accepted under `rules:`; applies to secrets too
//!   - /var/cache/**
//!   - "*.pyc"
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use globset::{Candidate, GlobBuilder, GlobSet, GlobSetBuilder};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::rules::{
    normalize_key, parse_threshold, RawScalar, RuleId, RuleOverrides, RuleSet, ThresholdError,
};
use crate::escape::escape_str;

/// Files looked up in the working directory, first match wins.
pub const LAYERSCOPE_CONFIG_NAMES: [&str; 2] = [".layerscope-ci.yaml", ".layerscope-ci.yml"];
/// dive's CI config file name.
pub const DIVE_CONFIG_NAME: &str = ".dive-ci";

/// Config errors; all map to exit code 2. `Display` is a single line naming the
/// file (and line when known) and the key or flag.
#[derive(Debug, thiserror::Error)]
pub enum CiConfigError {
    #[error("{}: cannot read CI config: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: invalid YAML: {message}", .path.display())]
    Yaml { path: PathBuf, message: String },
    #[error("{}: {key}: {message}", at(.path, *.line))]
    InvalidValue {
        path: PathBuf,
        line: Option<u64>,
        /// Dotted key as written, e.g. `rules.lowestEfficiency`.
        key: String,
        message: String,
    },
    /// A rule's value in the file does not parse.
    #[error("{}: {key}: {source}", at(.path, *.line))]
    InvalidThreshold {
        path: PathBuf,
        line: Option<u64>,
        key: String,
        #[source]
        source: Box<ThresholdError>,
    },
    /// A CLI flag (`--exclude`) has a bad value.
    #[error("{flag}: {message}")]
    InvalidFlag { flag: String, message: String },
    /// A rule's CLI flag (`--lowest-efficiency`) has a bad value.
    #[error("{flag}: {source}")]
    InvalidThresholdFlag {
        flag: String,
        #[source]
        source: Box<ThresholdError>,
    },
}

fn at(path: &Path, line: Option<u64>) -> String {
    match line {
        Some(l) => format!("{}:{l}", path.display()),
        None => path.display().to_string(),
    }
}

/// Where the effective config came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// No file: dive's defaults.
    Defaults,
    /// `--config FILE`.
    Explicit(PathBuf),
    /// `.layerscope-ci.yaml` (or `.yml`) found in the directory.
    Layerscope(PathBuf),
    /// dive's `.dive-ci` found in the directory.
    Dive(PathBuf),
}

impl ConfigSource {
    pub fn path(&self) -> Option<&Path> {
        match self {
            ConfigSource::Defaults => None,
            ConfigSource::Explicit(p) | ConfigSource::Layerscope(p) | ConfigSource::Dive(p) => {
                Some(p)
            }
        }
    }
}

impl From<CiConfigError> for crate::error::Error {
    fn from(error: CiConfigError) -> Self {
        crate::error::Error::Settings(Box::new(error))
    }
}

// A rule's flag that does not parse is a config error, so the overrides are applied here,
// where that error is defined (rules.rs knows only thresholds).
impl RuleSet {
    /// Applies CLI flag values (same syntax as the config file); flags win over the file.
    pub fn apply_overrides(&mut self, overrides: &RuleOverrides) -> Result<(), CiConfigError> {
        for rule in RuleId::ALL {
            if let Some(text) = overrides.get(rule) {
                let value = parse_threshold(rule, RawScalar::Text(text)).map_err(|source| {
                    CiConfigError::InvalidThresholdFlag {
                        flag: format!("--{}", rule.name()),
                        source: Box::new(source),
                    }
                })?;
                self.set(rule, value);
            }
        }
        Ok(())
    }
}

/// The effective CI configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct CiConfig {
    pub rules: RuleSet,
    /// Exclude globs from the file (CLI globs are added by [`CiConfig::path_filter`]).
    pub exclude: Vec<String>,
    pub source: ConfigSource,
    /// Non-fatal problems (unknown keys, shadowed files), to print on stderr.
    pub warnings: Vec<String>,
    /// `fleet:`'s limits, which `layerscope fleet` reads (`ci` ignores them).
    pub fleet: FleetLimits,
}

/// The limits of a set of images (`fleet:` in the config, `--max-pull`/`--max-unique`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FleetLimits {
    /// Bytes a fresh node may pull for the whole set.
    pub max_pull: Option<u64>,
    /// Bytes of its own (unique) any one image may add.
    pub max_unique: Option<u64>,
}

impl Default for CiConfig {
    fn default() -> Self {
        CiConfig {
            rules: RuleSet::default(),
            exclude: Vec::new(),
            source: ConfigSource::Defaults,
            warnings: Vec::new(),
            fleet: FleetLimits::default(),
        }
    }
}

impl CiConfig {
    /// Resolves and loads the config: `explicit` (relative paths are taken from
    /// `dir`; a missing explicit file is an error), else the first of
    /// `.layerscope-ci.yaml`, `.layerscope-ci.yml`, `.dive-ci` in `dir`, else defaults.
    pub fn load(explicit: Option<&Path>, dir: &Path) -> Result<CiConfig, CiConfigError> {
        if let Some(p) = explicit {
            let path = dir.join(p);
            return Self::from_file(&path, ConfigSource::Explicit(path.clone()));
        }
        let candidates: Vec<(PathBuf, bool)> = LAYERSCOPE_CONFIG_NAMES
            .iter()
            .map(|n| (dir.join(n), false))
            .chain([(dir.join(DIVE_CONFIG_NAME), true)])
            .filter(|(p, _)| p.is_file())
            .collect();
        let Some((path, is_dive)) = candidates.first().cloned() else {
            return Ok(CiConfig::default());
        };
        let source = if is_dive {
            ConfigSource::Dive(path.clone())
        } else {
            ConfigSource::Layerscope(path.clone())
        };
        let mut config = Self::from_file(&path, source)?;
        for (ignored, _) in &candidates[1..] {
            config.warnings.push(format!(
                "{}: ignored, {} takes precedence",
                ignored.display(),
                path.display()
            ));
        }
        Ok(config)
    }

    fn from_file(path: &Path, source: ConfigSource) -> Result<CiConfig, CiConfigError> {
        let bytes = std::fs::read(path).map_err(|source| CiConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|_| CiConfigError::Yaml {
            path: path.to_owned(),
            message: "file is not UTF-8".into(),
        })?;
        Self::from_yaml_str(&text, path, source)
    }

    /// Parses config text; `path` is only used in messages.
    pub fn from_yaml_str(
        text: &str,
        path: &Path,
        source: ConfigSource,
    ) -> Result<CiConfig, CiConfigError> {
        let options = serde_saphyr::options! {
            // Let NaN/Inf reach our validation, which names the key.
            non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::PassThrough,
        };
        let root: Option<Spanned<Raw>> = serde_saphyr::from_str_with_options(text, options)
            .map_err(|e| CiConfigError::Yaml {
                path: path.to_owned(),
                message: one_line_yaml_error(&e),
            })?;
        let mut config = CiConfig {
            source,
            ..CiConfig::default()
        };
        if let Some(root) = root {
            Interpreter {
                path,
                config: &mut config,
                seen: Vec::new(),
            }
            .top_level(root)?;
        }
        Ok(config)
    }

    /// Applies CLI rule flags on top of the file's values.
    pub fn apply_overrides(&mut self, overrides: &RuleOverrides) -> Result<(), CiConfigError> {
        self.rules.apply_overrides(overrides)
    }

    /// The exclusion filter for the analysis: the file's globs plus `cli_globs`
    /// (from repeatable `--exclude`; CLI globs add to, not replace, the file's).
    pub fn path_filter(&self, cli_globs: &[String]) -> Result<PathFilter, CiConfigError> {
        for g in cli_globs {
            PathFilter::new([g]).map_err(|e| CiConfigError::InvalidFlag {
                flag: "--exclude".into(),
                message: glob_error(g, &e),
            })?;
        }
        let all = self.exclude.iter().chain(cli_globs);
        // The file's globs were validated at load time.
        PathFilter::new(all).map_err(|e| CiConfigError::InvalidFlag {
            flag: "--exclude".into(),
            message: e.to_string(),
        })
    }
}

fn glob_error(glob: &str, err: &globset::Error) -> String {
    format!(
        "invalid glob \"{}\": {}",
        escape_str(glob),
        escape_str(&err.kind().to_string())
    )
}

pub(crate) fn one_line_yaml_error(e: &serde_saphyr::Error) -> String {
    // The user formatter avoids advice about library options; no snippet keeps it one line.
    let plain = e.render_with_options(serde_saphyr::render_options! {
        formatter: &serde_saphyr::UserMessageFormatter,
        snippets: serde_saphyr::SnippetMode::Off,
    });
    let first = plain.lines().next().unwrap_or("").trim();
    escape_str(first).into_owned()
}

/// A mapping's entries, in the file's order.
type Entries = Vec<(Raw, Spanned<Raw>)>;

/// Untyped YAML, enough to validate keys ourselves (and so warn, not fail, on
/// unknown ones). Numbers are kept as decimal text and parsed by the rule.
#[derive(Debug)]
enum Raw {
    Null,
    Bool(bool),
    Text(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Raw, Spanned<Raw>)>),
}

impl Raw {
    fn describe(&self) -> &'static str {
        match self {
            Raw::Null => "an empty value",
            Raw::Bool(_) => "a boolean",
            Raw::Text(_) => "a scalar",
            Raw::Seq(_) => "a list",
            Raw::Map(_) => "a mapping",
        }
    }

    fn key_text(&self) -> String {
        match self {
            Raw::Null => "null".into(),
            Raw::Bool(b) => b.to_string(),
            Raw::Text(t) => t.clone(),
            Raw::Seq(_) | Raw::Map(_) => "<complex key>".into(),
        }
    }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Text(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Raw, E> {
        Ok(Raw::Text(v.to_string()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Raw, E> {
        Ok(Raw::Text(v.to_string()))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Raw, E> {
        Ok(Raw::Text(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
        // Display gives the shortest round-trip form (0.95, 1500000), NaN/inf stay
        // recognisable and are rejected by the threshold parser.
        Ok(Raw::Text(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Text(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Text(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Raw>()? {
            if matches!(key, Raw::Seq(_) | Raw::Map(_)) {
                return Err(de::Error::custom("complex mapping keys are not supported"));
            }
            entries.push((key, map.next_value()?));
        }
        Ok(Raw::Map(entries))
    }
}

/// Walks the parsed document into a [`CiConfig`].
struct Interpreter<'a> {
    path: &'a Path,
    config: &'a mut CiConfig,
    /// Rules already set, with the key spelling used, to reject `lowestEfficiency`
    /// and `lowest-efficiency` both being present.
    seen: Vec<(RuleId, String)>,
}

impl Interpreter<'_> {
    fn error(&self, key: &str, line: u64, message: String) -> CiConfigError {
        CiConfigError::InvalidValue {
            path: self.path.to_owned(),
            line: (line > 0).then_some(line),
            key: escape_str(key).into_owned(),
            message,
        }
    }

    fn top_level(&mut self, root: Spanned<Raw>) -> Result<(), CiConfigError> {
        let Some(entries) = self.mapping("(top level)", root, "a mapping with `rules:`")? else {
            return Ok(());
        };
        for (key, value) in entries {
            let key = key.key_text();
            match normalize_key(&key).as_str() {
                "rules" => self.rules(&key, value)?,
                "exclude" => self.exclude(&key, value)?,
                // The on/off switch of secret scanning reads naturally at the top level
                // too (`secrets: disabled`); under `rules:` it is a rule like the others.
                "secrets" => self.rule(RuleId::Secrets, &key, value)?,
                "fleet" => self.fleet(&key, value)?,
                _ => self.warn_unknown(&key, value.referenced.line()),
            }
        }
        Ok(())
    }

    fn rules(&mut self, section: &str, value: Spanned<Raw>) -> Result<(), CiConfigError> {
        let Some(entries) = self.mapping(section, value, "a mapping of rules")? else {
            return Ok(());
        };
        for (key, value) in entries {
            let key = key.key_text();
            let dotted = format!("{section}.{key}");
            let line = value.referenced.line();
            if normalize_key(&key) == "exclude" {
                self.exclude(&dotted, value)?;
                continue;
            }
            let Some(rule) = RuleId::from_key(&key) else {
                self.warn_unknown(&dotted, line);
                continue;
            };
            self.rule(rule, &dotted, value)?;
        }
        Ok(())
    }

    /// One threshold, written as `dotted` (`rules.lowestEfficiency`, or `secrets` at the
    /// top level); a rule set twice, in any spelling or place, is an error.
    fn rule(
        &mut self,
        rule: RuleId,
        dotted: &str,
        value: Spanned<Raw>,
    ) -> Result<(), CiConfigError> {
        let line = value.referenced.line();
        if let Some((_, first)) = self.seen.iter().find(|(r, _)| *r == rule) {
            return Err(self.error(
                dotted,
                line,
                format!("rule already set as `{}`", escape_str(first)),
            ));
        }
        self.seen.push((rule, dotted.to_owned()));
        let scalar = match &value.value {
            Raw::Null => RawScalar::Null,
            Raw::Bool(b) => RawScalar::Bool(*b),
            Raw::Text(t) => RawScalar::Text(t),
            other => {
                return Err(self.error(
                    dotted,
                    line,
                    format!("expected a single value, found {}", other.describe()),
                ))
            }
        };
        let threshold =
            parse_threshold(rule, scalar).map_err(|source| CiConfigError::InvalidThreshold {
                path: self.path.to_owned(),
                line: (line > 0).then_some(line),
                key: escape_str(dotted).into_owned(),
                source: Box::new(source),
            })?;
        self.config.rules.set(rule, threshold);
        Ok(())
    }

    /// The entries of a mapping (`None` for an empty value); anything else is an error
    /// saying what was `expected`.
    fn mapping(
        &self,
        section: &str,
        value: Spanned<Raw>,
        expected: &str,
    ) -> Result<Option<Entries>, CiConfigError> {
        let line = value.referenced.line();
        match value.value {
            Raw::Null => Ok(None),
            Raw::Map(entries) => Ok(Some(entries)),
            other => Err(self.error(
                section,
                line,
                format!("expected {expected}, found {}", other.describe()),
            )),
        }
    }

    /// `fleet:` takes `max-pull` and `max-unique`, each a size (`500MB`, `1.5 GiB`, bytes).
    fn fleet(&mut self, section: &str, value: Spanned<Raw>) -> Result<(), CiConfigError> {
        let Some(entries) = self.mapping(section, value, "a mapping of fleet limits")? else {
            return Ok(());
        };
        for (key, value) in entries {
            let key = key.key_text();
            let dotted = format!("{section}.{key}");
            let line = value.referenced.line();
            let pull = match normalize_key(&key).as_str() {
                "maxpull" => true,
                "maxunique" => false,
                _ => {
                    self.warn_unknown(&dotted, line);
                    continue;
                }
            };
            let Raw::Text(text) = &value.value else {
                return Err(self.error(
                    &dotted,
                    line,
                    format!("expected a size, found {}", value.value.describe()),
                ));
            };
            let bytes = super::rules::parse_bytes(text)
                .map_err(|reason| self.error(&dotted, line, reason.to_string()))?;
            let limits = &mut self.config.fleet;
            *(if pull {
                &mut limits.max_pull
            } else {
                &mut limits.max_unique
            }) = Some(bytes);
        }
        Ok(())
    }

    /// `exclude:` takes a list of globs or a single glob.
    fn exclude(&mut self, key: &str, value: Spanned<Raw>) -> Result<(), CiConfigError> {
        let items = match value.value {
            Raw::Null => Vec::new(),
            Raw::Seq(items) => items,
            scalar => vec![Spanned {
                value: scalar,
                referenced: value.referenced,
                defined: value.defined,
            }],
        };
        for item in items {
            let line = item.referenced.line();
            let Raw::Text(glob) = item.value else {
                return Err(self.error(
                    key,
                    line,
                    format!("expected a glob string, found {}", item.value.describe()),
                ));
            };
            PathFilter::new([&glob]).map_err(|e| self.error(key, line, glob_error(&glob, &e)))?;
            self.config.exclude.push(glob);
        }
        Ok(())
    }

    fn warn_unknown(&mut self, key: &str, line: u64) {
        let known: Vec<&str> = RuleId::ALL.iter().map(|r| r.dive_key()).collect();
        self.config.warnings.push(format!(
            "{}: unknown key `{}` ignored (rules: {}; and `exclude`, `secrets`, `fleet`)",
            at(self.path, (line > 0).then_some(line)),
            escape_str(key),
            known.join(", ")
        ));
    }
}

/// Decides which image paths the analysis leaves out.
///
/// Glob semantics (gitignore-like, `*` never crosses `/`, `**` does):
/// - a glob without `/` matches a name at any depth: `*.pyc`, `__pycache__`;
/// - a glob with `/` is anchored at the image root, leading `/` optional:
///   `var/cache/**` = `/var/cache/**`;
/// - a glob matching a directory also excludes everything below it:
///   `/var/cache` excludes `/var/cache/apt/pkgcache.bin`.
#[derive(Debug, Clone)]
pub struct PathFilter {
    set: GlobSet,
    globs: Vec<String>,
}

impl Default for PathFilter {
    fn default() -> Self {
        PathFilter {
            set: GlobSet::empty(),
            globs: Vec::new(),
        }
    }
}

impl PathFilter {
    /// Errors name the rewritten pattern; use `err.kind()` with your own text.
    pub fn new<I, S>(globs: I) -> Result<PathFilter, globset::Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut builder = GlobSetBuilder::new();
        let mut originals = Vec::new();
        for glob in globs {
            let glob = glob.as_ref();
            let anchored = anchor(glob);
            for pattern in [anchored.clone(), format!("{anchored}/**")] {
                builder.add(
                    GlobBuilder::new(&pattern)
                        .literal_separator(true)
                        .backslash_escape(true)
                        .build()?,
                );
            }
            originals.push(glob.to_owned());
        }
        Ok(PathFilter {
            set: builder.build()?,
            globs: originals,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.globs.is_empty()
    }

    /// The globs as the user wrote them.
    pub fn globs(&self) -> &[String] {
        &self.globs
    }

    /// `path` is an absolute image path (`/a/b`); `a/b`, `./a/b` and a trailing `/`
    /// are normalised too, since tar entries come in all of these forms.
    pub fn excludes(&self, path: &[u8]) -> bool {
        if self.globs.is_empty() {
            return false;
        }
        let trimmed = path.strip_prefix(b".").unwrap_or(path);
        let trimmed = match trimmed.strip_suffix(b"/") {
            Some(t) if !t.is_empty() => t,
            _ => trimmed,
        };
        let owned;
        let absolute = if trimmed.first() == Some(&b'/') {
            trimmed
        } else {
            owned = [b"/", trimmed].concat();
            &owned
        };
        self.set
            .is_match_candidate(&Candidate::from_bytes(absolute))
    }
}

/// Rewrites a user glob to match absolute paths (see [`PathFilter`]).
fn anchor(glob: &str) -> String {
    let g = glob.trim();
    let g = g.strip_prefix("./").unwrap_or(g);
    let g = match g.strip_suffix('/') {
        Some(t) if !t.is_empty() => t,
        _ => g,
    };
    if !g.contains('/') {
        format!("/**/{g}")
    } else if g.starts_with('/') {
        g.to_owned()
    } else {
        format!("/{g}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn parse(text: &str) -> Result<CiConfig, CiConfigError> {
        CiConfig::from_yaml_str(text, Path::new("cfg.yaml"), ConfigSource::Defaults)
    }

    #[test]
    fn fleet_limits_are_sizes_under_fleet() {
        let config = CiConfig::from_yaml_str(
            "fleet:\n  max-pull: 1.5 GB\n  maxUnique: 200MB\n  other: 1\n",
            Path::new("c.yaml"),
            ConfigSource::Defaults,
        )
        .unwrap();
        assert_eq!(config.fleet.max_pull, Some(1_500_000_000));
        assert_eq!(config.fleet.max_unique, Some(200_000_000));
        assert!(config.warnings[0].contains("fleet.other"));
        let bad = CiConfig::from_yaml_str(
            "fleet:\n  max-pull: lots\n",
            Path::new("c.yaml"),
            ConfigSource::Defaults,
        );
        assert!(bad.unwrap_err().to_string().contains("fleet.max-pull"));
    }

    #[test]
    fn real_dive_ci_file() {
        // The example from dive's README.
        let cfg = parse(
            "rules:\n  # If the efficiency is measured below X%, mark as failed.\n  \
             # Expressed as a ratio between 0-1.\n  lowestEfficiency: 0.95\n\n  \
             # If the amount of wasted space is at least X or larger than X, mark as failed.\n  \
             # Expressed in B, KB, MB, and GB.\n  highestWastedBytes: 20MB\n\n  \
             # If the amount of wasted space makes up for X% or more of the image, mark as failed.\n  \
             # Note: the base image layer is NOT included in the total image size.\n  \
             # Expressed as a ratio between 0-1; fails if the threshold is met or crossed.\n  \
             highestUserWastedPercent: 0.20\n",
        )
        .unwrap();
        assert_eq!(cfg.rules.lowest_efficiency, Some(0.95));
        assert_eq!(cfg.rules.highest_wasted_bytes, Some(20_000_000));
        assert_eq!(cfg.rules.highest_user_wasted_ratio, Some(0.2));
        assert_eq!(cfg.rules.highest_image_bytes, None);
        assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    }

    #[test]
    fn kebab_keys_and_new_rules() {
        let cfg = parse(
            "rules:\n  lowest-efficiency: 90%\n  highest-wasted-bytes: 1.5 GiB\n  \
             highest-user-wasted-percent: '0.3'\n  highest-image-bytes: 20000\n  \
             highest-layer-count: 12\n",
        )
        .unwrap();
        assert_eq!(cfg.rules.lowest_efficiency, Some(0.9));
        assert_eq!(cfg.rules.highest_wasted_bytes, Some(1_610_612_736));
        assert_eq!(cfg.rules.highest_user_wasted_ratio, Some(0.3));
        assert_eq!(cfg.rules.highest_image_bytes, Some(20_000));
        assert_eq!(cfg.rules.highest_layer_count, Some(12));
    }

    #[test]
    fn every_disable_spelling_in_yaml() {
        for value in [
            "disabled", "off", "false", "", "~", "null", "\"\"", "'off'", "Disabled",
        ] {
            let cfg = parse(&format!(
                "rules:\n  lowestEfficiency: {value}\n  highest-user-wasted-percent: {value}\n"
            ))
            .unwrap_or_else(|e| panic!("{value:?}: {e}"));
            assert_eq!(cfg.rules.lowest_efficiency, None, "{value:?}");
            assert_eq!(cfg.rules.highest_user_wasted_ratio, None, "{value:?}");
        }
    }

    #[test]
    fn bad_value_names_file_line_and_key() {
        let err = parse("rules:\n  lowestEfficiency: banana\n").unwrap_err();
        assert!(matches!(err, CiConfigError::InvalidThreshold { .. }));
        assert_eq!(
            err.to_string(),
            "cfg.yaml:2: rules.lowestEfficiency: invalid value \"banana\": expected a ratio \
             from 0 to 1 (0.1 or 10%), or `disabled`"
        );
        let err = parse("rules:\n  highestWastedBytes: 20 parsecs\n").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("cfg.yaml:2: rules.highestWastedBytes: "),
            "{msg}"
        );
        let err = parse("rules:\n  highestUserWastedPercent: 20\n").unwrap_err();
        assert!(err.to_string().contains("did you mean 20%?"), "{err}");
        let err = parse("rules:\n  lowestEfficiency: .nan\n").unwrap_err();
        assert!(err.to_string().contains("rules.lowestEfficiency"), "{err}");
        let err = parse("rules:\n  lowestEfficiency: [1]\n").unwrap_err();
        assert!(err.to_string().contains("expected a single value"), "{err}");
        let err = parse("rules:\n  lowestEfficiency: yes\n").unwrap_err();
        assert!(
            err.to_string().contains("`true` is not a threshold"),
            "{err}"
        );
    }

    #[test]
    fn errors_are_one_line() {
        for text in [
            "rules:\n  lowestEfficiency: \"ba\\nna\\x1bna\"\n",
            "rules: [\n",
            "rules:\n  a: 1\n  a: 2\n",
            "- just\n- a list\n",
        ] {
            let msg = parse(text).unwrap_err().to_string();
            assert!(!msg.contains('\n') && !msg.contains('\x1b'), "{msg:?}");
            assert!(msg.starts_with("cfg.yaml"), "{msg:?}");
        }
    }

    #[test]
    fn secrets_switch_at_the_top_level_or_under_rules() {
        assert_eq!(parse("").unwrap().rules.secrets, Some(0));
        for text in [
            "secrets: disabled\n",
            "secrets: false\n",
            "rules:\n  secrets: off\n",
        ] {
            let cfg = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(cfg.rules.secrets, None, "{text:?}");
            assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
        }
        assert_eq!(parse("secrets: 2\n").unwrap().rules.secrets, Some(2));
        assert_eq!(parse("secrets: enabled\n").unwrap().rules.secrets, Some(0));
        let err = parse("secrets: disabled\nrules:\n  secrets: 3\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "cfg.yaml:3: rules.secrets: rule already set as `secrets`"
        );
        let err = parse("secrets: lots\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cfg.yaml:1: secrets: invalid value"),
            "{err}"
        );
    }

    #[test]
    fn both_spellings_of_one_rule_is_an_error() {
        let err = parse("rules:\n  lowestEfficiency: 0.9\n  lowest-efficiency: 0.8\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("rules.lowest-efficiency"), "{msg}");
        assert!(msg.contains("rules.lowestEfficiency"), "{msg}");
    }

    #[test]
    fn unknown_keys_warn() {
        let cfg = parse("rules:\n  lowestEfficency: 0.5\nplain: true\n").unwrap();
        assert_eq!(cfg.rules, RuleSet::default());
        assert_eq!(cfg.warnings.len(), 2, "{:?}", cfg.warnings);
        assert!(cfg.warnings[0].contains("`rules.lowestEfficency`"));
        assert!(cfg.warnings[1].contains("`plain`"));
    }

    #[test]
    fn empty_file_and_empty_rules_give_defaults() {
        assert_eq!(parse("").unwrap().rules, RuleSet::default());
        assert_eq!(parse("# nothing\n").unwrap().rules, RuleSet::default());
        assert_eq!(parse("rules:\n").unwrap().rules, RuleSet::default());
    }

    #[test]
    fn exclude_top_level_and_under_rules() {
        let cfg = parse(
            "exclude:\n  - /var/cache/**\n  - '*.pyc'\nrules:\n  exclude: /tmp\n  lowestEfficiency: 0.5\n",
        )
        .unwrap();
        assert_eq!(cfg.exclude, ["/var/cache/**", "*.pyc", "/tmp"]);
        let err = parse("exclude:\n  - '[z-a'\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cfg.yaml:2: exclude: invalid glob"),
            "{err}"
        );
    }

    #[test]
    fn precedence_explicit_then_layerscope_then_dive_then_defaults() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_owned();
        assert_eq!(
            CiConfig::load(None, &dir).unwrap(),
            CiConfig::default(),
            "no file: defaults"
        );

        fs::write(dir.join(".dive-ci"), "rules:\n  lowestEfficiency: 0.5\n").unwrap();
        let cfg = CiConfig::load(None, &dir).unwrap();
        assert_eq!(cfg.rules.lowest_efficiency, Some(0.5));
        assert_eq!(cfg.source, ConfigSource::Dive(dir.join(".dive-ci")));

        fs::write(
            dir.join(".layerscope-ci.yaml"),
            "rules:\n  lowest-efficiency: 0.6\n",
        )
        .unwrap();
        let cfg = CiConfig::load(None, &dir).unwrap();
        assert_eq!(cfg.rules.lowest_efficiency, Some(0.6));
        assert_eq!(
            cfg.source,
            ConfigSource::Layerscope(dir.join(".layerscope-ci.yaml"))
        );
        assert_eq!(cfg.warnings.len(), 1);
        assert!(cfg.warnings[0].contains(".dive-ci: ignored"));

        fs::write(dir.join("custom.yaml"), "rules:\n  lowestEfficiency: 0.7\n").unwrap();
        let mut cfg = CiConfig::load(Some(Path::new("custom.yaml")), &dir).unwrap();
        assert_eq!(cfg.rules.lowest_efficiency, Some(0.7));
        assert_eq!(cfg.source, ConfigSource::Explicit(dir.join("custom.yaml")));

        // CLI beats the file.
        cfg.apply_overrides(&RuleOverrides {
            lowest_efficiency: Some("0.8".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(cfg.rules.lowest_efficiency, Some(0.8));

        let err = CiConfig::load(Some(Path::new("missing.yaml")), &dir).unwrap_err();
        assert!(matches!(err, CiConfigError::Read { .. }));
        assert!(err.to_string().contains("missing.yaml"));
    }

    #[test]
    fn path_filter_semantics() {
        let f = PathFilter::new(["/var/cache", "*.pyc", "usr/share/doc/**", "tmp/"]).unwrap();
        assert!(f.excludes(b"/var/cache"));
        assert!(f.excludes(b"/var/cache/apt/pkgcache.bin"));
        assert!(!f.excludes(b"/var/cached"));
        assert!(f.excludes(b"/x.pyc"));
        assert!(f.excludes(b"/usr/lib/python3/a/b.pyc"));
        assert!(f.excludes(b"/usr/share/doc/bash/README"));
        assert!(!f.excludes(b"/usr/share/docs"));
        // Like gitignore, a trailing `/` does not anchor: `tmp/` is a name anywhere.
        assert!(f.excludes(b"/tmp/x"));
        assert!(f.excludes(b"/var/tmp/x"));
        let anchored = PathFilter::new(["/tmp"]).unwrap();
        assert!(anchored.excludes(b"/tmp/x"));
        assert!(!anchored.excludes(b"/var/tmp/x"));
        // Relative, ./ and trailing-slash forms of tar entries.
        assert!(f.excludes(b"var/cache/x"));
        assert!(f.excludes(b"./var/cache/x"));
        assert!(f.excludes(b"var/cache/"));
        // `*` stays within one component.
        let g = PathFilter::new(["/opt/*.bin"]).unwrap();
        assert!(g.excludes(b"/opt/a.bin"));
        assert!(!g.excludes(b"/opt/sub/a.bin"));
        // Non-UTF-8 names still match.
        assert!(f.excludes(b"/var/cache/\xff\xfe"));
        assert!(!PathFilter::default().excludes(b"/anything"));
    }

    #[test]
    fn path_filter_merges_cli_globs_and_rejects_bad_ones() {
        let cfg = parse("exclude: ['/a']\n").unwrap();
        let f = cfg.path_filter(&["/b".to_owned()]).unwrap();
        assert_eq!(f.globs(), ["/a", "/b"]);
        assert!(f.excludes(b"/a/x") && f.excludes(b"/b/x"));
        let err = cfg.path_filter(&["{a".to_owned()]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("--exclude: invalid glob \"{a\""),
            "{err}"
        );
    }
}
