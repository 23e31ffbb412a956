//! Secret rules: what in an image looks like a credential, in one table.
//!
//! A file deleted by a later layer is still in the earlier layer's tar, so every layer is
//! scanned, not only the final filesystem. Two kinds of rule:
//!
//! - **path rules** fire on a file's name (`id_rsa`, `.netrc`, `.aws/credentials`, …); some
//!   also need a word in the content (`.npmrc` only with `_authToken`), checked by a
//!   content rule of the same id;
//! - **content rules** are high-confidence patterns (PEM private keys, AWS key ids, GitHub,
//!   GitLab and Slack tokens) looked for in every text file under [`CONTENT_LIMIT`], and
//!   generic `password=`/`secret=` assignments only in dotenv, ini and YAML files.
//!
//! Content is fed in chunks as the layer pass reads it ([`FileScan::feed`]), with a short
//! overlap so that a match across two chunks is seen; nothing is kept but the hits. A hit
//! never carries the secret: only the rule and a redacted preview (`AKIA…6W`).
//!
//! Cost: reading every file is what the layer pass does anyway (to hash it); the scan adds
//! one SIMD search for the patterns' literals ([`ANCHORS`]) over ordinary text files, the
//! regexes only where a literal is, and nothing for binary files ([`BINARY_SNIFF`]).
//! PERFORMANCE.md has the measured cost.

use crate::layer::{ContentHook, FileLook, Found};
use crate::tree::EntryId;
use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use std::sync::OnceLock;

/// Files larger than this are matched by path rules only (a credential file is small).
pub const CONTENT_LIMIT: u64 = 1 << 20;

/// Bytes of one chunk carried over into the next, so that a match across the boundary is
/// found. The longest pattern (a GitHub fine-grained token) is 93 bytes.
const OVERLAP: usize = 256;

/// A file with a NUL byte in its first bytes is binary (git's test, over the same 8000
/// bytes): its content is not matched, only its name. Keys and tokens are text; an ELF,
/// an archive or random data would cost a full regex pass for nothing.
const BINARY_SNIFF: usize = 8000;

/// Literals every match of the high-confidence patterns (0..ASSIGNMENT) contains. A file
/// that is neither a config file nor named like a credential needs only those patterns, so
/// content without any of these literals (nearly all of it) skips the regexes: the cost
/// of scanning is then one multi-literal search (SIMD) over the bytes.
const ANCHORS: &[&str] = &[
    "PRIVATE KEY-----",
    "AKIA",
    "ASIA",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxa-",
    "xoxp-",
    "xoxr-",
    "xoxs-",
];

/// How a finding came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// The file's name.
    Path,
    /// A pattern in the file's content.
    Content,
    /// A pattern in the image config (Env, Labels) or its history (`created_by`).
    Config,
}

impl Evidence {
    /// How the rule saw it, in words: `by its name`.
    pub fn phrase(self) -> &'static str {
        match self {
            Evidence::Path => "by its name",
            Evidence::Content => "in its content",
            Evidence::Config => "in the config",
        }
    }
}

/// How bad a finding of a rule is, as scanners grade them: a live cloud key or token is
/// critical, a file that usually holds credentials high, one that may medium or low.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The score code-scanning dashboards sort security results by (GitHub's
    /// `security-severity`: 9.0 and up is critical, 7.0 high, 4.0 medium, below low).
    pub fn score(self) -> &'static str {
        match self {
            Severity::Low => "3.0",
            Severity::Medium => "5.5",
            Severity::High => "8.0",
            Severity::Critical => "9.5",
        }
    }
}

/// One rule of the table.
#[derive(Debug)]
pub struct Rule {
    /// Stable id, used in reports, SARIF and `exclude`s.
    pub id: &'static str,
    /// What it finds, in words.
    pub title: &'static str,
    pub severity: Severity,
    /// What to do about it.
    pub fix: &'static str,
}

/// Every rule, in report order.
pub const RULES: &[Rule] = &[
    Rule {
        id: "private-key",
        title: "private key",
        severity: Severity::Critical,
        fix: "never COPY keys into an image: mount them at build time (`RUN --mount=type=secret`) and at run time",
    },
    Rule {
        id: "aws-access-key",
        title: "AWS access key id with its secret key",
        severity: Severity::Critical,
        fix: "revoke the key in IAM, then pass credentials at run time (instance roles, env) instead of baking them in",
    },
    Rule {
        id: "github-token",
        title: "GitHub token",
        severity: Severity::Critical,
        fix: "revoke the token on GitHub and use a build secret (`RUN --mount=type=secret`)",
    },
    Rule {
        id: "gitlab-token",
        title: "GitLab personal access token",
        severity: Severity::Critical,
        fix: "revoke the token in GitLab and use a build secret",
    },
    Rule {
        id: "slack-token",
        title: "Slack token",
        severity: Severity::High,
        fix: "revoke the token in Slack and pass it at run time",
    },
    Rule {
        id: "password-assignment",
        title: "password or secret assigned in a config file",
        severity: Severity::High,
        fix: "move the value out of the image: an env var or a mounted secret at run time",
    },
    Rule {
        id: "dotenv-file",
        title: ".env file",
        severity: Severity::Medium,
        fix: "add .env to .dockerignore; pass its values at run time",
    },
    Rule {
        id: "netrc",
        title: ".netrc credentials",
        severity: Severity::High,
        fix: "use a build secret for the download, and never COPY .netrc",
    },
    Rule {
        id: "pgpass",
        title: "PostgreSQL .pgpass",
        severity: Severity::High,
        fix: "mount the password file at run time",
    },
    Rule {
        id: "aws-credentials",
        title: "AWS credentials file",
        severity: Severity::Critical,
        fix: "revoke the keys and use instance roles or run-time credentials",
    },
    Rule {
        id: "docker-config-auth",
        title: "Docker config.json with registry credentials",
        severity: Severity::High,
        fix: "log in with a build secret or a credential helper, never COPY ~/.docker/config.json",
    },
    Rule {
        id: "npm-token",
        title: ".npmrc with an auth token",
        severity: Severity::High,
        fix: "use `RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci`",
    },
    Rule {
        id: "pypi-token",
        title: ".pypirc with a password or token",
        severity: Severity::High,
        fix: "use a build secret for uploads; an image never needs .pypirc",
    },
    Rule {
        id: "kube-config",
        title: "Kubernetes config with credentials",
        severity: Severity::High,
        fix: "mount the kubeconfig at run time (a Secret), never bake it in",
    },
    Rule {
        id: "shell-history",
        title: "shell history",
        severity: Severity::Low,
        fix: "do not COPY home directories; histories often hold typed passwords",
    },
];

/// The rule with `id`.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// One rule that fired on one place.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hit {
    pub rule: &'static str,
    pub evidence: Evidence,
    /// A redacted preview: never the secret itself.
    pub preview: String,
}

/// Paths that system packages fill with test keys, certificates and docs: a Debian or
/// Alpine base image must yield no findings.
pub fn allow_listed(path: &[u8]) -> bool {
    const PREFIXES: &[&[u8]] = &[
        b"/usr/share/",
        b"/etc/ssl/certs/",
        b"/usr/local/share/ca-certificates/",
        b"/etc/ca-certificates/",
        b"/etc/pki/ca-trust/",
        b"/usr/lib/ssl/certs/",
        b"/usr/src/",
        b"/proc/",
        b"/sys/",
    ];
    if PREFIXES.iter().any(|p| path.starts_with(p)) {
        return true;
    }
    // Language runtimes' own test suites (`/usr/lib/python3.11/test/…`, `…/site-packages/*/tests/`).
    static TESTS: OnceLock<Regex> = OnceLock::new();
    TESTS
        .get_or_init(|| {
            Regex::new(r"^/usr/(local/)?lib/python3[^/]*/(test|.*/tests?)/|/node_modules/.*/(test|tests|fixtures)/|^/usr/lib/go[^/]*/src/|^/usr/local/go/src/").unwrap()
        })
        .is_match(path)
}

/// What a path rule decides from the name alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathVerdict {
    /// Not a credential file by name.
    None,
    /// A finding by the name alone.
    Finding(&'static str),
    /// A finding only if the content confirms it (`.npmrc` with a token, `*.pem` with a
    /// private key): the rule id, and the content rule that must also fire.
    NeedsContent(&'static str),
}

/// Classify a path (absolute, raw bytes) by its name.
pub fn classify_path(path: &[u8]) -> PathVerdict {
    if allow_listed(path) {
        return PathVerdict::None;
    }
    classify_name(path)
}

/// [`classify_path`] for a path known not to be allow-listed.
fn classify_name(path: &[u8]) -> PathVerdict {
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let ends = |suffix: &[u8]| path.ends_with(suffix);
    match name {
        b"id_rsa" | b"id_dsa" | b"id_ecdsa" | b"id_ed25519" | b"id_ecdsa_sk" | b"id_ed25519_sk" => {
            PathVerdict::Finding("private-key")
        }
        b".env" => PathVerdict::Finding("dotenv-file"),
        b".netrc" | b"_netrc" => PathVerdict::Finding("netrc"),
        b".pgpass" => PathVerdict::Finding("pgpass"),
        b".bash_history" | b".zsh_history" | b".ash_history" | b".sh_history"
        | b".mysql_history" | b".psql_history" | b".python_history" => {
            PathVerdict::Finding("shell-history")
        }
        b".npmrc" => PathVerdict::NeedsContent("npm-token"),
        b".pypirc" => PathVerdict::NeedsContent("pypi-token"),
        _ if name.starts_with(b".env.")
            && !name.ends_with(b".example")
            && !name.ends_with(b".sample") =>
        {
            PathVerdict::Finding("dotenv-file")
        }
        _ if ends(b"/.aws/credentials") => PathVerdict::Finding("aws-credentials"),
        _ if ends(b"/.docker/config.json") => PathVerdict::NeedsContent("docker-config-auth"),
        _ if ends(b"/.kube/config") => PathVerdict::NeedsContent("kube-config"),
        _ if name.ends_with(b".pem") || name.ends_with(b".key") => {
            PathVerdict::NeedsContent("private-key")
        }
        _ => PathVerdict::None,
    }
}

/// Files where a generic `password=` assignment means something: dotenv, ini and YAML.
fn assignment_file(path: &[u8]) -> bool {
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    name == b".env"
        || name.starts_with(b".env.")
        || [
            &b".ini"[..],
            b".cfg",
            b".conf",
            b".yaml",
            b".yml",
            b".env",
            b".properties",
        ]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// The content patterns. Index order matches [`CONTENT_RULES`].
const CONTENT_PATTERNS: &[&str] = &[
    // PEM private keys of every flavour (RSA, EC, DSA, OPENSSH, ENCRYPTED, PKCS#8).
    r"-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY-----",
    // An AWS access key id; the secret is checked separately (see `aws_secret`).
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    r"\bgh[pousr]_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{82}\b",
    r"\bglpat-[A-Za-z0-9_\-]{20}\b",
    r"\bxox[baprs]-[0-9A-Za-z\-]{10,72}\b",
    // key = value with a quoted or bare value of 6+ characters, in config files only.
    r#"(?im)^[ \t]*(?:export[ \t]+)?[A-Z0-9_.\-]*(?:password|passwd|secret)[A-Z0-9_.\-]*[ \t]*[=:][ \t]*["']?[^\s"'#]{6,}"#,
    // Words that confirm a name rule.
    r#"_authToken\s*=\s*\S{8,}|_auth\s*=\s*\S{8,}"#,
    r#"(?im)^\s*(?:password|token)\s*[=:]\s*\S{6,}"#,
    r#""auths"\s*:\s*\{[^}]*"auth"\s*:\s*"[A-Za-z0-9+/=]{8,}""#,
    r"(?m)^\s*(?:client-key-data|token|password)\s*:\s*\S{8,}",
];

/// The rule each content pattern belongs to.
const CONTENT_RULES: &[&str] = &[
    "private-key",
    "aws-access-key",
    "github-token",
    "gitlab-token",
    "slack-token",
    "password-assignment",
    "npm-token",
    "pypi-token",
    "docker-config-auth",
    "kube-config",
];

/// Pattern indexes that only count in assignment files, or only to confirm a path rule.
const ASSIGNMENT: usize = 5;
const CONFIRM_ONLY: std::ops::Range<usize> = 6..10;

struct Compiled {
    set: RegexSet,
    each: Vec<Regex>,
    aws_secret: Regex,
    /// The [`ANCHORS`] as one alternation of literals: the regex crate searches those
    /// with SIMD (Teddy) at several GB/s, where an Aho-Corasick automaton walks each byte.
    anchors: Regex,
}

/// The patterns are compiled without Unicode: tokens are ASCII, and ASCII classes and word
/// boundaries keep the regex engine on its fast DFA over any bytes (a Unicode `\b` makes
/// it fall back to a far slower engine as soon as it meets a non-ASCII byte).
fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    let regex = |p: &str| {
        RegexBuilder::new(p)
            .unicode(false)
            .build()
            .expect("secret pattern compiles")
    };
    COMPILED.get_or_init(|| Compiled {
        set: RegexSetBuilder::new(CONTENT_PATTERNS)
            .unicode(false)
            .build()
            .expect("secret patterns compile"),
        each: CONTENT_PATTERNS.iter().map(|p| regex(p)).collect(),
        aws_secret: regex(
            r#"(?i)aws.{0,20}secret.{0,20}[=:]\s*["']?([A-Za-z0-9/+]{40})\b|\b([A-Za-z0-9/+]{40})\b"#,
        ),
        anchors: regex(
            &ANCHORS
                .iter()
                .map(|a| regex::escape(a))
                .collect::<Vec<_>>()
                .join("|"),
        ),
    })
}

/// A redacted preview of a match: its first four and last two characters.
pub fn redact(matched: &[u8]) -> String {
    let text: Vec<char> = String::from_utf8_lossy(matched).chars().collect();
    if text.len() <= 8 {
        return "…".into();
    }
    let head: String = text[..4].iter().collect();
    let tail: String = text[text.len() - 2..].iter().collect();
    crate::escape::escape_str(&format!("{head}…{tail}")).into_owned()
}

/// The redacted preview of an assignment: the key, and the value redacted.
fn redact_assignment(matched: &[u8]) -> String {
    let text = String::from_utf8_lossy(matched);
    let text = text.trim();
    match text.find(['=', ':']) {
        Some(at) => {
            let value = text[at + 1..].trim().trim_matches(['"', '\'']);
            format!(
                "{}={}",
                crate::escape::escape_str(text[..at].trim()),
                redact(value.as_bytes())
            )
        }
        None => redact(matched),
    }
}

/// The scan of one file's content, fed as the layer pass reads it.
pub struct FileScan {
    verdict: PathVerdict,
    assignments: bool,
    /// Only the high-confidence patterns apply (neither a config file nor a credential
    /// name): content without an [`ANCHORS`] literal skips the regexes, and binary
    /// content is not read at all.
    anchored: bool,
    /// Bytes of the file still to look at for a NUL (see [`BINARY_SNIFF`]).
    sniff: usize,
    /// Content no longer matters (a binary file).
    done: bool,
    /// Between calls: the last [`OVERLAP`] bytes seen; during one, those and the chunk.
    window: Vec<u8>,
    hits: Vec<Hit>,
    seen: [bool; CONTENT_PATTERNS.len()],
    /// An AWS key id waiting for its secret in the same file.
    aws_pending: Option<String>,
    aws_secret_seen: bool,
}

impl FileScan {
    /// Start scanning the file at `path` (absolute, raw bytes) of `size` bytes. `None`
    /// when neither its name nor its size makes it worth reading.
    pub fn start(path: &[u8], size: u64) -> Option<FileScan> {
        if allow_listed(path) {
            return None;
        }
        let verdict = classify_name(path);
        if size > CONTENT_LIMIT && verdict == PathVerdict::None {
            return None;
        }
        let assignments = assignment_file(path);
        Some(FileScan {
            verdict,
            assignments,
            anchored: verdict == PathVerdict::None && !assignments,
            sniff: BINARY_SNIFF,
            done: false,
            window: Vec::new(),
            hits: Vec::new(),
            seen: [false; CONTENT_PATTERNS.len()],
            aws_pending: None,
            aws_secret_seen: false,
        })
    }

    /// Whether content still matters (a large file flagged by its name needs none).
    pub fn wants_content(&self, size: u64) -> bool {
        size <= CONTENT_LIMIT
    }

    /// Look at the next chunk of the file's content.
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.done || chunk.is_empty() {
            return;
        }
        let compiled = compiled();
        if self.anchored {
            if self.sniff > 0 {
                let head = &chunk[..chunk.len().min(self.sniff)];
                self.sniff -= head.len();
                if head.contains(&0) {
                    self.done = true;
                    return;
                }
            }
            // An AWS key id waits for its secret, which has no literal of its own.
            let waiting = self.aws_pending.is_some() && !self.aws_secret_seen;
            // A literal across the boundary is in the carried bytes and the chunk's head.
            let seam = chunk.len().min(OVERLAP);
            let anchored = compiled.anchors.is_match(chunk) || {
                let carried = self.window.len();
                self.window.extend_from_slice(&chunk[..seam]);
                let found = compiled.anchors.is_match(&self.window);
                self.window.truncate(carried);
                found
            };
            if !anchored && !waiting {
                self.carry(chunk);
                return;
            }
        }
        let carried = self.window.len();
        self.window.extend_from_slice(chunk);
        let matches = compiled.set.matches(&self.window);
        for index in matches.iter() {
            if self.seen[index] {
                continue;
            }
            if index == ASSIGNMENT && !self.assignments {
                continue;
            }
            let Some(found) = compiled.each[index].find(&self.window) else {
                continue;
            };
            // A match that lies wholly in the carried-over bytes was found last time.
            if found.end() <= carried {
                continue;
            }
            self.seen[index] = true;
            let rule = CONTENT_RULES[index];
            if CONFIRM_ONLY.contains(&index) {
                if self.verdict == PathVerdict::NeedsContent(rule) {
                    self.hits.push(Hit {
                        rule,
                        evidence: Evidence::Path,
                        preview: redact_assignment(found.as_bytes()),
                    });
                }
                continue;
            }
            if index == 1 {
                self.aws_pending = Some(redact(found.as_bytes()));
                continue;
            }
            let preview = if index == ASSIGNMENT {
                redact_assignment(found.as_bytes())
            } else if index == 0 {
                String::from_utf8_lossy(found.as_bytes()).into_owned()
            } else {
                redact(found.as_bytes())
            };
            self.hits.push(Hit {
                rule,
                evidence: Evidence::Content,
                preview,
            });
        }
        if self.aws_pending.is_some() && !self.aws_secret_seen {
            self.aws_secret_seen = compiled.aws_secret.captures_iter(&self.window).any(|c| {
                c.get(1)
                    .or(c.get(2))
                    .is_some_and(|m| looks_random(m.as_bytes()))
            });
        }
        let keep = self.window.len().min(OVERLAP);
        let drop = self.window.len() - keep;
        self.window.drain(..drop);
    }

    /// Keep the last [`OVERLAP`] bytes of the carried bytes and `chunk`, for the next call.
    fn carry(&mut self, chunk: &[u8]) {
        if chunk.len() >= OVERLAP {
            self.window.clear();
            self.window
                .extend_from_slice(&chunk[chunk.len() - OVERLAP..]);
        } else {
            self.window.extend_from_slice(chunk);
            let drop = self.window.len().saturating_sub(OVERLAP);
            self.window.drain(..drop);
        }
    }

    /// The findings for this file.
    pub fn finish(mut self) -> Vec<Hit> {
        if let (Some(preview), true) = (self.aws_pending.take(), self.aws_secret_seen) {
            self.hits.push(Hit {
                rule: "aws-access-key",
                evidence: Evidence::Content,
                preview,
            });
        }
        if let PathVerdict::Finding(rule) = self.verdict {
            if !self.hits.iter().any(|h| h.rule == rule) {
                self.hits.insert(
                    0,
                    Hit {
                        rule,
                        evidence: Evidence::Path,
                        preview: String::new(),
                    },
                );
            }
        }
        // A `.pem`/`.key` is a finding once a private key block is in it: keep one hit.
        if self.verdict == PathVerdict::NeedsContent("private-key") {
            for hit in &mut self.hits {
                if hit.rule == "private-key" {
                    hit.evidence = Evidence::Path;
                }
            }
        }
        self.hits
    }
}

/// A 40-character AWS secret is base64-ish noise: mixed case and digits, not a word.
fn looks_random(candidate: &[u8]) -> bool {
    let lower = candidate.iter().any(u8::is_ascii_lowercase);
    let upper = candidate.iter().any(u8::is_ascii_uppercase);
    let digit = candidate.iter().any(u8::is_ascii_digit);
    lower && upper && digit
}

/// Every layer's instruction in `history` with its secrets redacted, as the views show
/// them (`RUN GITHUB_TOKEN=ghp_…` in an `inspect` or the explorer would ship the token
/// to the screen). The scan and the Dockerfile mapping read the config's own history,
/// which this leaves untouched.
pub fn redact_history(history: &mut crate::image::history::HistoryPairing) {
    for layer in &mut history.layers {
        redact_in_place(&mut layer.instruction.text);
        redact_in_place(&mut layer.instruction.raw);
    }
}

/// The Dockerfile lines a mapping shows beside its layers, with their secrets redacted.
pub fn redact_mapping(mapping: &mut crate::dockerfile::Mapping) {
    for line in mapping.layers.iter_mut().filter_map(|l| l.line.as_mut()) {
        redact_in_place(&mut line.instruction);
    }
}

/// `instruction` with its secrets redacted, for a view that draws one history entry.
pub fn redacted(
    instruction: &crate::image::history::Instruction,
) -> crate::image::history::Instruction {
    crate::image::history::Instruction {
        kind: instruction.kind,
        text: redact_secrets(&instruction.text),
        raw: redact_secrets(&instruction.raw),
    }
}

fn redact_in_place(text: &mut String) {
    let redacted = redact_secrets(text);
    if redacted != *text {
        *text = redacted;
    }
}

/// `text` with every secret a rule finds in it replaced by its redacted preview, for
/// showing an instruction or a config value that carries one.
pub fn redact_secrets(text: &str) -> String {
    let compiled = compiled();
    let mut out = text.to_string();
    for (index, regex) in compiled.each.iter().enumerate() {
        if CONFIRM_ONLY.contains(&index) || index == 0 {
            continue;
        }
        let replaced = regex.replace_all(out.as_bytes(), |caps: &regex::bytes::Captures<'_>| {
            let found = &caps[0];
            if index == ASSIGNMENT {
                redact_assignment(found)
            } else {
                redact(found)
            }
            .into_bytes()
        });
        out = String::from_utf8_lossy(&replaced).into_owned();
    }
    // Assignments inside a one-line RUN or ENV: each word on its own.
    out.split(' ')
        .map(|word| {
            if compiled.each[ASSIGNMENT].is_match(word.as_bytes()) && !word.contains('…') {
                redact_assignment(word.as_bytes())
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Scan a piece of the image config (an `Env` entry, a label, a history `created_by`).
/// Every content rule applies, and an assignment counts anywhere (`ENV DB_PASSWORD=…`).
pub fn scan_config_text(text: &str) -> Vec<Hit> {
    let compiled = compiled();
    let bytes = text.as_bytes();
    let mut hits = Vec::new();
    for index in compiled.set.matches(bytes).iter() {
        if CONFIRM_ONLY.contains(&index) {
            continue;
        }
        let Some(found) = compiled.each[index].find(bytes) else {
            continue;
        };
        let preview = if index == ASSIGNMENT {
            redact_assignment(found.as_bytes())
        } else if index == 0 {
            String::from_utf8_lossy(found.as_bytes()).into_owned()
        } else {
            redact(found.as_bytes())
        };
        hits.push(Hit {
            rule: CONTENT_RULES[index],
            evidence: Evidence::Config,
            preview,
        });
    }
    // `PASSWORD=…` in an ENV or a RUN line has no newline before it: try it as one line.
    if !hits.iter().any(|h| h.rule == "password-assignment") {
        for piece in text.split([' ', ';', '&', '|', '\n']) {
            if compiled.each[ASSIGNMENT].is_match(piece.as_bytes()) {
                hits.push(Hit {
                    rule: "password-assignment",
                    evidence: Evidence::Config,
                    preview: redact_assignment(piece.as_bytes()),
                });
                break;
            }
        }
    }
    hits
}

/// Where a finding is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A file that `layer` shipped at `path`.
    File { layer: usize, path: Vec<u8> },
    /// The image config; `layer` is the layer a history entry belongs to, when it has one.
    Config {
        part: ConfigPart,
        layer: Option<usize>,
    },
}

/// Which part of the image config a finding is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigPart {
    /// An `Env` entry, with the variable's name.
    Env(String),
    /// A label, with its key.
    Label(String),
    /// `history[N].created_by`.
    History(usize),
}

impl ConfigPart {
    /// The field as reports name it: `Env`, `Labels[KEY]` (key escaped),
    /// `history[N].created_by`.
    pub fn field(&self) -> String {
        match self {
            ConfigPart::Env(_) => "Env".into(),
            ConfigPart::Label(key) => format!("Labels[{}]", crate::escape::escape_str(key)),
            ConfigPart::History(index) => format!("history[{index}].created_by"),
        }
    }
}

/// What later layers did to a file with a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", content = "layer", rename_all = "snake_case")]
pub enum Fate {
    /// It is in the final filesystem.
    Present,
    /// A later layer deleted it (whiteout, opaque directory, a replaced parent); its bytes
    /// are still in its own layer's tar, so every pull still ships them.
    Deleted(usize),
    /// A later layer wrote over it; the old bytes still ship in their layer.
    Overwritten(usize),
}

/// One finding: a rule that fired on one place.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static Rule,
    pub evidence: Evidence,
    pub preview: String,
    pub place: Place,
    /// For files: what later layers did to it; always `Present` for the config.
    pub fate: Fate,
}

impl Finding {
    /// The layer whose blob carries the secret (for the config, the history entry's).
    pub fn layer(&self) -> Option<usize> {
        match &self.place {
            Place::File { layer, .. } => Some(*layer),
            Place::Config { layer, .. } => *layer,
        }
    }

    /// The path, for file findings.
    pub fn path(&self) -> Option<&[u8]> {
        match &self.place {
            Place::File { path, .. } => Some(path),
            Place::Config { .. } => None,
        }
    }
}

/// The secret rules as the parse's content hook: give it to the load
/// (`LoadOptions::content`) and every regular file's name and bytes are scanned as they
/// stream past; [`file_hits`] reads back what it found.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scan;

impl Scan {
    /// The hook, as the load takes it.
    pub fn hook() -> std::sync::Arc<dyn ContentHook> {
        std::sync::Arc::new(Scan)
    }
}

impl ContentHook for Scan {
    fn layer(&self) -> Box<dyn FileLook> {
        Box::new(ScanLook::default())
    }
}

/// One parse's scan: the file being scanned, if it is worth scanning.
#[derive(Default)]
struct ScanLook {
    scan: Option<FileScan>,
    wants_content: bool,
}

impl FileLook for ScanLook {
    fn start(&mut self, path: &[u8], size: u64) -> bool {
        self.scan = FileScan::start(path, size);
        self.wants_content = self.scan.as_ref().is_some_and(|s| s.wants_content(size));
        self.scan.is_some()
    }

    fn wants_content(&self) -> bool {
        self.wants_content
    }

    fn feed(&mut self, chunk: &[u8]) {
        if let Some(scan) = &mut self.scan {
            scan.feed(chunk);
        }
    }

    fn finish(&mut self) -> Option<Found> {
        let hits = self.scan.take()?.finish();
        (!hits.is_empty()).then(|| std::sync::Arc::new(hits) as Found)
    }
}

/// The secret-rule hits [`Scan`] found in the image's files, by entry, in entry order.
pub fn file_hits(loaded: &crate::model::LoadedImage) -> impl Iterator<Item = (EntryId, &Hit)> + '_ {
    loaded.found.iter().flat_map(|(entry, found)| {
        crate::layer::found_as::<Vec<Hit>>(found)
            .flatten()
            .map(move |hit| (*entry, hit))
    })
}

/// Every finding of a loaded image: the files of every layer (from the hits the parse
/// recorded when the load ran [`Scan`]) and the config's `Env`, `Labels`
/// and history. `exclude` leaves file paths out, as `ci`'s `exclude:` globs do.
pub fn findings(
    loaded: &crate::model::LoadedImage,
    exclude: Option<super::ExcludeFn<'_>>,
) -> Vec<Finding> {
    let tree = &loaded.tree;
    let mut out = Vec::new();
    for (entry_id, hit) in file_hits(loaded) {
        let entry = tree.entry(entry_id);
        let layer = entry.layer as usize;
        let path = tree.path(entry.node);
        if exclude.is_some_and(|f| f(&path)) {
            continue;
        }
        // The first thing a later layer did to the path decides its fate.
        let fate = tree
            .versions(entry.node)
            .iter()
            .find(|v| v.layer as usize > layer)
            .map_or(Fate::Present, |v| {
                if v.change.is_removal() {
                    Fate::Deleted(v.layer as usize)
                } else {
                    Fate::Overwritten(v.layer as usize)
                }
            });
        let Some(rule) = rule(hit.rule) else { continue };
        out.push(Finding {
            rule,
            evidence: hit.evidence,
            preview: hit.preview.clone(),
            place: Place::File { layer, path },
            fate,
        });
    }
    let config = &loaded.image.config;
    let mut config_hit = |part: ConfigPart, layer: Option<usize>, text: &str| {
        for hit in scan_config_text(text) {
            let Some(rule) = rule(hit.rule) else { continue };
            out.push(Finding {
                rule,
                evidence: hit.evidence,
                preview: hit.preview,
                place: Place::Config {
                    part: part.clone(),
                    layer,
                },
                fate: Fate::Present,
            });
        }
    };
    if let Some(runtime) = &config.config {
        for env in &runtime.env {
            let name = env.split('=').next().unwrap_or_default();
            config_hit(ConfigPart::Env(name.to_owned()), None, env);
        }
        for (key, value) in &runtime.labels {
            config_hit(
                ConfigPart::Label(key.clone()),
                None,
                &format!("{key}={value}"),
            );
        }
    }
    // A history entry belongs to the layer whose entries list it.
    let layer_of = |index: usize| {
        loaded
            .image
            .history
            .layers
            .iter()
            .position(|l| l.entries.contains(&index))
    };
    for (index, entry) in config.history.iter().enumerate() {
        if let Some(created_by) = &entry.created_by {
            config_hit(ConfigPart::History(index), layer_of(index), created_by);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(path: &str, content: &[u8]) -> Vec<&'static str> {
        let Some(mut scan) = FileScan::start(path.as_bytes(), content.len() as u64) else {
            return Vec::new();
        };
        scan.feed(content);
        scan.finish().into_iter().map(|h| h.rule).collect()
    }

    /// Test secrets are assembled at run time, so that no scanner flags this source file.
    fn token(prefix: &str, body: &str) -> String {
        format!("{prefix}{body}")
    }

    #[test]
    fn every_rule_id_is_in_the_table_once() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        for id in CONTENT_RULES {
            assert!(rule(id).is_some(), "{id}");
        }
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before);
        assert_eq!(CONTENT_RULES.len(), CONTENT_PATTERNS.len());
    }

    #[test]
    fn names_alone_find_keys_histories_and_dotenv() {
        assert_eq!(scan("/root/.ssh/id_rsa", b"whatever"), ["private-key"]);
        assert_eq!(scan("/app/.env", b"X=1\n"), ["dotenv-file"]);
        assert_eq!(scan("/app/.env.production", b""), ["dotenv-file"]);
        assert!(scan("/app/.env.example", b"").is_empty());
        assert_eq!(scan("/root/.bash_history", b"ls\n"), ["shell-history"]);
        assert_eq!(scan("/root/.aws/credentials", b""), ["aws-credentials"]);
        assert!(scan("/root/.ssh/id_rsa.pub", b"ssh-rsa AAAA").is_empty());
    }

    #[test]
    fn some_names_need_their_content_to_confirm() {
        assert!(scan("/root/.npmrc", b"registry=https://example.test/\n").is_empty());
        let npmrc = format!("//registry.npmjs.org/:_authToken={}\n", "x".repeat(36));
        assert_eq!(scan("/root/.npmrc", npmrc.as_bytes()), ["npm-token"]);
        assert!(scan("/etc/app/cert.pem", b"-----BEGIN CERTIFICATE-----\nMII\n").is_empty());
        let key = format!("-----BEGIN {}PRIVATE KEY-----\nMIIE\n", "RSA ");
        assert_eq!(scan("/etc/app/server.key", key.as_bytes()), ["private-key"]);
        assert!(scan("/root/.docker/config.json", br#"{"credsStore":"pass"}"#).is_empty());
        let docker = format!(
            r#"{{"auths":{{"r.example":{{"auth":"{}"}}}}}}"#,
            "dXNlcjpwYXNz"
        );
        assert_eq!(
            scan("/root/.docker/config.json", docker.as_bytes()),
            ["docker-config-auth"]
        );
    }

    #[test]
    fn content_rules_find_tokens_anywhere_but_system_paths() {
        let github = token("ghp_", &"a1B2".repeat(9));
        assert_eq!(scan("/app/deploy.sh", github.as_bytes()), ["github-token"]);
        assert!(scan("/usr/share/doc/x/README", github.as_bytes()).is_empty());
        let gitlab = token("glpat-", "abcdefghij0123456789");
        assert_eq!(scan("/app/ci.txt", gitlab.as_bytes()), ["gitlab-token"]);
        let slack = token("xoxb-", "1234567890-abcdefghij");
        assert_eq!(scan("/app/notify.py", slack.as_bytes()), ["slack-token"]);
    }

    #[test]
    fn an_aws_key_id_needs_its_secret() {
        let id = token("AKIA", "IOSFODNN7EXAMPLE");
        assert!(scan("/app/readme.txt", id.as_bytes()).is_empty());
        let pair = format!(
            "aws_access_key_id = {id}\naws_secret_access_key = {}\n",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        );
        let hits = {
            let mut scan = FileScan::start(b"/app/settings.txt", pair.len() as u64).unwrap();
            scan.feed(pair.as_bytes());
            scan.finish()
        };
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].rule, "aws-access-key");
        assert_eq!(hits[0].preview, "AKIA…LE");
        assert!(!hits[0].preview.contains("IOSFODNN7"));
    }

    #[test]
    fn generic_assignments_count_only_in_config_files() {
        let text = b"DB_PASSWORD=hunter2hunter2\n";
        assert_eq!(
            scan("/app/config.yaml", b"db:\n  password: s3cr3t-value\n"),
            ["password-assignment"]
        );
        assert_eq!(scan("/app/settings.ini", text), ["password-assignment"]);
        assert!(scan("/app/main.py", text).is_empty());
    }

    #[test]
    fn a_match_across_two_chunks_is_found_once() {
        let github = token("ghp_", &"a1B2".repeat(9));
        let content = format!("{}{github}{}", "x ".repeat(1000), " y".repeat(1000));
        let split = 2000 + 10;
        let mut scan = FileScan::start(b"/app/f.txt", content.len() as u64).unwrap();
        scan.feed(&content.as_bytes()[..split]);
        scan.feed(&content.as_bytes()[split..]);
        let hits = scan.finish();
        assert_eq!(hits.iter().filter(|h| h.rule == "github-token").count(), 1);
    }

    #[test]
    fn config_text_finds_env_and_run_secrets_redacted() {
        let hits = scan_config_text("DB_PASSWORD=correct-horse-battery");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].rule, "password-assignment");
        assert_eq!(hits[0].preview, "DB_PASSWORD=corr…ry");
        let run = format!(
            "/bin/sh -c curl -H 'Authorization: token {}' https://api.example",
            token("ghp_", &"Z9y8".repeat(9))
        );
        let hits = scan_config_text(&run);
        assert_eq!(hits[0].rule, "github-token");
        assert!(!hits[0].preview.contains("Z9y8Z9y8"));
        assert!(scan_config_text("PATH=/usr/local/sbin:/usr/bin").is_empty());
    }

    #[test]
    fn instructions_are_shown_with_their_secrets_redacted() {
        let github = token("ghp_", &"Q7w8".repeat(9));
        let run = format!("RUN GITHUB_TOKEN={github} DB_PASSWORD=hunter2hunter2 make");
        let shown = redact_secrets(&run);
        assert!(!shown.contains(&github), "{shown}");
        assert!(!shown.contains("hunter2hunter2"), "{shown}");
        assert!(
            shown.starts_with("RUN ") && shown.ends_with(" make"),
            "{shown}"
        );
        assert_eq!(redact_secrets("RUN apt-get update"), "RUN apt-get update");
    }

    /// Feed `content` in chunks of `size` bytes.
    fn scan_chunked(path: &str, content: &[u8], size: usize) -> Vec<&'static str> {
        let mut scan = FileScan::start(path.as_bytes(), content.len() as u64).unwrap();
        for chunk in content.chunks(size) {
            scan.feed(chunk);
        }
        scan.finish().into_iter().map(|h| h.rule).collect()
    }

    #[test]
    fn every_high_confidence_match_contains_an_anchor() {
        let samples = [
            format!("-----BEGIN {}PRIVATE KEY-----", "EC "),
            token("AKIA", "IOSFODNN7EXAMPLE"),
            token("ASIA", "IOSFODNN7EXAMPLE"),
            token("ghs_", &"a1B2".repeat(9)),
            token("github_pat_", &"a1B2_".repeat(17)[..82]),
            token("glpat-", "abcdefghij0123456789"),
            token("xoxp-", "1234567890-abcdefghij"),
        ];
        let compiled = compiled();
        for sample in &samples {
            let matched = compiled.set.matches(sample.as_bytes());
            assert!(matched.iter().any(|i| i < ASSIGNMENT), "{sample}");
            assert!(compiled.anchors.is_match(sample.as_bytes()), "{sample}");
        }
    }

    #[test]
    fn the_prefilter_sees_tokens_split_across_chunks() {
        let github = token("ghp_", &"a1B2".repeat(9));
        let content = format!("{}{github} tail", "word ".repeat(400));
        // Every split, the literal itself cut in two included.
        for size in [1, 3, 2001, 2002, 2003, 2010, 4096] {
            assert_eq!(
                scan_chunked("/app/run.sh", content.as_bytes(), size),
                ["github-token"],
                "chunks of {size}"
            );
        }
        // A key id's secret, chunks later and with no literal of its own, still counts.
        let pair = format!(
            "id = {}\n{}secret = {}\n",
            token("AKIA", "IOSFODNN7EXAMPLE"),
            "padding ".repeat(2000),
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        );
        assert_eq!(
            scan_chunked("/app/notes.txt", pair.as_bytes(), 512),
            ["aws-access-key"]
        );
    }

    #[test]
    fn binary_content_is_judged_by_name_only() {
        let github = token("ghp_", &"a1B2".repeat(9));
        let binary = [b"\x7fELF\x02\x01\x00".as_slice(), github.as_bytes()].concat();
        assert!(scan_chunked("/app/bin/tool", &binary, 4096).is_empty());
        // A NUL after the first 8000 bytes does not make text binary.
        let late = [github.as_bytes(), &b" ".repeat(9000), b"\x00"].concat();
        assert_eq!(scan_chunked("/app/log.txt", &late, 4096), ["github-token"]);
        // Names that want their content are read whatever it holds.
        let key = format!("\x00-----BEGIN {}PRIVATE KEY-----\n", "RSA ");
        assert_eq!(
            scan_chunked("/etc/app/tls.key", key.as_bytes(), 64),
            ["private-key"]
        );
    }

    #[test]
    fn large_files_are_judged_by_name_only() {
        assert!(FileScan::start(b"/app/big.bin", CONTENT_LIMIT + 1).is_none());
        let scan = FileScan::start(b"/root/.ssh/id_ed25519", CONTENT_LIMIT + 1).unwrap();
        assert!(!scan.wants_content(CONTENT_LIMIT + 1));
        assert_eq!(scan.finish()[0].rule, "private-key");
    }
}
