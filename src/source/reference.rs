//! Image references, `[host[:port]/]path[:tag][@digest]`, parsed and normalised as Docker
//! does (`docker.io/library/` implied, tag `latest` when there is neither tag nor digest).
//!
//! Why not oci-spec's `Reference::from_str`: its pattern spells the tag as a Unicode `\w`
//! repeated up to 128 times, which the regex crate takes about 40 ms to compile
//! (rust-lang/regex#1095). That ran on one core before every pull or engine lookup could
//! start, and let through tags Docker refuses. The grammar here is Docker's
//! (distribution/reference), whose `\w` is ASCII as in Go; the result is still oci-spec's
//! [`Reference`], with its error kinds.

use oci_spec::distribution::{ParseError, Reference};
use regex::{Regex, RegexBuilder};
use std::sync::OnceLock;

/// A name (registry and repository, normalised) longer than this is refused, as Docker
/// refuses it.
const NAME_MAX: usize = 255;

/// The whole reference, anchored; captures the name, the tag and the digest.
fn grammar() -> &'static Regex {
    static GRAMMAR: OnceLock<Regex> = OnceLock::new();
    GRAMMAR.get_or_init(|| {
        // A path component: lowercase letters and digits, joined by `.`, `_`, `__` or dashes.
        let component = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
        // A host: DNS labels joined by dots, or an IPv6 address in brackets; then a port.
        let label = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
        let host = format!(r"(?:{label}(?:\.{label})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?");
        let tag = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
        let digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
        let pattern =
            format!(r"^((?:{host}/)?{component}(?:/{component})*)(?::({tag}))?(?:@({digest}))?$");
        RegexBuilder::new(&pattern)
            .unicode(false)
            .build()
            .expect("the reference grammar compiles")
    })
}

/// Parse and normalise `text` as Docker does (its `ParseNormalizedNamed`).
pub fn parse(text: &str) -> Result<Reference, ParseError> {
    if text.is_empty() {
        return Err(ParseError::NameEmpty);
    }
    let Some(captures) = grammar().captures(text) else {
        // As Docker says it: a name that only its capitals keep from parsing.
        return Err(if grammar().is_match(&text.to_ascii_lowercase()) {
            ParseError::NameContainsUppercase
        } else {
            ParseError::ReferenceInvalidFormat
        });
    };
    let (registry, repository) = split_host(&captures[1]);
    if registry.len() + 1 + repository.len() > NAME_MAX {
        return Err(ParseError::NameTooLong);
    }
    let tag = captures.get(2).map(|m| m.as_str().to_string());
    let digest = match captures.get(3) {
        Some(m) => Some(check_digest(m.as_str())?.to_string()),
        None => None,
    };
    Ok(match (tag, digest) {
        (Some(tag), Some(digest)) => {
            Reference::with_tag_and_digest(registry, repository, tag, digest)
        }
        (None, Some(digest)) => Reference::with_digest(registry, repository, digest),
        (tag, None) => Reference::with_tag(registry, repository, tag.unwrap_or("latest".into())),
    })
}

/// Split a name into its registry and repository: the first component is a host when it
/// has a `.` or a `:`, is `localhost`, or has an uppercase letter (a repository cannot);
/// otherwise the registry is Docker Hub, whose one-component names live in `library/`.
fn split_host(name: &str) -> (String, String) {
    let (host, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first, rest)
        }
        _ => ("docker.io", name),
    };
    let host = if host == "index.docker.io" {
        "docker.io"
    } else {
        host
    };
    let path = if host == "docker.io" && !path.contains('/') {
        format!("library/{path}")
    } else {
        path.to_string()
    };
    (host.to_string(), path)
}

/// A digest's hex must be as long as its algorithm's output; other algorithms are refused.
fn check_digest(digest: &str) -> Result<&str, ParseError> {
    let (algorithm, hex) = digest
        .split_once(':')
        .ok_or(ParseError::DigestInvalidFormat)?;
    let expected = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(ParseError::DigestUnsupported),
    };
    if hex.len() == expected {
        Ok(digest)
    } else {
        Err(ParseError::DigestInvalidLength)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn whole(text: &str) -> String {
        parse(text).map_or_else(|e| format!("error: {e}"), |r| r.whole())
    }

    #[test]
    fn names_are_normalised_as_docker_does() {
        assert_eq!(whole("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(whole("library/nginx:1.27"), "docker.io/library/nginx:1.27");
        assert_eq!(
            whole("index.docker.io/nginx"),
            "docker.io/library/nginx:latest"
        );
        assert_eq!(whole("org/app:v1"), "docker.io/org/app:v1");
        assert_eq!(whole("localhost/app"), "localhost/app:latest");
        assert_eq!(whole("localhost:5000/a/b"), "localhost:5000/a/b:latest");
        assert_eq!(whole("ghcr.io/org/app"), "ghcr.io/org/app:latest");
        // A port-looking suffix without a slash is a tag.
        assert_eq!(whole("test.com:5000"), "docker.io/library/test.com:5000");
        assert_eq!(whole("[::1]:5000/app:v2"), "[::1]:5000/app:v2");
        // An uppercase first component can only be a host.
        assert_eq!(whole("Registry/app"), "Registry/app:latest");
        let digest = format!("sha256:{HEX}");
        assert_eq!(
            whole(&format!("ghcr.io/org/app@{digest}")),
            format!("ghcr.io/org/app@{digest}")
        );
        assert_eq!(
            whole(&format!("app:v1@{digest}")),
            format!("docker.io/library/app:v1@{digest}")
        );
    }

    #[test]
    fn malformed_references_get_the_crates_error_kinds() {
        assert_eq!(parse(""), Err(ParseError::NameEmpty));
        for bad in [
            "Not A Reference!",
            "a//b",
            "a/",
            "-a",
            "a:",
            "a@",
            ":t",
            "a:-t",
        ] {
            assert_eq!(parse(bad), Err(ParseError::ReferenceInvalidFormat), "{bad}");
        }
        for upper in ["App", "org/App:v1", "ghcr.io/Org/app"] {
            assert_eq!(
                parse(upper),
                Err(ParseError::NameContainsUppercase),
                "{upper}"
            );
        }
        // Docker's \w is ASCII: a tag or a name with other letters is refused.
        assert_eq!(parse("app:tagé"), Err(ParseError::ReferenceInvalidFormat));
        assert_eq!(parse("appé"), Err(ParseError::ReferenceInvalidFormat));
        assert_eq!(
            parse(&format!("a:{}", "t".repeat(129))),
            Err(ParseError::ReferenceInvalidFormat)
        );
        assert!(parse(&format!("a:{}", "t".repeat(128))).is_ok());
        // The whole normalised name counts: `docker.io/a/` is 12 of the 255.
        assert_eq!(
            parse(&format!("a/{}", "b".repeat(244))),
            Err(ParseError::NameTooLong)
        );
        assert!(parse(&format!("a/{}", "b".repeat(243))).is_ok());
        assert_eq!(
            parse(&format!("a@sha256:{}", &HEX[..40])),
            Err(ParseError::DigestInvalidLength)
        );
        assert_eq!(
            parse(&format!("a@md5:{HEX}")),
            Err(ParseError::DigestUnsupported)
        );
    }

    /// Strings over the references' own alphabet: mostly near-valid, often not.
    fn candidate() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-z0-9]{1,6}",
            Just("library".to_string()),
            Just("localhost".to_string()),
            Just("index.docker.io".to_string()),
            "[a-z]{1,4}\\.(com|io)(:[0-9]{1,5})?",
            "[a-z0-9]{1,3}[._-]{1,2}[a-z0-9]{1,3}",
            "[A-Za-z0-9._:@/-]{1,8}",
        ];
        let tail = prop_oneof![
            Just(String::new()),
            "[A-Za-z0-9_][A-Za-z0-9_.-]{0,8}".prop_map(|t| format!(":{t}")),
            Just(format!("@sha256:{HEX}")),
            Just(format!("@sha256:{}", &HEX[..63])),
            Just(format!("@sha512:{HEX}")),
            "[A-Za-z0-9:@._-]{1,6}",
        ];
        (prop::collection::vec(piece, 1..4), tail)
            .prop_map(|(pieces, tail)| format!("{}{tail}", pieces.join("/")))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// oci-spec's own parse is the oracle, on every input where Docker and oci-spec
        /// agree: not an uppercase first component without `.` or `:` (a host for Docker,
        /// a Docker Hub repository for oci-spec). Where only capitals keep a name from
        /// parsing, Docker says so and oci-spec calls the format invalid.
        #[test]
        fn agrees_with_oci_spec(text in candidate()) {
            let first = text.split('/').next().unwrap_or("");
            let uppercase_host = text.contains('/')
                && first != "localhost"
                && !first.contains(['.', ':'])
                && first.bytes().any(|b| b.is_ascii_uppercase());
            prop_assume!(!uppercase_host);
            let ours = parse(&text);
            let theirs: Result<Reference, ParseError> = text.parse();
            if ours == Err(ParseError::NameContainsUppercase) {
                prop_assert_eq!(theirs, Err(ParseError::ReferenceInvalidFormat), "{}", text);
                // Lowercased, it is well formed (a digest may still be refused).
                let lower = parse(&text.to_ascii_lowercase());
                prop_assert!(
                    !matches!(
                        lower,
                        Err(ParseError::ReferenceInvalidFormat | ParseError::NameContainsUppercase)
                    ),
                    "{}",
                    text
                );
            } else {
                prop_assert_eq!(ours, theirs, "{}", text);
            }
        }
    }
}
