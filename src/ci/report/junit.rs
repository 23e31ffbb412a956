//! JUnit XML: one `<testcase>` per rule, for CI systems that display test results.

use std::fmt::Write as _;

use super::TextStyle;
use crate::ci::rules::{fmt_ratio, RuleId, RuleOutcome, RuleStatus, Tally};
use crate::ci::CiInput;
use crate::escape::escape_str;

pub fn render(input: &CiInput, outcomes: &[RuleOutcome]) -> String {
    let t = Tally::of(outcomes);
    let counts = format!(
        "tests=\"{}\" failures=\"{}\" errors=\"0\"",
        t.total(),
        t.failed
    );
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    // `skipped` is allowed on <testsuite> only: Jenkins' junit-10.xsd rejects it on
    // <testsuites>.
    let _ = writeln!(out, "<testsuites name=\"layerscope\" {counts}>");
    let _ = writeln!(
        out,
        "  <testsuite name=\"layerscope\" {counts} skipped=\"{}\">",
        t.skipped
    );
    out.push_str("    <properties>\n");
    let properties = [
        ("image", input.image.clone()),
        ("sourceFormat", input.source_format.clone()),
        ("platform", input.platform.clone().unwrap_or_default()),
        ("scoreKind", input.score_kind.as_str().to_owned()),
        ("efficiency", fmt_ratio(input.efficiency)),
        ("wastedBytes", input.wasted_bytes.to_string()),
        ("userWastedRatio", fmt_ratio(input.user_wasted_ratio)),
        ("totalBytes", input.total_bytes.to_string()),
        ("layerCount", input.layer_count.to_string()),
        (
            "secretFindings",
            input
                .secrets
                .as_ref()
                .map_or_else(|| "not scanned".to_owned(), |s| s.len().to_string()),
        ),
        (
            "dockerfile",
            input
                .dockerfile
                .as_ref()
                .map(super::dockerfile_phrase)
                .unwrap_or_default(),
        ),
    ];
    for (name, value) in properties {
        let _ = writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            attr(&escape_str(&value))
        );
    }
    out.push_str("    </properties>\n");
    for o in outcomes {
        let open = format!(
            "    <testcase name=\"{}\" classname=\"layerscope\"",
            o.rule.name()
        );
        let message = attr(&escape_str(&o.message));
        match o.status {
            RuleStatus::Pass => {
                let _ = writeln!(out, "{open}/>");
            }
            RuleStatus::Fail => {
                let _ = writeln!(out, "{open}>");
                let mut body = format!("{}: {}", escape_str(&input.image), escape_str(&o.message));
                if o.rule == RuleId::Secrets {
                    // Every finding, one per line (the message names the first few).
                    for f in input.secrets.iter().flatten() {
                        let preview = if f.preview.is_empty() {
                            String::new()
                        } else {
                            format!(" [{}]", escape_str(&f.preview))
                        };
                        body.push_str(&format!(
                            "\n{}: {}{preview}: {}",
                            f.rule,
                            f.place(),
                            escape_str(&f.description)
                        ));
                    }
                }
                let _ = writeln!(
                    out,
                    "      <failure message=\"{message}\" type=\"{}\">{}</failure>",
                    o.rule.name(),
                    text(&body)
                );
                out.push_str("    </testcase>\n");
            }
            RuleStatus::Skip => {
                let _ = writeln!(out, "{open}>");
                let _ = writeln!(out, "      <skipped message=\"{message}\"/>");
                out.push_str("    </testcase>\n");
            }
        }
    }
    // The full text report (already control-escaped) helps when reading a failure.
    let report = super::text::render(input, outcomes, &TextStyle::default());
    let _ = writeln!(out, "    <system-out>{}</system-out>", text(&report));
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Escapes for an attribute value: markup characters, and TAB/LF/CR as character
/// references (attribute normalisation would otherwise turn them into spaces).
fn attr(s: &str) -> String {
    escape_xml(s, true)
}

/// Escapes for element content; TAB/LF/CR are kept.
fn text(s: &str) -> String {
    escape_xml(s, false)
}

fn escape_xml(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' if attribute => {
                let _ = write!(out, "&#{};", c as u32);
            }
            '\t' | '\n' | '\r' => out.push(c),
            // Not allowed in XML 1.0 at all, not even as character references:
            // other C0 controls and the non-characters U+FFFE/U+FFFF. DEL and C1
            // are allowed but invisible; show all of them as visible escapes.
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::rules::{evaluate, RuleSet};
    use crate::ci::testutil::sample_input;

    #[test]
    fn parses_as_xml_with_one_testcase_per_rule() {
        let mut input = sample_input();
        input.efficiency = 0.5;
        let out = render(&input, &evaluate(&RuleSet::default(), &input));
        let doc = roxmltree::Document::parse(&out).expect("well-formed XML");
        let suite = doc
            .descendants()
            .find(|n| n.has_tag_name("testsuite"))
            .unwrap();
        assert_eq!(suite.attribute("name"), Some("layerscope"));
        assert_eq!(suite.attribute("tests"), Some("6"));
        assert_eq!(suite.attribute("failures"), Some("1"));
        assert_eq!(suite.attribute("skipped"), Some("3"));
        let cases: Vec<_> = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        assert_eq!(cases.len(), 6);
        assert_eq!(cases[0].attribute("name"), Some("lowest-efficiency"));
        let failure = cases[0]
            .children()
            .find(|n| n.has_tag_name("failure"))
            .unwrap();
        assert_eq!(
            failure.attribute("message"),
            Some("image efficiency 0.5 is below the threshold 0.9")
        );
        assert!(cases[1].children().any(|n| n.has_tag_name("skipped")));
        assert!(cases[2].children().all(|n| !n.is_element()));
    }

    #[test]
    fn a_secrets_failure_lists_every_finding() {
        let mut input = sample_input();
        input.secrets = Some(vec![crate::ci::testutil::sample_secret()]);
        let out = render(&input, &evaluate(&RuleSet::default(), &input));
        let doc = roxmltree::Document::parse(&out).expect("well-formed XML");
        let case = doc
            .descendants()
            .find(|n| n.attribute("name") == Some("secrets"))
            .unwrap();
        let failure = case.children().find(|n| n.has_tag_name("failure")).unwrap();
        assert!(failure.attribute("message").unwrap().starts_with(
            "1 secret finding exceeds the threshold 0: private-key at /root/.ssh/id_rsa"
        ));
        assert!(failure.text().unwrap().ends_with(
            "\nprivate-key: /root/.ssh/id_rsa: added by layer 1; deleted by layer 2, but still shipped in layer 1"
        ));
        let count = doc
            .descendants()
            .find(|n| n.attribute("name") == Some("secretFindings"))
            .unwrap();
        assert_eq!(count.attribute("value"), Some("1"));
    }

    #[test]
    fn hostile_names_stay_well_formed() {
        let mut input = sample_input();
        let nasty = "a&b<c>\"d'e\x00\x01\x1b[31mred\u{fffe}\u{9b}\tz\n]]>";
        input.image = nasty.into();
        input.inefficient[0].path = format!("/{nasty}");
        let out = render(&input, &evaluate(&RuleSet::default(), &input));
        let doc = roxmltree::Document::parse(&out).expect("well-formed XML");
        let image = doc
            .descendants()
            .find(|n| n.attribute("name") == Some("image"))
            .unwrap()
            .attribute("value")
            .unwrap();
        assert_eq!(
            image,
            "a&b<c>\"d'e\\x00\\x01\\x1b[31mred\\u{fffe}\\xc2\\x9b\\x09z\\x0a]]>"
        );
        let system_out = doc
            .descendants()
            .find(|n| n.has_tag_name("system-out"))
            .unwrap()
            .text()
            .unwrap();
        assert!(system_out.contains("/a&b<c>"), "{system_out}");
        assert!(!out.contains('\x1b') && !out.contains('\x00'));
    }

    #[test]
    fn attribute_whitespace_survives() {
        assert_eq!(attr("a\tb\nc"), "a&#9;b&#10;c");
        assert_eq!(text("a\tb\nc"), "a\tb\nc");
    }
}
