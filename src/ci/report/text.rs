//! Human-readable report for terminals and CI logs.

use std::fmt::Write as _;

use super::{
    hint_bytes_phrase, hint_paths, short_instruction, sorted_paths, version_phrase, TextStyle,
};
use crate::ci::rules::{fmt_percent, RuleOutcome, RuleStatus, Tally};
use crate::ci::CiInput;
use crate::escape::escape_str;
use crate::size::human;

const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[1;31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// Wraps `text` in an SGR code when colour is on. `text` must already be escaped.
fn paint(style: &TextStyle, code: &str, text: &str) -> String {
    if style.color {
        format!("{code}{text}{RESET}")
    } else {
        text.to_owned()
    }
}

pub fn render(input: &CiInput, outcomes: &[RuleOutcome], style: &TextStyle) -> String {
    let mut out = String::new();
    let p = |code, text: &str| paint(style, code, text);

    let _ = writeln!(
        out,
        "{} {}",
        p(BOLD, "layerscope ci:"),
        escape_str(&input.image)
    );
    let mut source = escape_str(&input.source_format).into_owned();
    if let Some(platform) = &input.platform {
        let _ = write!(source, ", {}", escape_str(platform));
    }
    let _ = writeln!(out, "  source:       {source}");
    let _ = writeln!(
        out,
        "  efficiency:   {} ({} score)",
        fmt_percent(input.efficiency),
        input.score_kind.as_str()
    );
    let _ = writeln!(
        out,
        "  wasted:       {} ({} bytes)",
        human(input.wasted_bytes),
        input.wasted_bytes
    );
    let _ = writeln!(
        out,
        "  user wasted:  {} of {} ({} bytes) added above the base layer",
        fmt_percent(input.user_wasted_ratio),
        human(input.user_bytes),
        input.user_bytes
    );
    let _ = writeln!(
        out,
        "  image size:   {} ({} bytes) of layer content in {} layers",
        human(input.total_bytes),
        input.total_bytes,
        input.layer_count
    );
    if let Some(dockerfile) = &input.dockerfile {
        let _ = writeln!(out, "  {}", super::dockerfile_phrase(dockerfile));
    }

    let paths = sorted_paths(input);
    let shown = paths.len().min(style.max_paths);
    out.push('\n');
    if paths.is_empty() {
        let _ = writeln!(out, "{}", p(BOLD, "Inefficient paths: none"));
    } else {
        let _ = writeln!(
            out,
            "{}",
            p(
                BOLD,
                &format!("Inefficient paths (top {shown} of {}):", paths.len())
            )
        );
    }
    for path in &paths[..shown] {
        let _ = writeln!(
            out,
            "  {} wasted, {} versions: {}",
            human(path.wasted_bytes),
            path.count,
            escape_str(&path.path)
        );
        for v in &path.versions {
            let _ = writeln!(
                out,
                "    {}",
                p(
                    DIM,
                    &format!(
                        "layer {} `{}` {}",
                        v.layer,
                        short_instruction(v.instruction.as_deref(), 60),
                        version_phrase(v)
                    )
                )
            );
        }
    }

    out.push('\n');
    if input.hints.is_empty() {
        let _ = writeln!(out, "{}", p(BOLD, "Hints: none"));
    } else {
        let shown = input.hints.len().min(style.max_paths);
        let saved = crate::analysis::hints::image_bytes_saved(&input.hints);
        let _ = writeln!(
            out,
            "{}",
            p(
                BOLD,
                &format!(
                    "Hints (top {shown} of {}; together they save {} ({saved} bytes); hints never change the score):",
                    input.hints.len(),
                    human(saved)
                )
            )
        );
    }
    for hint in input.hints.iter().take(style.max_paths) {
        // Summaries and fixes are layerscope's own text; escaping is belt and braces.
        let _ = writeln!(
            out,
            "  {} [{}] {}: {} ({})",
            hint.kind.name(),
            hint.place(),
            hint_bytes_phrase(hint),
            escape_str(&hint.summary),
            hint.bytes
        );
        if !hint.paths.is_empty() {
            let paths = format!("paths: {}", hint_paths(hint, 5));
            let _ = writeln!(out, "    {}", p(DIM, &paths));
        }
        let _ = writeln!(out, "    fix: {}", escape_str(&hint.fix));
    }

    out.push('\n');
    secrets(&mut out, input, style);

    if !input.warnings.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "{}", p(BOLD, "Warnings:"));
        for w in &input.warnings {
            let _ = writeln!(out, "  {}", p(YELLOW, &escape_str(w)));
        }
    }

    out.push('\n');
    let _ = writeln!(out, "{}", p(BOLD, "Rules:"));
    for o in outcomes {
        let label = match o.status {
            RuleStatus::Pass => p(GREEN, "PASS"),
            RuleStatus::Fail => p(RED, "FAIL"),
            RuleStatus::Skip => p(YELLOW, "SKIP"),
        };
        // Rule messages are built from numbers only; escaping is belt and braces.
        let _ = writeln!(
            out,
            "  {label}  {}: {}",
            o.rule.name(),
            escape_str(&o.message)
        );
    }

    let tally = Tally::of(outcomes);
    let verdict = if tally.pass() {
        p(GREEN, "Result: PASS")
    } else {
        p(RED, "Result: FAIL")
    };
    let _ = writeln!(
        out,
        "\n{verdict} ({} passed, {} failed, {} skipped)",
        tally.passed, tally.failed, tally.skipped
    );
    out
}

/// The secret findings, at most `style.max_paths` of them. Previews are redacted; paths
/// and instructions are escaped.
fn secrets(out: &mut String, input: &CiInput, style: &TextStyle) {
    let p = |code, text: &str| paint(style, code, text);
    let Some(found) = &input.secrets else {
        let _ = writeln!(
            out,
            "{}",
            p(
                BOLD,
                "Secrets: not scanned (the `secrets` rule is disabled)"
            )
        );
        return;
    };
    if found.is_empty() {
        let _ = writeln!(out, "{}", p(BOLD, "Secrets: none"));
        return;
    }
    let hidden = found.iter().filter(|f| f.hidden_later()).count();
    let shown = found.len().min(style.max_paths);
    let _ = writeln!(
        out,
        "{}",
        p(
            BOLD,
            &format!(
                "Secrets (top {shown} of {}{}; values redacted):",
                found.len(),
                if hidden > 0 {
                    format!(", {hidden} deleted or overwritten later but still shipped")
                } else {
                    String::new()
                }
            )
        )
    );
    for finding in &found[..shown] {
        let preview = if finding.preview.is_empty() {
            String::new()
        } else {
            format!(" [{}]", escape_str(&finding.preview))
        };
        let _ = writeln!(
            out,
            "  {} ({}): {}{preview}",
            p(RED, finding.rule),
            finding.severity.name(),
            finding.place()
        );
        let _ = writeln!(
            out,
            "    {}",
            p(
                DIM,
                &format!(
                    "{} ({}): {}",
                    finding.title,
                    finding.evidence.phrase(),
                    escape_str(&finding.description)
                )
            )
        );
        let _ = writeln!(out, "    fix: {}", finding.fix);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::rules::{evaluate, RuleSet};
    use crate::ci::testutil::sample_input;

    fn style(color: bool) -> TextStyle {
        TextStyle {
            color,
            max_paths: 10,
        }
    }

    #[test]
    fn explains_each_version_and_every_rule() {
        let input = sample_input();
        let out = render(
            &input,
            &evaluate(&RuleSet::default(), &input),
            &style(false),
        );
        assert!(
            out.contains("efficiency:   95.00% (layerscope score)"),
            "{out}"
        );
        assert!(
            out.contains("wasted:       1.0 MB (1000000 bytes)"),
            "{out}"
        );
        assert!(
            out.contains("1.0 MB wasted, 2 versions: /opt/big.bin"),
            "{out}"
        );
        assert!(
            out.contains("layer 1 `RUN apt-get install -y foo` added 1.0 MB"),
            "{out}"
        );
        assert!(
            out.contains("layer 2 `RUN rm /opt/big.bin` deleted it"),
            "{out}"
        );
        assert!(
            out.contains(
                "  deleted-later [layers 1, 2; Dockerfile lines 4, 5] saves 1.0 MB: layer 1 adds \
                 files that layer 2 deletes (1000000)\n    paths: /opt/big.bin\n    fix: delete \
                 them in the same RUN that creates them\n"
            ),
            "{out}"
        );
        assert!(out.contains("  PASS  lowest-efficiency: image efficiency 0.95 >= threshold 0.9"));
        assert!(out.contains("  SKIP  highest-layer-count: disabled"));
        assert!(out
            .trim_end()
            .ends_with("Result: PASS (3 passed, 0 failed, 3 skipped)"));
        assert!(out.contains("\nSecrets: none\n"), "{out}");
        assert!(out.contains(
            "  PASS  secrets: no secrets found in any layer or the config (threshold 0)"
        ));
    }

    #[test]
    fn colour_off_means_no_escape_bytes() {
        let mut input = sample_input();
        input.efficiency = 0.1;
        input.inefficient[0].path = "/x/\x1b[31mred".into();
        let out = render(
            &input,
            &evaluate(&RuleSet::default(), &input),
            &style(false),
        );
        assert!(!out.contains('\x1b'), "{out}");
        assert!(out.contains("/x/\\x1b[31mred"));
        assert!(out.contains("  FAIL  lowest-efficiency"));
        assert!(out.contains("Result: FAIL (2 passed, 1 failed, 3 skipped)"));
    }

    #[test]
    fn secrets_are_listed_with_what_still_ships() {
        let mut input = sample_input();
        input.secrets = Some(vec![crate::ci::testutil::sample_secret()]);
        let out = render(
            &input,
            &evaluate(&RuleSet::default(), &input),
            &style(false),
        );
        assert!(
            out.contains(
                "Secrets (top 1 of 1, 1 deleted or overwritten later but still shipped; values \
                 redacted):\n  private-key (critical): /root/.ssh/id_rsa\n    private key (by its \
                 name): added by layer 1; deleted by layer 2, but still shipped in layer 1\n    fix: "
            ),
            "{out}"
        );
        assert!(out.contains("  FAIL  secrets: 1 secret finding exceeds the threshold 0"));
        input.secrets = None;
        let out = render(&input, &[], &style(false));
        assert!(
            out.contains("Secrets: not scanned (the `secrets` rule is disabled)"),
            "{out}"
        );
    }

    #[test]
    fn colour_on_paints_labels_only() {
        let mut input = sample_input();
        input.efficiency = 0.1;
        let out = render(&input, &evaluate(&RuleSet::default(), &input), &style(true));
        assert!(
            out.contains("\x1b[1;31mFAIL\x1b[0m  lowest-efficiency"),
            "{out}"
        );
        assert!(out.contains("\x1b[32mPASS\x1b[0m"), "{out}");
    }

    #[test]
    fn top_paths_are_limited() {
        let mut input = sample_input();
        let extra = input.inefficient[0].clone();
        for i in 0..5 {
            let mut p = extra.clone();
            p.path = format!("/p{i}");
            p.wasted_bytes = i;
            input.inefficient.push(p);
        }
        let s = TextStyle {
            color: false,
            max_paths: 2,
        };
        let out = render(&input, &[], &s);
        assert!(out.contains("Inefficient paths (top 2 of 6):"), "{out}");
        assert!(out.contains("/opt/big.bin") && out.contains("/p4"));
        assert!(!out.contains("/p3"));
    }

    #[test]
    fn nan_and_inf_print_like_dive() {
        let mut input = sample_input();
        input.efficiency = f64::NAN;
        input.user_wasted_ratio = f64::INFINITY;
        let out = render(&input, &[], &style(false));
        assert!(out.contains("efficiency:   NaN"), "{out}");
        assert!(out.contains("user wasted:  +Inf of"), "{out}");
    }
}
