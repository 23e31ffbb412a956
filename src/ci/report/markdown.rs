//! Markdown for a job summary (`$GITHUB_STEP_SUMMARY`, GitLab MR notes, ...).

use std::fmt::Write as _;

use super::{
    hint_bytes_phrase, hint_paths, short_instruction, sorted_paths, version_phrase, TextStyle,
};
use crate::ci::rules::{fmt_percent, RuleOutcome, RuleStatus, Tally};
use crate::ci::CiInput;
use crate::escape::escape_str;
use crate::size::human;

pub fn render(input: &CiInput, outcomes: &[RuleOutcome], style: &TextStyle) -> String {
    let t = Tally::of(outcomes);
    let mut out = String::new();
    let (icon, verdict) = if t.pass() {
        ("✅", "passed")
    } else {
        ("❌", "failed")
    };
    let _ = writeln!(
        out,
        "## {icon} layerscope: {} {verdict}\n",
        md(&input.image)
    );

    out.push_str("| Metric | Value |\n| --- | --- |\n");
    let _ = writeln!(
        out,
        "| Efficiency | {} ({} score) |",
        fmt_percent(input.efficiency),
        input.score_kind.as_str()
    );
    let _ = writeln!(
        out,
        "| Wasted | {} ({} bytes) |",
        human(input.wasted_bytes),
        input.wasted_bytes
    );
    let _ = writeln!(
        out,
        "| User wasted | {} of {} |",
        fmt_percent(input.user_wasted_ratio),
        human(input.user_bytes)
    );
    let _ = writeln!(
        out,
        "| Image size | {} of layer content in {} layers |",
        human(input.total_bytes),
        input.layer_count
    );

    out.push_str("\n### Rules\n\n| | Rule | Threshold | Result |\n| --- | --- | --- | --- |\n");
    for o in outcomes {
        let icon = match o.status {
            RuleStatus::Pass => "✅",
            RuleStatus::Fail => "❌",
            RuleStatus::Skip => "⏭",
        };
        let threshold = o
            .threshold
            .map_or_else(|| "disabled".to_owned(), |m| md(&m.to_string()));
        let _ = writeln!(
            out,
            "| {icon} | {} | {threshold} | {} |",
            md(o.rule.name()),
            md(&o.message)
        );
    }

    let paths = sorted_paths(input);
    if !paths.is_empty() {
        let shown = paths.len().min(style.max_paths);
        let _ = writeln!(
            out,
            "\n### Top wasted paths ({shown} of {})\n\n| Wasted | Versions | Path | History |\n\
             | ---: | ---: | --- | --- |",
            paths.len()
        );
        for p in &paths[..shown] {
            let history: Vec<String> = p
                .versions
                .iter()
                .map(|v| {
                    md(&format!(
                        "layer {} {}: {}",
                        v.layer,
                        short_instruction(v.instruction.as_deref(), 40),
                        version_phrase(v)
                    ))
                })
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                human(p.wasted_bytes),
                p.count,
                md(&p.path),
                history.join("<br>")
            );
        }
    }

    if let Some(dockerfile) = &input.dockerfile {
        let _ = writeln!(out, "\n{}", md(&super::dockerfile_phrase(dockerfile)));
    }

    if !input.hints.is_empty() {
        let shown = input.hints.len().min(style.max_paths);
        let _ = writeln!(
            out,
            "\n### Hints ({shown} of {}; they never change the score)\n\n| Bytes | Kind | Where | What | Fix |\n\
             | ---: | --- | --- | --- | --- |",
            input.hints.len()
        );
        for hint in &input.hints[..shown] {
            let mut what = md(&hint.summary);
            if !hint.paths.is_empty() {
                what.push_str("<br>");
                what.push_str(&md(&hint_paths(hint, 5)));
            }
            let _ = writeln!(
                out,
                "| {} | {} | {} | {what} | {} |",
                md(&hint_bytes_phrase(hint)),
                hint.kind.name(),
                md(&hint.place()),
                ours(&hint.fix)
            );
        }
    }

    match &input.secrets {
        None => out.push_str("\n### Secrets\n\nNot scanned: the `secrets` rule is disabled.\n"),
        Some(found) if found.is_empty() => {
            out.push_str("\n### Secrets\n\nNone in any layer or in the config.\n")
        }
        Some(found) => {
            let shown = found.len().min(style.max_paths);
            let _ = writeln!(
                out,
                "\n### Secrets ({shown} of {}; values redacted)\n\n| Rule | Severity | Where | Preview | What | Fix |\n\
                 | --- | --- | --- | --- | --- | --- |",
                found.len()
            );
            for f in &found[..shown] {
                let preview = if f.preview.is_empty() {
                    String::new()
                } else {
                    md(&f.preview)
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {preview} | {} | {} |",
                    f.rule,
                    f.severity.name(),
                    md(&f.place()),
                    md(&f.description),
                    ours(f.fix)
                );
            }
        }
    }

    if !input.warnings.is_empty() {
        out.push_str("\n### Warnings\n\n");
        for w in &input.warnings {
            let w = md(w);
            // A leading `-`/`+` would open a nested list.
            let sep = if w.starts_with(['-', '+']) { "\\" } else { "" };
            let _ = writeln!(out, "- {sep}{w}");
        }
    }

    let _ = writeln!(
        out,
        "\n**Result: {}** ({} passed, {} failed, {} skipped)",
        if t.pass() { "PASS" } else { "FAIL" },
        t.passed,
        t.failed,
        t.skipped
    );
    out
}

/// Control-escapes, then backslash-escapes the punctuation that Markdown or GFM
/// would interpret anywhere in a table cell (emphasis, links, HTML, pipes, strikethrough, math
/// `$`, `@` mentions, `#` references), so a file name renders as exactly its text.
/// Line-start syntax (`-`, `+`, `1.`) cannot occur: cells never start a line.
fn md(s: &str) -> String {
    let escaped = escape_str(s);
    let mut out = String::with_capacity(escaped.len() + 8);
    for c in escaped.chars() {
        if "\\`*_[]<>#|~&$@".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// layerscope's own advice text, whose backticks are meant as code spans: only what could
/// break a table cell (pipes, line breaks) or reach the terminal raw is escaped.
fn ours(s: &str) -> String {
    escape_str(s).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::rules::{evaluate, RuleSet};
    use crate::ci::testutil::sample_input;

    #[test]
    fn summary_table_and_rules() {
        let mut input = sample_input();
        input.efficiency = 0.5;
        let out = render(
            &input,
            &evaluate(&RuleSet::default(), &input),
            &TextStyle::default(),
        );
        assert!(
            out.starts_with("## ❌ layerscope: example:latest failed\n"),
            "{out}"
        );
        assert!(
            out.contains("| Efficiency | 50.00% (layerscope score) |"),
            "{out}"
        );
        assert!(out.contains(
            "| ❌ | lowest-efficiency | 0.9 | image efficiency 0.5 is below the threshold 0.9 |"
        ));
        assert!(out.contains("| ⏭ | highest-wasted-bytes | disabled | disabled |"));
        assert!(out.contains("| 1.0 MB | 2 | /opt/big.bin | layer 1 RUN apt-get install -y foo: added 1.0 MB<br>layer 2 RUN rm /opt/big.bin: deleted it |"), "{out}");
        assert!(out.contains("| saves 1.0 MB | deleted-later | layers 1, 2; Dockerfile lines 4, 5 | layer 1 adds files that layer 2 deletes<br>/opt/big.bin | delete them in the same RUN that creates them |"), "{out}");
        assert!(out.contains("**Result: FAIL** (2 passed, 1 failed, 3 skipped)"));
        assert!(
            out.contains("| ✅ | secrets | 0 | no secrets found"),
            "{out}"
        );
        assert!(
            out.contains("### Secrets\n\nNone in any layer or in the config.\n"),
            "{out}"
        );
    }

    #[test]
    fn secrets_get_a_table() {
        let mut input = sample_input();
        input.secrets = Some(vec![crate::ci::testutil::sample_secret()]);
        let out = render(
            &input,
            &evaluate(&RuleSet::default(), &input),
            &TextStyle::default(),
        );
        assert!(
            out.contains("### Secrets (1 of 1; values redacted)"),
            "{out}"
        );
        assert!(out.contains(
            "| private-key | critical | /root/.ssh/id\\_rsa |  | added by layer 1; deleted by layer 2, but still shipped in layer 1 |"
        ), "{out}");
        assert!(
            out.contains("| ❌ | secrets | 0 | 1 secret finding exceeds the threshold 0"),
            "{out}"
        );
        input.secrets = None;
        let out = render(&input, &[], &TextStyle::default());
        assert!(
            out.contains("Not scanned: the `secrets` rule is disabled."),
            "{out}"
        );
    }

    #[test]
    fn hostile_names_cannot_break_the_table() {
        assert_eq!(md("a|b\nc"), "a\\|b\\\\x0ac");
        assert_eq!(md("<img src=x>"), "\\<img src=x\\>");
        assert_eq!(md("\x1b[31mred"), "\\\\x1b\\[31mred");
    }
}
