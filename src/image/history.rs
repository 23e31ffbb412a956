//! History entries and the Dockerfile instructions they stand for.
//!
//! An image config's `history` array is the only record of how each layer was
//! made, but every builder writes it differently:
//!
//! - the legacy Docker builder and buildah prefix everything with the shell:
//!   `/bin/sh -c #(nop)  CMD ["sh"]` for metadata, `/bin/sh -c make` for `RUN`,
//!   and `|2 A=1 B=2 /bin/sh -c make` when build args are in scope;
//! - BuildKit writes the instruction keyword (`COPY a / # buildkit`,
//!   `RUN |1 GOOS=linux /bin/sh -c go build # buildkit`, `CMD ["x"]`);
//! - kaniko writes the Dockerfile line as is (`RUN mkdir -p /x`);
//! - tools that do not run a Dockerfile (jib, ko, bazel, crane) write their own
//!   name, or nothing at all.
//!
//! [`Instruction::parse`] turns all of these into a kind and a clean text, and
//! [`pair_history`] matches entries to layers.
//!
//! Kind decisions: [`InstructionKind::Other`] is for entries that do carry a
//! description but no Dockerfile instruction (`jib-maven-plugin:3.4.0`,
//! `ko build ko://…`, `bazel build …`, `crane flatten …`); its text is the
//! description and [`Instruction::label`] gives the tool's name for a kind
//! column. [`InstructionKind::Unknown`] (displayed `?`) is kept for "nothing
//! known": an empty entry such as crane append's `{}`, or a layer that has no
//! history entry at all.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// The comment BuildKit's Dockerfile frontend puts on every entry it writes.
pub const BUILDKIT_DOCKERFILE_COMMENT: &str = "buildkit.dockerfile.v0";
/// The comment on entries BuildKit's exporter invents when a build's history
/// has fewer layer entries than the image has layers. Their `created_by` is a
/// description of the layer's cache record, not an instruction.
pub const BUILDKIT_EXPORTER_COMMENT: &str = "buildkit.exporter.image.v0";

/// One entry of an image config's `history` array (OCI / Docker config JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Some writers emit `"empty_layer": null`; that means "has a layer".
    #[serde(default, deserialize_with = "null_as_false")]
    pub empty_layer: bool,
}

fn null_as_false<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(deserializer)?.unwrap_or(false))
}

impl HistoryEntry {
    /// The instruction this entry describes.
    pub fn instruction(&self) -> Instruction {
        Instruction::parse(
            self.created_by.as_deref().unwrap_or(""),
            self.comment.as_deref(),
        )
    }
}

/// What kind of step a history entry records.
///
/// The Dockerfile keywords display as themselves. `Import` is `docker import`
/// (no instruction, the comment names the source), `Other` is a non-Dockerfile
/// tool's description and `Unknown` means nothing is known (displayed `?`).
/// `Container` is no history entry at all: a container's writable layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InstructionKind {
    Run,
    Copy,
    Add,
    Workdir,
    Env,
    Arg,
    Cmd,
    Entrypoint,
    Label,
    Expose,
    Volume,
    User,
    Healthcheck,
    Shell,
    Stopsignal,
    Onbuild,
    Maintainer,
    From,
    Import,
    Other,
    Unknown,
    /// Not a history entry: a container's writable layer, laid on its image's layers.
    Container,
}

/// Keywords recognised at the start of a description, in the spelling that
/// builders write them (always uppercase).
const KEYWORDS: &[(&str, InstructionKind)] = &[
    ("RUN", InstructionKind::Run),
    ("COPY", InstructionKind::Copy),
    ("ADD", InstructionKind::Add),
    ("WORKDIR", InstructionKind::Workdir),
    ("ENV", InstructionKind::Env),
    ("ARG", InstructionKind::Arg),
    ("CMD", InstructionKind::Cmd),
    ("ENTRYPOINT", InstructionKind::Entrypoint),
    ("LABEL", InstructionKind::Label),
    ("EXPOSE", InstructionKind::Expose),
    ("VOLUME", InstructionKind::Volume),
    ("USER", InstructionKind::User),
    ("HEALTHCHECK", InstructionKind::Healthcheck),
    ("SHELL", InstructionKind::Shell),
    ("STOPSIGNAL", InstructionKind::Stopsignal),
    ("ONBUILD", InstructionKind::Onbuild),
    ("MAINTAINER", InstructionKind::Maintainer),
    ("FROM", InstructionKind::From),
];

impl InstructionKind {
    /// The kind for a Dockerfile keyword (case-sensitive: builders write it
    /// uppercase, and a lowercase word is more likely a command name).
    pub fn from_keyword(word: &str) -> Option<InstructionKind> {
        KEYWORDS
            .iter()
            .find(|(keyword, _)| *keyword == word)
            .map(|&(_, kind)| kind)
    }

    /// "RUN", "COPY", …, "IMPORT", "OTHER", and "?" for `Unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            InstructionKind::Import => "IMPORT",
            InstructionKind::Other => "OTHER",
            InstructionKind::Unknown => "?",
            InstructionKind::Container => "CONTAINER",
            kind => KEYWORDS
                .iter()
                .find(|&&(_, k)| k == kind)
                .map_or("?", |&(keyword, _)| keyword),
        }
    }

    /// Whether this is an instruction of a Dockerfile (`FROM` … `MAINTAINER`).
    pub fn is_dockerfile(self) -> bool {
        !matches!(
            self,
            InstructionKind::Import
                | InstructionKind::Other
                | InstructionKind::Unknown
                | InstructionKind::Container
        )
    }
}

impl fmt::Display for InstructionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A history entry's `created_by`, cleaned up for display.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instruction {
    pub kind: InstructionKind,
    /// Display text without the keyword: `apt-get update` for
    /// `RUN apt-get update`. Newlines are kept; escaping is the renderer's job.
    pub text: String,
    /// The original `created_by`, untouched.
    pub raw: String,
}

impl Instruction {
    /// Parse a history entry's `created_by` (empty when absent) and `comment`.
    pub fn parse(created_by: &str, comment: Option<&str>) -> Instruction {
        let (kind, text) = classify(created_by, comment);
        Instruction {
            kind,
            text,
            raw: created_by.to_string(),
        }
    }

    /// The instruction shown for a layer that no history entry describes.
    /// `index` is 0-based; the text counts from 1 ("layer 1 of 3").
    pub fn placeholder(index: usize, layer_count: usize) -> Instruction {
        Instruction {
            kind: InstructionKind::Unknown,
            text: format!("(no history for layer {} of {layer_count})", index + 1),
            raw: String::new(),
        }
    }

    /// One-line-ish display: `RUN apt-get update`. `Other` and `Unknown` show
    /// their text alone, since their kind is no keyword the user ever wrote.
    pub fn display(&self) -> String {
        match self.kind {
            InstructionKind::Other | InstructionKind::Unknown => self.text.clone(),
            kind if self.text.is_empty() => kind.as_str().to_string(),
            kind => format!("{kind} {}", self.text),
        }
    }

    /// A short name for a kind column: the keyword for Dockerfile
    /// instructions and imports, the tool's name for `Other` (first word of
    /// the text, without a `:version`, e.g. `jib-maven-plugin`, `ko`, `crane`),
    /// and `?` for `Unknown`.
    pub fn label(&self) -> &str {
        match self.kind {
            InstructionKind::Other => {
                let word = self.text.split_whitespace().next().unwrap_or("");
                let name = word.split(':').next().unwrap_or("");
                if name.is_empty() {
                    "?"
                } else {
                    name
                }
            }
            kind => kind.as_str(),
        }
    }
}

impl fmt::Display for Instruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// Text for an entry that exists but says nothing (crane append writes `{}`).
const EMPTY_ENTRY_TEXT: &str = "(empty history entry)";

fn classify(created_by: &str, comment: Option<&str>) -> (InstructionKind, String) {
    let comment = comment.map(str::trim).filter(|c| !c.is_empty());
    let s = created_by.trim();

    if s.is_empty() {
        // `docker import` records only the source: "Imported from -" for
        // stdin, or the URL. The text mirrors `docker import <source>`.
        if let Some(source) = comment.and_then(|c| c.strip_prefix("Imported from")) {
            return (InstructionKind::Import, source.trim().to_string());
        }
        return match comment {
            Some(c) if !is_builder_marker(c) => (InstructionKind::Other, c.to_string()),
            _ => (InstructionKind::Unknown, EMPTY_ENTRY_TEXT.to_string()),
        };
    }

    let mut s = s;
    if comment == Some(BUILDKIT_EXPORTER_COMMENT) {
        // Padding entries describe BuildKit's cache record of the layer.
        if let Some(image) = s.strip_prefix("pulled from ") {
            return (InstructionKind::From, image.trim().to_string());
        }
        if let Some(command) = exec_description(s) {
            s = command;
        }
    }

    let s = strip_buildkit_suffix(s);
    let command = strip_build_args(s);
    // Only RUN gets a build-arg prefix, so its presence alone means RUN
    // (exec-form RUN has no shell after it).
    let had_build_args = command.len() != s.len();
    if let Some(command) = strip_shell(command) {
        return match strip_nop(command) {
            Some(metadata) => keyword_or_other(metadata),
            // A shell command that is no `#(nop)` marker is a RUN, even if
            // its first word happens to look like a keyword.
            None => (InstructionKind::Run, command.trim().to_string()),
        };
    }
    if had_build_args {
        return (InstructionKind::Run, command.trim().to_string());
    }
    keyword_or_other(strip_nop(s).unwrap_or(s))
}

/// Comments that identify the writer rather than describe the step.
fn is_builder_marker(comment: &str) -> bool {
    comment.starts_with("buildkit.")
}

/// The command of a BuildKit cache description like
/// `mount / from exec /bin/sh -c apt-get update`.
fn exec_description(s: &str) -> Option<&str> {
    let rest = s.strip_prefix("mount ")?;
    let at = rest.find(" from exec ")?;
    Some(rest[at + " from exec ".len()..].trim_start())
}

fn keyword_or_other(s: &str) -> (InstructionKind, String) {
    let s = s.trim();
    let word_end = s.find(char::is_whitespace).unwrap_or(s.len());
    match InstructionKind::from_keyword(&s[..word_end]) {
        Some(InstructionKind::Run) => {
            // BuildKit and kaniko RUN texts may still carry build args and
            // the shell: `RUN |1 GOOS=linux /bin/sh -c go build`.
            let args = strip_build_args(s[word_end..].trim_start());
            let command = strip_shell(args).unwrap_or(args);
            (InstructionKind::Run, command.trim().to_string())
        }
        Some(kind) => (kind, s[word_end..].trim().to_string()),
        None if s.is_empty() => (InstructionKind::Unknown, EMPTY_ENTRY_TEXT.to_string()),
        None => (InstructionKind::Other, s.to_string()),
    }
}

/// Remove BuildKit's ` # buildkit` marker, only at the very end: inside a
/// command it is part of the shell text.
fn strip_buildkit_suffix(s: &str) -> &str {
    match s.strip_suffix("# buildkit") {
        Some(rest) if rest.is_empty() => rest,
        Some(rest) if rest.ends_with(char::is_whitespace) => rest.trim_end(),
        _ => s,
    }
}

/// The text after the legacy builder's `#(nop)` metadata marker, if present.
fn strip_nop(s: &str) -> Option<&str> {
    s.trim_start().strip_prefix("#(nop)").map(str::trim_start)
}

/// The next whitespace-separated token of `s` and the text after it.
fn next_token(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    if s.is_empty() {
        return None;
    }
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    Some((&s[..end], &s[end..]))
}

/// How many option tokens may sit between a shell and its command flag
/// (`/bin/bash -o pipefail -c`); a bound keeps the scan cheap and stops it
/// from wandering into the command itself.
const MAX_SHELL_OPTIONS: usize = 6;

const UNIX_SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"];

/// Remove a leading shell invocation (`/bin/sh -c`, `/bin/bash -o pipefail
/// -c`, `/bin/sh -ec`, `cmd /S /C`, `powershell -Command`) and return the
/// command it runs. Unix shells must be given by absolute path, as the
/// builders write them: a bare `sh -c` is more likely what the user typed.
pub(crate) fn strip_shell(s: &str) -> Option<&str> {
    #[derive(PartialEq)]
    enum Family {
        Unix,
        Cmd,
        PowerShell,
    }
    let (program, mut rest) = next_token(s)?;
    let name = program.rsplit(['/', '\\']).next().unwrap_or(program);
    let lower = name.to_ascii_lowercase();
    let family = if program.starts_with('/') && UNIX_SHELLS.contains(&name) {
        Family::Unix
    } else {
        match lower.strip_suffix(".exe").unwrap_or(&lower) {
            "cmd" => Family::Cmd,
            "powershell" | "pwsh" => Family::PowerShell,
            _ => return None,
        }
    };

    let mut option_takes_argument = false;
    for _ in 0..MAX_SHELL_OPTIONS {
        let (token, after) = next_token(rest)?;
        let is_command_flag = match family {
            Family::Unix => is_unix_command_flag(token),
            Family::Cmd => token.eq_ignore_ascii_case("/c"),
            Family::PowerShell => {
                token.eq_ignore_ascii_case("-command") || token.eq_ignore_ascii_case("-c")
            }
        };
        if is_command_flag {
            return Some(after.trim_start());
        }
        match family {
            Family::Unix if token.starts_with(['-', '+']) => {
                // `-o pipefail`, `-euxo pipefail`: the next token is an argument.
                option_takes_argument = token.ends_with('o');
            }
            Family::Unix if option_takes_argument => option_takes_argument = false,
            Family::Cmd if token.starts_with('/') => {}
            // PowerShell options take arguments freely (`-ExecutionPolicy Bypass`).
            Family::PowerShell => {}
            _ => return None,
        }
        rest = after;
    }
    None
}

/// `-c`, or a cluster of single-letter options ending in `c` (`-ec`, `-xec`).
fn is_unix_command_flag(token: &str) -> bool {
    match token.strip_prefix('-') {
        Some(letters) => letters.ends_with('c') && letters.chars().all(|c| c.is_ascii_alphabetic()),
        None => false,
    }
}

/// Remove the `|N K=V …` build-arg prefix that the legacy builder and
/// BuildKit put before a RUN's command. Values are written unquoted and may
/// contain spaces, so a value runs up to the next `NAME=` token, and the last
/// one up to the shell (or, without a recognisable shell, its first space).
/// Anything malformed is returned unchanged.
fn strip_build_args(s: &str) -> &str {
    let Some(after_bar) = s.strip_prefix('|') else {
        return s;
    };
    let digits_end = after_bar
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(after_bar.len());
    let Ok(count) = after_bar[..digits_end].parse::<usize>() else {
        return s;
    };
    let mut rest = &after_bar[digits_end..];
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return s;
    }
    for i in 0..count {
        rest = rest.trim_start();
        match next_token(rest) {
            Some((token, _)) if is_assignment(token) => {}
            _ => return s,
        }
        let is_last = i + 1 == count;
        rest = &rest[build_arg_end(rest, is_last)..];
    }
    rest.trim_start()
}

/// Where the `K=V` assignment at the start of `s` ends.
fn build_arg_end(s: &str, is_last: bool) -> usize {
    let boundaries = s
        .char_indices()
        .filter(|&(_, c)| c.is_whitespace())
        .map(|(at, _)| at);
    let mut first_space = None;
    for at in boundaries {
        first_space.get_or_insert(at);
        let next = s[at..].trim_start();
        let found = if is_last {
            strip_shell(next).is_some() || next.starts_with("#(nop)")
        } else {
            next_token(next).is_some_and(|(token, _)| is_assignment(token))
        };
        if found {
            return at;
        }
    }
    first_space.unwrap_or(s.len())
}

/// `NAME=value` with a plausible build-arg name.
fn is_assignment(token: &str) -> bool {
    match token.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        }
        None => false,
    }
}

fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// History entries that belong to one layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerHistory {
    /// Indices into the history: the entries since the previous
    /// layer-producing entry, ending with this layer's own entry. Empty for a
    /// layer that no entry describes.
    pub entries: Vec<usize>,
    /// The instruction of the layer-producing entry, or a placeholder.
    pub instruction: Instruction,
}

/// History entries matched with an image's layers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryPairing {
    /// Exactly one item per layer, bottom layer first.
    pub layers: Vec<LayerHistory>,
    /// Entries after the last paired layer: normally the `empty_layer`
    /// metadata at the end (CMD, ENTRYPOINT…), plus any layer-producing
    /// entries beyond the image's layer count.
    pub trailing: Vec<usize>,
    /// Set when the history's layer-producing entries and the layers differ
    /// in number.
    pub warning: Option<String>,
}

/// Match history entries with `layer_count` layers.
///
/// Each entry that is not `empty_layer` produces the next layer, and a layer
/// carries the metadata entries before it. Nothing else is trusted: in
/// particular a missing ` # buildkit` suffix does not mean "no layer" (BuildKit
/// commits WORKDIR with a layer and without the suffix).
///
/// When the counts disagree, entries are still paired bottom-up, as BuildKit's
/// exporter itself does: extra layers at the top get placeholders, and extra
/// layer-producing entries go to `trailing`. (BuildKit normally avoids the
/// mismatch by appending `buildkit.exporter.image.v0` entries, which then
/// pair like any other.)
pub fn pair_history(history: &[HistoryEntry], layer_count: usize) -> HistoryPairing {
    let producing = history.iter().filter(|entry| !entry.empty_layer).count();
    let warning = (producing != layer_count).then(|| {
        let what = if producing < layer_count {
            "the top layers have no history"
        } else {
            "the extra entries are not paired"
        };
        format!(
            "history has {} but the image has {}; paired from the bottom, {what}",
            counted(
                producing,
                "layer-producing entry",
                "layer-producing entries"
            ),
            counted(layer_count, "layer", "layers"),
        )
    });

    let mut layers = Vec::with_capacity(layer_count);
    let mut pending = Vec::new();
    for (index, entry) in history.iter().enumerate() {
        pending.push(index);
        if !entry.empty_layer && layers.len() < layer_count {
            layers.push(LayerHistory {
                entries: std::mem::take(&mut pending),
                instruction: entry.instruction(),
            });
        }
    }
    while layers.len() < layer_count {
        layers.push(LayerHistory {
            entries: Vec::new(),
            instruction: Instruction::placeholder(layers.len(), layer_count),
        });
    }

    HistoryPairing {
        layers,
        trailing: pending,
        warning,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parse and check kind and text, and that `raw` is kept verbatim.
    #[track_caller]
    fn check(created_by: &str, comment: Option<&str>, kind: InstructionKind, text: &str) {
        let instruction = Instruction::parse(created_by, comment);
        assert_eq!(
            (instruction.kind, instruction.text.as_str()),
            (kind, text),
            "created_by: {created_by:?}"
        );
        assert_eq!(instruction.raw, created_by);
    }

    use InstructionKind as K;

    const BK: Option<&str> = Some(BUILDKIT_DOCKERFILE_COMMENT);

    #[test]
    fn legacy_builder() {
        check(
            "/bin/sh -c #(nop) ADD file:ce026b62356eec3ad1214f92be2c9dc063fe205bd5e600be3492c4dfb17148bd in / ",
            None,
            K::Add,
            "file:ce026b62356eec3ad1214f92be2c9dc063fe205bd5e600be3492c4dfb17148bd in /",
        );
        // Two spaces after the marker, as the legacy builder writes metadata.
        check(
            r#"/bin/sh -c #(nop)  CMD ["sh"]"#,
            None,
            K::Cmd,
            r#"["sh"]"#,
        );
        check("/bin/sh -c mkdir -p /x", None, K::Run, "mkdir -p /x");
        check(
            "/bin/sh -c #(nop)  LABEL org.opencontainers.image.title=small org.opencontainers.image.description=layer-explorer test image",
            None,
            K::Label,
            "org.opencontainers.image.title=small org.opencontainers.image.description=layer-explorer test image",
        );
        check(
            "/bin/sh -c #(nop)  ENV APP_ENV=production",
            None,
            K::Env,
            "APP_ENV=production",
        );
        check("/bin/sh -c #(nop) WORKDIR /app", None, K::Workdir, "/app");
        check(
            r#"/bin/sh -c #(nop)  ENTRYPOINT ["/app/main"]"#,
            None,
            K::Entrypoint,
            r#"["/app/main"]"#,
        );
        check(
            "/bin/sh -c #(nop)  MAINTAINER Jane <jane@example.com>",
            None,
            K::Maintainer,
            "Jane <jane@example.com>",
        );
        check(
            "/bin/sh -c #(nop)  ONBUILD RUN make",
            None,
            K::Onbuild,
            "RUN make",
        );
        check(
            "/bin/sh -c #(nop)  EXPOSE 80/tcp",
            None,
            K::Expose,
            "80/tcp",
        );
        check(
            "/bin/sh -c #(nop)  STOPSIGNAL SIGQUIT",
            None,
            K::Stopsignal,
            "SIGQUIT",
        );
    }

    #[test]
    fn legacy_build_args() {
        check("|2 A=1 B=2 /bin/sh -c make", None, K::Run, "make");
        // Values are not quoted, so they may contain spaces.
        check(
            r#"|2 MSG=hello world B=2 /bin/sh -c echo "$MSG""#,
            None,
            K::Run,
            r#"echo "$MSG""#,
        );
        check(
            "|1 GREETING=hi there /bin/sh -c echo $GREETING",
            None,
            K::Run,
            "echo $GREETING",
        );
        check("|1 EMPTY= /bin/sh -c true", None, K::Run, "true");
        check("|0 /bin/sh -c true", None, K::Run, "true");
    }

    #[test]
    fn malformed_build_args_are_left_alone() {
        check("|", None, K::Other, "|");
        check("|x A=1 /bin/sh -c y", None, K::Other, "|x A=1 /bin/sh -c y");
        // Fewer pairs than announced.
        check("|3 A=1 /bin/sh -c y", None, K::Other, "|3 A=1 /bin/sh -c y");
        check("|1 /bin/sh -c y", None, K::Other, "|1 /bin/sh -c y");
        check("|2A=1 /bin/sh -c y", None, K::Other, "|2A=1 /bin/sh -c y");
        check("|1 =x /bin/sh -c y", None, K::Other, "|1 =x /bin/sh -c y");
        check("|1 Ä=ö /bin/sh -c é", None, K::Run, "é");
        // Exec-form RUN with build args: no shell, still a RUN.
        check("|1 A=b echo hi", None, K::Run, "echo hi");
    }

    #[test]
    fn docker_import() {
        check("", Some("Imported from -"), K::Import, "-");
        check(
            "",
            Some("Imported from https://example.com/rootfs.tar"),
            K::Import,
            "https://example.com/rootfs.tar",
        );
        assert_eq!(
            Instruction::parse("", Some("Imported from -")).display(),
            "IMPORT -"
        );
    }

    #[test]
    fn buildkit() {
        check("COPY hello / # buildkit", BK, K::Copy, "hello /");
        check(
            "COPY README.md /README.md # buildkit",
            BK,
            K::Copy,
            "README.md /README.md",
        );
        check(
            "COPY --from=busybox /bin/busybox /bin/busybox # buildkit",
            BK,
            K::Copy,
            "--from=busybox /bin/busybox /bin/busybox",
        );
        check(
            "RUN |1 GOOS=linux /bin/sh -c go build # buildkit",
            BK,
            K::Run,
            "go build",
        );
        check(
            "RUN /bin/sh -c apt-get update # buildkit",
            BK,
            K::Run,
            "apt-get update",
        );
        check(
            "RUN /bin/busybox --install -s /bin # buildkit",
            BK,
            K::Run,
            "/bin/busybox --install -s /bin",
        );
        check(r#"CMD ["/hello"]"#, BK, K::Cmd, r#"["/hello"]"#);
        check("WORKDIR /app", BK, K::Workdir, "/app");
        // Exec form is printed without commas; it stays as written.
        check(
            r#"CMD ["nginx" "-g" "daemon off;"]"#,
            BK,
            K::Cmd,
            r#"["nginx" "-g" "daemon off;"]"#,
        );
        check(
            r#"HEALTHCHECK &{["CMD" "curl" "-f" "http://localhost/"] "15s" "3s" "0s" "0s" '\x03'}"#,
            BK,
            K::Healthcheck,
            r#"&{["CMD" "curl" "-f" "http://localhost/"] "15s" "3s" "0s" "0s" '\x03'}"#,
        );
        check("ENV A=b", BK, K::Env, "A=b");
        check("ARG X=1", BK, K::Arg, "X=1");
        check(
            "LABEL maintainer=me version=1.0",
            BK,
            K::Label,
            "maintainer=me version=1.0",
        );
        check("EXPOSE map[80/tcp:{}]", BK, K::Expose, "map[80/tcp:{}]");
        check("USER app", BK, K::User, "app");
        check(
            r#"SHELL [/bin/bash -o pipefail -c]"#,
            BK,
            K::Shell,
            r#"[/bin/bash -o pipefail -c]"#,
        );
        check("VOLUME [/data]", BK, K::Volume, "[/data]");
        check(
            "ADD https://example.com/a.tgz /opt/ # buildkit",
            BK,
            K::Add,
            "https://example.com/a.tgz /opt/",
        );
        check(
            r#"ENTRYPOINT ["/docker-entrypoint.sh"]"#,
            BK,
            K::Entrypoint,
            r#"["/docker-entrypoint.sh"]"#,
        );
        check("STOPSIGNAL SIGTERM", BK, K::Stopsignal, "SIGTERM");
        // Exec-form RUN: no shell to strip.
        check(r#"RUN ["a","b"] # buildkit"#, BK, K::Run, r#"["a","b"]"#);
        check("RUN a b # buildkit", BK, K::Run, "a b");
        // A bare keyword keeps an empty text.
        check("USER", BK, K::User, "");
    }

    #[test]
    fn buildkit_suffix_only_at_the_end() {
        // From the edge fixture: inside the command it is shell text.
        check(
            "RUN /bin/sh -c edit-edge-cases # buildkit (type changes, deletions, retargets)",
            BK,
            K::Run,
            "edit-edge-cases # buildkit (type changes, deletions, retargets)",
        );
        check(
            "RUN /bin/sh -c echo x# buildkit",
            BK,
            K::Run,
            "echo x# buildkit",
        );
        check("# buildkit", BK, K::Unknown, EMPTY_ENTRY_TEXT);
    }

    #[test]
    fn newlines_are_kept() {
        check(
            "RUN /bin/sh -c set -e\n  apt-get update\n  apt-get install -y curl # buildkit",
            BK,
            K::Run,
            "set -e\n  apt-get update\n  apt-get install -y curl",
        );
        check("RUN\necho hi", BK, K::Run, "echo hi");
    }

    #[test]
    fn buildah() {
        check(
            "/bin/sh -c #(nop) COPY file:8bd0a3c1c4e3b4a2a1f0e0d9b2c8f7e6a5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0 in /app ",
            Some("FROM docker.io/library/alpine:latest"),
            K::Copy,
            "file:8bd0a3c1c4e3b4a2a1f0e0d9b2c8f7e6a5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0 in /app",
        );
        check(
            "/bin/sh -c #(nop) COPY dir:509e0e919c134430a85057294d69ca6061147521bc62413e5575246549ede13e in / ",
            None,
            K::Copy,
            "dir:509e0e919c134430a85057294d69ca6061147521bc62413e5575246549ede13e in /",
        );
        check(
            "/bin/sh -c #(nop) COPY multi:3c2ea1b2f0e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8d9c0 in /app/ ",
            None,
            K::Copy,
            "multi:3c2ea1b2f0e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8d9c0 in /app/",
        );
    }

    #[test]
    fn kaniko() {
        check("RUN mkdir -p /x", None, K::Run, "mkdir -p /x");
        check("COPY a b", None, K::Copy, "a b");
        check(
            "ADD README.md /somefile.txt",
            None,
            K::Add,
            "README.md /somefile.txt",
        );
        check(
            "ADD .scripts/ /root/.data/",
            None,
            K::Add,
            ".scripts/ /root/.data/",
        );
    }

    #[test]
    fn non_dockerfile_tools() {
        check("jib", None, K::Other, "jib");
        check(
            "jib-maven-plugin:3.4.0",
            Some("classes"),
            K::Other,
            "jib-maven-plugin:3.4.0",
        );
        check(
            "ko build ko://github.com/example/app",
            Some("go build output, at /ko-app/app"),
            K::Other,
            "ko build ko://github.com/example/app",
        );
        check(
            "crane flatten sha256:4c8aaa9000e1b9aba1c4600a3cbbb551fbcaf04c3f220ac0ee5e9369b7aabc41",
            None,
            K::Other,
            "crane flatten sha256:4c8aaa9000e1b9aba1c4600a3cbbb551fbcaf04c3f220ac0ee5e9369b7aabc41",
        );
        check("bazel build ...", None, K::Other, "bazel build ...");
        // docker commit records the container's command without `-c`.
        check("/bin/bash", Some("manual fix"), K::Other, "/bin/bash");
        // crane append writes `{}`.
        check("", None, K::Unknown, EMPTY_ENTRY_TEXT);
        // A comment alone is all there is to show.
        check("", Some("added by hand"), K::Other, "added by hand");
        check("", BK, K::Unknown, EMPTY_ENTRY_TEXT);
    }

    #[test]
    fn labels() {
        let label = |created_by: &str| Instruction::parse(created_by, None).label().to_string();
        assert_eq!(label("jib"), "jib");
        assert_eq!(label("jib-maven-plugin:3.4.0"), "jib-maven-plugin");
        assert_eq!(label("ko build ko://github.com/example/app"), "ko");
        assert_eq!(label("crane flatten sha256:abc"), "crane");
        assert_eq!(label("bazel build ..."), "bazel");
        assert_eq!(label("RUN make"), "RUN");
        assert_eq!(label(""), "?");
        assert_eq!(Instruction::placeholder(0, 1).label(), "?");
        assert_eq!(
            Instruction::parse("", Some("Imported from -")).label(),
            "IMPORT"
        );
    }

    #[test]
    fn keywords_are_case_sensitive_whole_words() {
        check("run make", None, K::Other, "run make");
        check("RUNNER go", None, K::Other, "RUNNER go");
        check("COPY\tsrc dst", None, K::Copy, "src dst");
        // Behind a shell without `#(nop)` it is a command, not metadata.
        check("/bin/sh -c COPY x y", None, K::Run, "COPY x y");
        check("/bin/sh -c #(nop) frobnicate", None, K::Other, "frobnicate");
        check("/bin/sh -c #(nop) ", None, K::Unknown, EMPTY_ENTRY_TEXT);
    }

    #[test]
    fn shells() {
        check("/bin/bash -c make all", None, K::Run, "make all");
        check(
            "/bin/bash -o pipefail -c curl x | sh",
            None,
            K::Run,
            "curl x | sh",
        );
        check("/bin/bash -euxo pipefail -c make", None, K::Run, "make");
        check("/bin/sh -ec make", None, K::Run, "make");
        check("/usr/bin/env", None, K::Other, "/usr/bin/env");
        check("/bin/sh -c", None, K::Run, "");
        check("/bin/sh -x make", None, K::Other, "/bin/sh -x make");
        // Only the builder's shell goes; one the user typed stays.
        check("sh -c make", None, K::Other, "sh -c make");
        check("RUN sh -c make", None, K::Run, "sh -c make");
        check(
            "/bin/sh -c /bin/sh -c make",
            None,
            K::Run,
            "/bin/sh -c make",
        );
        // Windows images.
        check(
            r"cmd /S /C #(nop) ADD file:0e1ab2b3c4 in C:\ ",
            None,
            K::Add,
            r"file:0e1ab2b3c4 in C:\",
        );
        check(
            "cmd /S /C powershell -Command Install-Thing",
            None,
            K::Run,
            "powershell -Command Install-Thing",
        );
        check(
            "powershell -ExecutionPolicy Bypass -Command $ErrorActionPreference = 'Stop'; iwr x",
            None,
            K::Run,
            "$ErrorActionPreference = 'Stop'; iwr x",
        );
    }

    #[test]
    fn buildkit_exporter_padding() {
        let pad = Some(BUILDKIT_EXPORTER_COMMENT);
        check(
            "pulled from docker.io/library/alpine:3.19@sha256:0a1b2c",
            pad,
            K::From,
            "docker.io/library/alpine:3.19@sha256:0a1b2c",
        );
        check(
            "mount / from exec /bin/sh -c apt-get update",
            pad,
            K::Run,
            "apt-get update",
        );
        check("created by buildkit", pad, K::Other, "created by buildkit");
        // The same text from another writer is not reinterpreted.
        check(
            "pulled from docker.io/library/alpine",
            None,
            K::Other,
            "pulled from docker.io/library/alpine",
        );
    }

    #[test]
    fn display() {
        let display = |created_by: &str| Instruction::parse(created_by, None).display();
        assert_eq!(display("/bin/sh -c apt-get update"), "RUN apt-get update");
        assert_eq!(display(r#"/bin/sh -c #(nop)  CMD ["sh"]"#), r#"CMD ["sh"]"#);
        assert_eq!(display("USER"), "USER");
        assert_eq!(display("jib"), "jib");
        assert_eq!(display(""), EMPTY_ENTRY_TEXT);
        assert_eq!(
            Instruction::placeholder(2, 4).display(),
            "(no history for layer 3 of 4)"
        );
        assert_eq!(Instruction::parse("COPY a b", None).to_string(), "COPY a b");
        assert_eq!(K::Unknown.to_string(), "?");
        assert_eq!(K::Healthcheck.to_string(), "HEALTHCHECK");
        assert_eq!(K::Stopsignal.to_string(), "STOPSIGNAL");
        assert_eq!(K::Other.to_string(), "OTHER");
        assert!(K::From.is_dockerfile() && !K::Other.is_dockerfile());
    }

    #[test]
    fn kind_names_match_serde() {
        for &(keyword, kind) in KEYWORDS {
            assert_eq!(K::from_keyword(keyword), Some(kind));
            assert_eq!(kind.as_str(), keyword);
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(keyword)
            );
        }
        assert_eq!(serde_json::to_value(K::Import).unwrap(), "IMPORT");
        assert_eq!(K::from_keyword("IMPORT"), None);
    }

    #[test]
    fn entry_deserialization() {
        let entries: Vec<HistoryEntry> = serde_json::from_str(
            r#"[{}, {"empty_layer": null}, {"empty_layer": true, "created_by": null},
                {"created": "2025-01-21T23:32:32Z", "created_by": "CMD [\"/hello\"]",
                 "comment": "buildkit.dockerfile.v0", "author": "me", "empty_layer": false}]"#,
        )
        .unwrap();
        assert_eq!(entries[0], HistoryEntry::default());
        assert!(!entries[1].empty_layer);
        assert!(entries[2].empty_layer && entries[2].created_by.is_none());
        assert_eq!(entries[3].author.as_deref(), Some("me"));
        assert_eq!(entries[3].instruction().kind, K::Cmd);
        // Absent fields stay absent on the way out.
        assert_eq!(
            serde_json::to_string(&entries[0]).unwrap(),
            r#"{"empty_layer":false}"#
        );
    }

    fn entry(created_by: &str, empty_layer: bool) -> HistoryEntry {
        HistoryEntry {
            created_by: Some(created_by.to_string()),
            empty_layer,
            ..HistoryEntry::default()
        }
    }

    fn entries_of(pairing: &HistoryPairing) -> Vec<Vec<usize>> {
        pairing.layers.iter().map(|l| l.entries.clone()).collect()
    }

    /// The `small` fixture's history (docker-archive), verbatim.
    const SMALL_HISTORY: &str = r#"[
      {"created":"2026-11-28T09:07:22.985021037Z","created_by":"/bin/sh -c #(nop)  LABEL org.opencontainers.image.title=small org.opencontainers.image.description=layer-explorer test image","empty_layer":true},
      {"created":"2026-11-28T09:07:23.1648595Z","created_by":"/bin/sh -c #(nop) COPY dir:509e0e919c134430a85057294d69ca6061147521bc62413e5575246549ede13e in / "},
      {"created":"2026-11-28T09:07:23.418095162Z","created_by":"/bin/sh -c #(nop)  ENV APP_ENV=production","empty_layer":true},
      {"created":"2026-11-28T09:07:23.577580751Z","created_by":"/bin/sh -c sed -i 's/8080/9090/' /etc/config/app.conf && echo workers=4 >> /etc/config/app.conf && chmod 600 /etc/config/logging.conf"},
      {"created":"2026-11-28T09:07:23.727902877Z","created_by":"/bin/sh -c rm -f /app/tmp/cache.bin /etc/config/logging.conf"},
      {"created":"2026-11-28T09:07:23.865884582Z","created_by":"/bin/sh -c rm -rf /app/static && mkdir -p /app/static/css && cp -r /src/static-v2/. /app/static/"},
      {"created":"2026-11-28T09:07:23.872996937Z","created_by":"/bin/sh -c #(nop) WORKDIR /app","empty_layer":true},
      {"created":"2026-11-28T09:07:23.878919017Z","created_by":"/bin/sh -c #(nop)  ENTRYPOINT [\"/app/main\"]","empty_layer":true},
      {"created":"2026-11-28T09:07:23.884671421Z","created_by":"/bin/sh -c #(nop)  CMD [\"--help\"]","empty_layer":true}
    ]"#;

    #[test]
    fn pairs_small_fixture() {
        let history: Vec<HistoryEntry> = serde_json::from_str(SMALL_HISTORY).unwrap();
        let pairing = pair_history(&history, 4);
        assert_eq!(pairing.warning, None);
        assert_eq!(
            entries_of(&pairing),
            vec![vec![0, 1], vec![2, 3], vec![4], vec![5]]
        );
        assert_eq!(pairing.trailing, vec![6, 7, 8]);
        let kinds: Vec<_> = pairing.layers.iter().map(|l| l.instruction.kind).collect();
        assert_eq!(kinds, vec![K::Copy, K::Run, K::Run, K::Run]);
        assert_eq!(
            pairing.layers[3].instruction.text,
            "rm -rf /app/static && mkdir -p /app/static/css && cp -r /src/static-v2/. /app/static/"
        );
    }

    #[test]
    fn pairs_dive_legacy_fixture() {
        // The shape of dive-docker-legacy (15 entries, 14 layers): its first
        // three entries verbatim, its twelve RUNs abbreviated. The base
        // image's CMD lands with the layer after it.
        let mut history = vec![
            entry("/bin/sh -c #(nop) ADD file:ce026b62356eec3ad1214f92be2c9dc063fe205bd5e600be3492c4dfb17148bd in / ", false),
            entry(r#"/bin/sh -c #(nop)  CMD ["sh"]"#, true),
            entry("/bin/sh -c #(nop) ADD file:139c3708fb6261126453e34483abd8bf7b26ed16d952fd976994d68e72d93be2 in /somefile.txt ", false),
        ];
        history.extend((0..12).map(|i| entry(&format!("/bin/sh -c step {i}"), false)));
        let pairing = pair_history(&history, 14);
        assert_eq!(pairing.warning, None);
        assert_eq!(pairing.layers[0].entries, vec![0]);
        assert_eq!(pairing.layers[1].entries, vec![1, 2]);
        assert_eq!(pairing.layers[1].instruction.kind, K::Add);
        assert_eq!(pairing.layers[13].entries, vec![14]);
        assert_eq!(pairing.layers[13].instruction.display(), "RUN step 11");
        assert!(pairing.trailing.is_empty());
    }

    #[test]
    fn buildkit_workdir_has_a_layer() {
        // BuildKit commits WORKDIR with a layer but without `# buildkit`.
        let history = vec![
            entry("COPY --from=base / / # buildkit", false),
            entry("WORKDIR /app", false),
            entry("ENV GOOS=linux", true),
            entry("RUN |1 GOOS=linux /bin/sh -c go build # buildkit", false),
            entry(r#"CMD ["/app/server"]"#, true),
        ];
        let pairing = pair_history(&history, 3);
        assert_eq!(pairing.warning, None);
        assert_eq!(entries_of(&pairing), vec![vec![0], vec![1], vec![2, 3]]);
        assert_eq!(pairing.layers[1].instruction.kind, K::Workdir);
        assert_eq!(pairing.layers[2].instruction.display(), "RUN go build");
        assert_eq!(pairing.trailing, vec![4]);
    }

    #[test]
    fn buildah_single_layer() {
        // Without --layers buildah marks every new entry empty but the last.
        let history = vec![
            entry("/bin/sh -c #(nop) ADD file:aa in / ", false),
            entry(r#"/bin/sh -c #(nop)  CMD ["/bin/sh"]"#, true),
            entry("/bin/sh -c #(nop) COPY dir:bb in /app ", true),
            entry("/bin/sh -c make -C /app", true),
            entry(r#"/bin/sh -c #(nop) CMD ["/app/run"]"#, false),
        ];
        let pairing = pair_history(&history, 2);
        assert_eq!(pairing.warning, None);
        assert_eq!(entries_of(&pairing), vec![vec![0], vec![1, 2, 3, 4]]);
        assert_eq!(pairing.layers[1].instruction.kind, K::Cmd);
        assert!(pairing.trailing.is_empty());
    }

    #[test]
    fn more_layers_than_history() {
        let history = vec![
            entry("COPY a / # buildkit", false),
            entry(r#"CMD ["a"]"#, true),
        ];
        let pairing = pair_history(&history, 3);
        let warning = pairing.warning.as_deref().unwrap();
        assert!(warning.contains("1 layer-producing entry") && warning.contains("3 layers"));
        assert!(!warning.contains('\n'));
        assert_eq!(pairing.layers.len(), 3);
        assert_eq!(pairing.layers[0].entries, vec![0]);
        assert_eq!(pairing.layers[0].instruction.kind, K::Copy);
        for (index, layer) in pairing.layers.iter().enumerate().skip(1) {
            assert!(layer.entries.is_empty());
            assert_eq!(layer.instruction, Instruction::placeholder(index, 3));
        }
        assert_eq!(
            pairing.layers[2].instruction.text,
            "(no history for layer 3 of 3)"
        );
        assert_eq!(pairing.trailing, vec![1]);
    }

    #[test]
    fn more_history_than_layers() {
        let history = vec![
            entry("ENV A=1", true),
            entry("COPY a / # buildkit", false),
            entry("RUN /bin/sh -c b # buildkit", false),
            entry("RUN /bin/sh -c c # buildkit", false),
            entry(r#"CMD ["a"]"#, true),
        ];
        let pairing = pair_history(&history, 2);
        let warning = pairing.warning.as_deref().unwrap();
        assert!(warning.contains("3 layer-producing entries") && warning.contains("2 layers"));
        assert_eq!(entries_of(&pairing), vec![vec![0, 1], vec![2]]);
        assert_eq!(pairing.trailing, vec![3, 4]);
    }

    #[test]
    fn buildkit_padding_pairs_like_any_entry() {
        // BuildKit appends padding when its history is short of layers, so
        // the counts agree and the padding describes the top layer.
        let pad = |created_by: &str| HistoryEntry {
            created_by: Some(created_by.to_string()),
            comment: Some(BUILDKIT_EXPORTER_COMMENT.to_string()),
            ..HistoryEntry::default()
        };
        let history = vec![
            entry("COPY a / # buildkit", false),
            entry(r#"CMD ["a"]"#, true),
            pad("mount / from exec /bin/sh -c make"),
        ];
        let pairing = pair_history(&history, 2);
        assert_eq!(pairing.warning, None);
        assert_eq!(entries_of(&pairing), vec![vec![0], vec![1, 2]]);
        assert_eq!(pairing.layers[1].instruction.display(), "RUN make");
    }

    #[test]
    fn empty_history() {
        let pairing = pair_history(&[], 0);
        assert_eq!(pairing.layers, vec![]);
        assert_eq!(pairing.warning, None);
        assert!(pairing.trailing.is_empty());

        let pairing = pair_history(&[], 2);
        assert!(pairing
            .warning
            .as_deref()
            .unwrap()
            .contains("0 layer-producing entries"));
        assert_eq!(pairing.layers.len(), 2);
        assert!(pairing
            .layers
            .iter()
            .all(|l| l.entries.is_empty() && l.instruction.kind == K::Unknown));
    }

    #[test]
    fn history_without_layers() {
        let history = vec![entry("COPY a /", false), entry(r#"CMD ["a"]"#, true)];
        let pairing = pair_history(&history, 0);
        assert!(pairing.warning.is_some());
        assert!(pairing.layers.is_empty());
        assert_eq!(pairing.trailing, vec![0, 1]);
    }

    #[test]
    fn crane_append_entry_pairs() {
        // crane append adds `{}`: no description, but it does have a layer.
        let history: Vec<HistoryEntry> =
            serde_json::from_str(r#"[{"created_by": "COPY a / # buildkit"}, {}]"#).unwrap();
        let pairing = pair_history(&history, 2);
        assert_eq!(pairing.warning, None);
        assert_eq!(entries_of(&pairing), vec![vec![0], vec![1]]);
        assert_eq!(pairing.layers[1].instruction.kind, K::Unknown);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn parse_never_panics_and_keeps_raw(created_by in ".{0,60}", comment in proptest::option::of(".{0,20}")) {
                let instruction = Instruction::parse(&created_by, comment.as_deref());
                prop_assert_eq!(instruction.raw, created_by);
            }

            #[test]
            fn build_arg_like_input_never_panics(s in r"\|[0-9]{0,2}( [A-Za-zé_]{0,3}=[a-zé ]{0,4}){0,3}( /bin/sh -c)? ?[a-z#()]{0,6}") {
                let _ = Instruction::parse(&s, None);
            }

            #[test]
            fn pairing_partitions_history(
                empties in proptest::collection::vec(any::<bool>(), 0..20),
                layer_count in 0usize..20,
            ) {
                let history: Vec<HistoryEntry> =
                    empties.iter().map(|&empty| entry("RUN x", empty)).collect();
                let pairing = pair_history(&history, layer_count);
                prop_assert_eq!(pairing.layers.len(), layer_count);
                let producing = empties.iter().filter(|&&e| !e).count();
                prop_assert_eq!(pairing.warning.is_some(), producing != layer_count);
                // Every entry is shown exactly once, in order.
                let mut seen: Vec<usize> =
                    pairing.layers.iter().flat_map(|l| l.entries.iter().copied()).collect();
                seen.extend(&pairing.trailing);
                prop_assert_eq!(seen, (0..history.len()).collect::<Vec<_>>());
                // A paired layer ends with its own, layer-producing entry.
                for layer in &pairing.layers {
                    if let Some(&last) = layer.entries.last() {
                        prop_assert!(!history[last].empty_layer);
                    }
                }
            }
        }
    }
}
