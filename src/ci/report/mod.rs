//! Reporters. Every format renders the same `&[RuleOutcome]`, so choosing a format
//! can never skip or change rule evaluation.
//!
//! Strings from the image (paths, history, tags) are untrusted: every reporter
//! escapes them for its medium (terminal controls, XML, GitHub commands, Markdown).

pub mod github;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod text;

use std::str::FromStr;

use super::rules::RuleOutcome;
use super::{CiInput, PathEvent, PathVersion, WastedPath};
use crate::escape::escape_str;
use crate::size::human;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReportFormat {
    #[default]
    Text,
    Json,
    Junit,
    Github,
    Markdown,
    Sarif,
}

impl ReportFormat {
    pub const ALL: [ReportFormat; 6] = [
        ReportFormat::Text,
        ReportFormat::Json,
        ReportFormat::Junit,
        ReportFormat::Github,
        ReportFormat::Markdown,
        ReportFormat::Sarif,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ReportFormat::Text => "text",
            ReportFormat::Json => "json",
            ReportFormat::Junit => "junit",
            ReportFormat::Github => "github",
            ReportFormat::Markdown => "markdown",
            ReportFormat::Sarif => "sarif",
        }
    }
}

impl FromStr for ReportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReportFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<_> = ReportFormat::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "unknown report format \"{}\" (expected one of: {})",
                    escape_str(s),
                    names.join(", ")
                )
            })
    }
}

/// Presentation options; only `text` uses colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextStyle {
    /// ANSI colour; the caller decides (stdout is a TTY and `NO_COLOR` unset).
    pub color: bool,
    /// How many inefficient paths the text, markdown and github reports list
    /// (json and junit's properties are complete regardless).
    pub max_paths: usize,
}

impl Default for TextStyle {
    fn default() -> Self {
        TextStyle {
            color: false,
            max_paths: 10,
        }
    }
}

/// Renders one report. The output ends with a newline.
pub fn render(
    format: ReportFormat,
    input: &CiInput,
    outcomes: &[RuleOutcome],
    style: &TextStyle,
) -> String {
    match format {
        ReportFormat::Text => text::render(input, outcomes, style),
        ReportFormat::Json => json::render(input, outcomes),
        ReportFormat::Junit => junit::render(input, outcomes),
        ReportFormat::Github => github::render(input, outcomes, style),
        ReportFormat::Markdown => markdown::render(input, outcomes, style),
        ReportFormat::Sarif => sarif::render(input, outcomes),
    }
}

/// Inefficient paths, most wasteful first (ties by path, for stable output).
pub(crate) fn sorted_paths(input: &CiInput) -> Vec<&WastedPath> {
    let mut paths: Vec<&WastedPath> = input.inefficient.iter().collect();
    paths.sort_by(|a, b| {
        b.wasted_bytes
            .cmp(&a.wasted_bytes)
            .then_with(|| a.path.cmp(&b.path))
    });
    paths
}

/// A history instruction, shortened to `max` characters and control-escaped.
pub(crate) fn short_instruction(instruction: Option<&str>, max: usize) -> String {
    let Some(text) = instruction else {
        return "(no history)".into();
    };
    // Docker prefixes shell-form RUNs with this; it only costs width.
    let text = text
        .trim()
        .strip_prefix("/bin/sh -c #(nop) ")
        .or_else(|| text.trim().strip_prefix("/bin/sh -c "))
        .unwrap_or(text.trim());
    let shortened = if text.chars().count() > max {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        text.to_owned()
    };
    escape_str(&shortened).into_owned()
}

/// The Dockerfile mapping in one line: `Dockerfile app/Dockerfile: base FROM alpine (1
/// layer); every line matched` or the unmatched lines and history entries. Escaped.
pub(crate) fn dockerfile_phrase(d: &crate::ci::DockerfileSummary) -> String {
    let list = |items: &[usize]| {
        items
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut phrase = format!(
        "Dockerfile {}: base FROM {} ({} layer{})",
        d.path,
        d.base_image,
        d.base_layers,
        if d.base_layers == 1 { "" } else { "s" }
    );
    if d.unmatched_lines.is_empty() && d.unmatched_history.is_empty() {
        phrase.push_str("; every line and history entry matched");
    }
    if !d.unmatched_lines.is_empty() {
        phrase.push_str(&format!(
            "; lines with no history entry: {}",
            list(&d.unmatched_lines)
        ));
    }
    if !d.unmatched_history.is_empty() {
        phrase.push_str(&format!(
            "; history entries with no line: {}",
            list(&d.unmatched_history)
        ));
    }
    escape_str(&phrase).into_owned()
}

/// What a layer did to the path, in words: `added 1.0 MB`, `deleted it`.
pub(crate) fn version_phrase(v: &PathVersion) -> String {
    match v.action {
        PathEvent::Deleted => "deleted it".into(),
        removal if removal.is_removal() => removal.as_str().into(),
        other => format!("{} {}", other.as_str(), human(v.size_bytes)),
    }
}

/// The paths of a hint, escaped and comma-separated, at most `max`, with a count of the rest.
pub(crate) fn hint_paths(hint: &crate::analysis::Hint, max: usize) -> String {
    let shown: Vec<String> = hint
        .paths
        .iter()
        .take(max)
        .map(|p| crate::escape::escape_bytes(p).into_owned())
        .collect();
    let mut out = shown.join(", ");
    let more = hint.path_count.saturating_sub(shown.len());
    if more > 0 {
        out.push_str(&format!(" (+{more} more)"));
    }
    out
}

/// What a hint's bytes mean, as a phrase after the number: image bytes are saved, a
/// cache-busting order's bytes are rebuilt on every source change.
pub(crate) fn hint_bytes_phrase(hint: &crate::analysis::Hint) -> String {
    if hint.kind.saves_image_bytes() {
        format!("saves {}", human(hint.bytes))
    } else {
        format!("{} rebuilt on every source change", human(hint.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::rules::{evaluate, RuleSet};
    use crate::ci::testutil::sample_input;

    #[test]
    fn format_names_round_trip() {
        for f in ReportFormat::ALL {
            assert_eq!(f.name().parse::<ReportFormat>(), Ok(f));
        }
        assert_eq!("JSON".parse::<ReportFormat>(), Ok(ReportFormat::Json));
        assert!("yaml".parse::<ReportFormat>().is_err());
    }

    #[test]
    fn instructions_are_shortened_and_escaped() {
        assert_eq!(
            short_instruction(Some("/bin/sh -c apt-get update"), 40),
            "apt-get update"
        );
        assert_eq!(short_instruction(Some("RUN abcdef"), 6), "RUN a…");
        assert_eq!(short_instruction(Some("RUN \x1b[2J"), 40), "RUN \\x1b[2J");
        assert_eq!(short_instruction(None, 40), "(no history)");
    }

    /// Hostile names must never reach any human-facing output raw.
    #[test]
    fn no_format_emits_raw_escape_sequences() {
        let mut input = sample_input();
        input.image = "evil\x1b[31mred:tag".into();
        input.inefficient[0].path = "/tmp/\x1b[31mred\n::error::pwned\u{9b}2J".into();
        input.inefficient[0].versions[0].instruction = Some("RUN \x1b[31mred\r\x07".into());
        input.warnings.push("warn \x1b[31mred".into());
        input.hints[0].paths[0] = b"/h/\x1b[31mred\n::error::pwned\xc2\x9b".to_vec();
        let outcomes = evaluate(&RuleSet::default(), &input);
        for format in ReportFormat::ALL {
            for color in [false, true] {
                let style = TextStyle {
                    color,
                    max_paths: 10,
                };
                let out = render(format, &input, &outcomes, &style);
                assert!(!out.contains("\x1b[31mred"), "{format:?}: {out}");
                assert!(!out.contains('\u{9b}'), "{format:?}");
                assert!(!out.contains('\x07'), "{format:?}");
                assert!(!out.contains("\n::error::pwned"), "{format:?}");
                assert!(out.ends_with('\n'), "{format:?}");
            }
        }
    }
}
