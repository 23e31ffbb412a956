//! GitHub Actions workflow commands: `::error` per failed rule, `::warning` per
//! analysis warning, one `::notice` with the summary and top wasted paths.

use std::fmt::Write as _;

use super::{hint_bytes_phrase, hint_paths, sorted_paths, TextStyle};
use crate::ci::rules::{fmt_percent, RuleOutcome, RuleStatus, Tally};
use crate::ci::CiInput;
use crate::escape::escape_str;
use crate::size::human;

pub fn render(input: &CiInput, outcomes: &[RuleOutcome], style: &TextStyle) -> String {
    let image = escape_str(&input.image);
    let mut out = String::new();
    for o in outcomes.iter().filter(|o| o.status == RuleStatus::Fail) {
        command(
            &mut out,
            "error",
            &format!("layerscope {}", o.rule.name()),
            &format!("{image}: {}", escape_str(&o.message)),
        );
    }
    for w in &input.warnings {
        command(
            &mut out,
            "warning",
            "layerscope",
            &format!("{image}: {}", escape_str(w)),
        );
    }

    if let Some(d) = &input.dockerfile {
        // Annotations on the Dockerfile itself, so the lines show in the diff view.
        let file = escape_property(&escape_str(&d.path));
        for line in &d.unmatched_lines {
            let _ = writeln!(
                out,
                "::warning file={file},line={line},title=layerscope::{}",
                escape_data(&format!("{image}: no history entry matches this line"))
            );
        }
    }

    // One annotation per secret, on its Dockerfile line when the Dockerfile is known.
    for f in input.secrets.iter().flatten().take(style.max_paths) {
        let preview = if f.preview.is_empty() {
            String::new()
        } else {
            format!(" [{}]", escape_str(&f.preview))
        };
        let message = format!(
            "{image}: {} at {}{preview}: {}. Fix: {}",
            f.title,
            f.place(),
            escape_str(&f.description),
            f.fix
        );
        let title = format!("layerscope secret {}", f.rule);
        match (&input.dockerfile, &f.dockerfile) {
            (Some(d), Some(line)) => {
                let _ = writeln!(
                    out,
                    "::error file={},line={},endLine={},title={}::{}",
                    escape_property(&escape_str(&d.path)),
                    line.line,
                    line.end_line.max(line.line),
                    escape_property(&title),
                    escape_data(&message)
                );
            }
            _ => command(&mut out, "error", &title, &message),
        }
    }

    for hint in input.hints.iter().take(style.max_paths) {
        let paths = if hint.paths.is_empty() {
            String::new()
        } else {
            format!(" Paths: {}.", hint_paths(hint, 5))
        };
        command(
            &mut out,
            "notice",
            &format!("layerscope hint {}", hint.kind.name()),
            &format!(
                "{image}: {} [{}]: {}.{paths} Fix: {}",
                hint_bytes_phrase(hint),
                hint.place(),
                escape_str(&hint.summary),
                escape_str(&hint.fix)
            ),
        );
    }

    let t = Tally::of(outcomes);
    let mut summary = format!(
        "{image}: {} - efficiency {}, wasted {} ({} bytes), user wasted {}; \
         {} passed, {} failed, {} skipped",
        if t.pass() { "PASS" } else { "FAIL" },
        fmt_percent(input.efficiency),
        human(input.wasted_bytes),
        input.wasted_bytes,
        fmt_percent(input.user_wasted_ratio),
        t.passed,
        t.failed,
        t.skipped
    );
    let paths = sorted_paths(input);
    if !paths.is_empty() {
        summary.push_str("\nTop wasted paths:");
        for p in paths.iter().take(style.max_paths) {
            let _ = write!(
                summary,
                "\n  {} ({} versions) {}",
                human(p.wasted_bytes),
                p.count,
                escape_str(&p.path)
            );
            let mut lines: Vec<usize> = p
                .versions
                .iter()
                .filter_map(|v| v.dockerfile_line)
                .collect();
            lines.dedup();
            if !lines.is_empty() {
                let lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                let _ = write!(summary, " (Dockerfile lines {})", lines.join(", "));
            }
        }
    }
    if let Some(d) = &input.dockerfile {
        let _ = write!(summary, "\n{}", super::dockerfile_phrase(d));
    }
    command(&mut out, "notice", "layerscope", &summary);
    out
}

/// Appends `::{name} title={title}::{message}`. Inputs must already be
/// control-escaped, so the only line breaks left are our own.
fn command(out: &mut String, name: &str, title: &str, message: &str) {
    let _ = writeln!(
        out,
        "::{name} title={}::{}",
        escape_property(title),
        escape_data(message)
    );
}

/// GitHub's escaping for a command's message: `%`, CR and LF.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub's escaping for a command property: as data, plus `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::rules::{evaluate, RuleSet};
    use crate::ci::testutil::sample_input;

    #[test]
    fn escaping_rules() {
        assert_eq!(escape_data("50% a\r\nb"), "50%25 a%0D%0Ab");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn failures_are_errors_and_summary_is_a_notice() {
        let mut input = sample_input();
        input.efficiency = 0.5;
        let out = render(
            &input,
            &evaluate(&RuleSet::default(), &input),
            &TextStyle::default(),
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert_eq!(
            lines[1],
            "::notice title=layerscope hint deleted-later::example:latest: saves 1.0 MB \
             [layers 1, 2; Dockerfile lines 4, 5]: layer 1 adds files that layer 2 deletes. \
             Paths: /opt/big.bin. Fix: delete them in the same RUN that creates them"
        );
        assert_eq!(
            lines[0],
            "::error title=layerscope lowest-efficiency::example:latest: image efficiency 0.5 \
             is below the threshold 0.9"
        );
        assert!(lines[2].starts_with(
            "::notice title=layerscope::example:latest: FAIL - efficiency 50.00%25, wasted 1.0 MB"
        ));
        assert!(lines[2].contains("%0ATop wasted paths:%0A  1.0 MB (2 versions) /opt/big.bin"));
    }

    #[test]
    fn secrets_are_errors_on_their_dockerfile_line() {
        let mut input = sample_input();
        let mut secret = crate::ci::testutil::sample_secret();
        secret.dockerfile = Some(crate::ci::DockerfileLine {
            line: 7,
            end_line: 7,
            stage: None,
            instruction: "COPY id_rsa /root/.ssh/id_rsa".into(),
        });
        input.secrets = Some(vec![secret.clone()]);
        let out = render(&input, &[], &TextStyle::default());
        // Without the Dockerfile, no file to put it on.
        assert!(out.contains(
            "::error title=layerscope secret private-key::example:latest: private key at /root/.ssh/id_rsa: \
             added by layer 1; deleted by layer 2, but still shipped in layer 1. Fix: "
        ), "{out}");
        input.dockerfile = Some(crate::ci::DockerfileSummary {
            path: "app/Dockerfile".into(),
            ..Default::default()
        });
        let out = render(&input, &[], &TextStyle::default());
        assert!(out.contains(
            "::error file=app/Dockerfile,line=7,endLine=7,title=layerscope secret private-key::"
        ), "{out}");
    }

    #[test]
    fn hostile_path_cannot_inject_a_command() {
        let mut input = sample_input();
        input.inefficient[0].path = "/x\n::error::pwned\r%0A".into();
        input.hints[0].paths[0] = b"/y\n::error::pwned".to_vec();
        input.warnings.push("bad\nentry".into());
        let out = render(&input, &[], &TextStyle::default());
        for line in out.lines() {
            assert!(
                line.starts_with("::notice title=layerscope::")
                    || line.starts_with("::notice title=layerscope hint deleted-later::")
                    || line.starts_with("::warning title=layerscope::"),
                "{line}"
            );
        }
        // The literal "%0A" in the name is itself escaped, so GitHub shows it as text.
        assert!(out.contains("/x\\x0a::error::pwned\\x0d%250A"), "{out}");
    }
}
