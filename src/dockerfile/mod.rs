//! The Dockerfile an image was built from, and which of its lines made which layer.
//!
//! [`Dockerfile::parse`] reads the file with the `parse-dockerfile` crate (heredocs, line
//! continuations, the `escape` directive, JSON versus shell form) and keeps what the
//! mapping and the views need: every instruction with its line span, the stages
//! (`FROM … AS name`), `ARG`s and `COPY --from`. [`map()`] then pairs the final stage's
//! instructions with the image's history entries and layers (see [`map`](mod@map)).
//!
//! A Dockerfile is untrusted input like an image: its size and instruction count are
//! bounded ([`MAX_DOCKERFILE_BYTES`], [`MAX_INSTRUCTIONS`]) and every failure is a
//! [`DockerfileError`] naming the line.

pub mod map;

pub use map::{map, LayerOrigin, Mapping, MatchQuality, StepMatch};

use crate::image::history::InstructionKind;
use parse_dockerfile as pd;
use std::path::Path;

/// Largest Dockerfile read (real ones are a few kB).
pub const MAX_DOCKERFILE_BYTES: u64 = 4 * 1024 * 1024;
/// Most instructions accepted in one Dockerfile.
pub const MAX_INSTRUCTIONS: usize = 10_000;

/// Why a Dockerfile cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DockerfileError {
    #[error("{path}: {detail}")]
    Read { path: String, detail: String },
    /// Includes the crate's limit: a heredoc is recognised only where the arguments start
    /// (`RUN <<EOF [command]`, `COPY <<EOF dest`).
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the Dockerfile has no FROM")]
    NoFrom,
    #[error("the Dockerfile is too large ({size} bytes, limit {limit})")]
    TooLarge { size: u64, limit: u64 },
    #[error("the Dockerfile has too many instructions ({count}, limit {limit})")]
    TooManyInstructions { count: usize, limit: usize },
}

impl DockerfileError {
    /// The library's error for the Dockerfile the user named as `path`.
    pub fn in_file(self, path: impl Into<String>) -> crate::Error {
        crate::Error::Dockerfile {
            path: path.into(),
            source: Box::new(self),
        }
    }
}

/// How a `RUN`, `CMD` or `ENTRYPOINT` gives its command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Form {
    /// A JSON array, run without a shell.
    Exec,
    /// A string run by the shell (or heredocs).
    Shell,
}

/// One instruction of the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    pub kind: InstructionKind,
    /// 1-based line of the keyword.
    pub line: usize,
    /// 1-based last line (continuations and heredoc bodies included).
    pub end_line: usize,
    /// Index into [`Dockerfile::stages`]; `None` for an `ARG` before the first `FROM`.
    pub stage: Option<usize>,
    /// The instruction on one line: continuations joined, whitespace collapsed, heredoc
    /// bodies left out. Raw Dockerfile text: escape it before display.
    pub text: String,
    /// Flags before the arguments (`--mount=…`, `--from=…`, `--chmod=…`), as written.
    pub flags: Vec<String>,
    /// The arguments after the keyword and flags, continuations removed. Exec form: the
    /// array's strings joined by spaces. A heredoc `RUN`: its first line from the
    /// heredoc marker on (`<<EOF cat > /x`), the bodies being in [`Step::heredocs`].
    pub arguments: String,
    /// `RUN`, `CMD`, `ENTRYPOINT` (and `HEALTHCHECK CMD`): exec or shell form.
    pub form: Option<Form>,
    /// `COPY`/`ADD --from=NAME`: the stage or image copied from.
    pub copy_from: Option<String>,
    /// Heredoc bodies of `RUN`, `COPY` or `ADD`, in order.
    pub heredocs: Vec<String>,
}

/// One `FROM` and the instructions up to the next.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stage {
    /// `AS name`, if given.
    pub name: Option<String>,
    /// The image (or earlier stage) after `FROM`, as written (`${VAR}` unexpanded).
    pub base: String,
    /// Index of this stage's `FROM` in [`Dockerfile::steps`].
    pub from: usize,
    /// Indices of this stage's instructions after its `FROM`, in order.
    pub steps: Vec<usize>,
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Dockerfile {
    /// Every instruction, in file order (`FROM`s and global `ARG`s included).
    pub steps: Vec<Step>,
    pub stages: Vec<Stage>,
}

impl Dockerfile {
    /// Read and parse the Dockerfile at `path`.
    pub fn read(path: &Path) -> Result<Dockerfile, DockerfileError> {
        use std::io::Read;
        let read_error = |e: std::io::Error| DockerfileError::Read {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut bytes = Vec::new();
        file.take(MAX_DOCKERFILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        if bytes.len() as u64 > MAX_DOCKERFILE_BYTES {
            return Err(DockerfileError::TooLarge {
                size: std::fs::metadata(path).map_or(bytes.len() as u64, |m| m.len()),
                limit: MAX_DOCKERFILE_BYTES,
            });
        }
        let text = String::from_utf8(bytes).map_err(|e| DockerfileError::Read {
            path: path.display().to_string(),
            detail: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        })?;
        Dockerfile::parse(&text)
    }

    /// Parse Dockerfile text.
    pub fn parse(text: &str) -> Result<Dockerfile, DockerfileError> {
        if text.len() as u64 > MAX_DOCKERFILE_BYTES {
            return Err(DockerfileError::TooLarge {
                size: text.len() as u64,
                limit: MAX_DOCKERFILE_BYTES,
            });
        }
        let parsed = pd::parse(text).map_err(|e| match e.line() {
            // The crate's "expected at least one FROM instruction" has no position.
            0 => DockerfileError::NoFrom,
            line => DockerfileError::Syntax {
                line,
                column: e.column(),
                message: format!("{e:#}"),
            },
        })?;
        if parsed.instructions.len() > MAX_INSTRUCTIONS {
            return Err(DockerfileError::TooManyInstructions {
                count: parsed.instructions.len(),
                limit: MAX_INSTRUCTIONS,
            });
        }
        let escape = parsed
            .parser_directives
            .escape
            .as_ref()
            .map_or('\\', |d| d.value.value);
        let lines = LineIndex::new(text);
        let mut steps = Vec::with_capacity(parsed.instructions.len());
        let mut stages: Vec<Stage> = Vec::new();
        for instruction in &parsed.instructions {
            let index = steps.len();
            let mut step = convert(instruction, text, escape, &lines);
            if let pd::Instruction::From(from) = instruction {
                stages.push(Stage {
                    name: from.as_.as_ref().map(|(_, name)| name.value.to_string()),
                    base: from.image.value.to_string(),
                    from: index,
                    steps: Vec::new(),
                });
            } else if let Some(stage) = stages.last_mut() {
                stage.steps.push(index);
            }
            step.stage = stages.len().checked_sub(1);
            steps.push(step);
        }
        if stages.is_empty() {
            return Err(DockerfileError::NoFrom);
        }
        Ok(Dockerfile { steps, stages })
    }

    /// The stage whose result is the image (the last one).
    pub fn final_stage(&self) -> &Stage {
        // parse() refuses a Dockerfile without FROM.
        &self.stages[self.stages.len() - 1]
    }

    /// The stage named `name` (case-insensitive, as builders match it) or numbered `name`.
    pub fn stage_by_reference(&self, name: &str) -> Option<usize> {
        self.stages
            .iter()
            .position(|s| {
                s.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .or_else(|| {
                name.parse::<usize>()
                    .ok()
                    .filter(|&i| i < self.stages.len())
            })
    }

    /// The stages the final image is made of, root first: a stage built `FROM` an
    /// earlier stage carries that stage's layers and history.
    pub fn final_chain(&self) -> Vec<usize> {
        let mut chain = vec![self.stages.len() - 1];
        loop {
            let current = chain[chain.len() - 1];
            match self.stage_by_reference(&self.stages[current].base) {
                // Only earlier stages count: a later one cannot be a base.
                Some(parent) if parent < current && !chain.contains(&parent) => chain.push(parent),
                _ => break,
            }
        }
        chain.reverse();
        chain
    }

    /// The external image the final image starts from (`FROM` of the chain's root).
    pub fn base_image(&self) -> &str {
        &self.stages[self.final_chain()[0]].base
    }

    /// The name of stage `index`, or its number when it has none.
    pub fn stage_label(&self, index: usize) -> String {
        match self.stages.get(index).and_then(|s| s.name.clone()) {
            Some(name) => name,
            None => index.to_string(),
        }
    }
}

/// Byte offset to 1-based line number.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(at, _)| at + 1));
        LineIndex { starts }
    }

    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }
}

fn convert(instruction: &pd::Instruction<'_>, text: &str, escape: char, lines: &LineIndex) -> Step {
    use pd::Instruction as I;
    let mut spans: Vec<std::ops::Range<usize>> = Vec::new();
    let mut flags: &[pd::Flag<'_>] = &[];
    let mut form = None;
    let mut copy_from = None;
    let mut heredocs = Vec::new();
    let (kind, keyword, arguments): (InstructionKind, &pd::Keyword, String) = match instruction {
        I::Add(i) => {
            flags = &i.options;
            sources(text, &i.src, &mut spans, &mut heredocs);
            spans.push(i.dest.span.clone());
            let args = source_text(&i.src, &i.dest);
            (InstructionKind::Add, &i.add, args)
        }
        I::Copy(i) => {
            flags = &i.options;
            sources(text, &i.src, &mut spans, &mut heredocs);
            spans.push(i.dest.span.clone());
            copy_from = i
                .options
                .iter()
                .find(|f| f.name.value == "from")
                .and_then(|f| f.value.as_ref())
                .map(|v| v.value.to_string());
            let args = source_text(&i.src, &i.dest);
            (InstructionKind::Copy, &i.copy, args)
        }
        I::Arg(i) => {
            spans.push(i.arguments.span.clone());
            (InstructionKind::Arg, &i.arg, i.arguments.value.to_string())
        }
        I::Cmd(i) => {
            let (args, f) = command(&i.arguments, escape, &mut spans);
            form = Some(f);
            (InstructionKind::Cmd, &i.cmd, args)
        }
        I::Entrypoint(i) => {
            let (args, f) = command(&i.arguments, escape, &mut spans);
            form = Some(f);
            (InstructionKind::Entrypoint, &i.entrypoint, args)
        }
        I::Env(i) => {
            spans.push(i.arguments.span.clone());
            (InstructionKind::Env, &i.env, i.arguments.value.to_string())
        }
        I::Expose(i) => {
            spans.extend(i.arguments.iter().map(|a| a.span.clone()));
            let args = join(i.arguments.iter().map(|a| a.value.as_ref()));
            (InstructionKind::Expose, &i.expose, args)
        }
        I::From(i) => {
            flags = &i.options;
            spans.push(i.image.span.clone());
            if let Some((_, name)) = &i.as_ {
                spans.push(name.span.clone());
            }
            let mut args = i.image.value.to_string();
            if let Some((_, name)) = &i.as_ {
                args.push_str(" AS ");
                args.push_str(&name.value);
            }
            (InstructionKind::From, &i.from, args)
        }
        I::Healthcheck(i) => {
            flags = &i.options;
            let args = match &i.arguments {
                pd::HealthcheckArguments::Cmd { cmd, arguments, .. } => {
                    spans.push(cmd.span.clone());
                    let (args, f) = command(arguments, escape, &mut spans);
                    form = Some(f);
                    format!("CMD {args}")
                }
                pd::HealthcheckArguments::None { none, .. } => {
                    spans.push(none.span.clone());
                    "NONE".to_string()
                }
                _ => String::new(),
            };
            (InstructionKind::Healthcheck, &i.healthcheck, args)
        }
        I::Label(i) => {
            spans.push(i.arguments.span.clone());
            (
                InstructionKind::Label,
                &i.label,
                i.arguments.value.to_string(),
            )
        }
        I::Maintainer(i) => {
            spans.push(i.name.span.clone());
            (
                InstructionKind::Maintainer,
                &i.maintainer,
                i.name.value.to_string(),
            )
        }
        I::Onbuild(i) => {
            let inner = convert(&i.instruction, text, escape, lines);
            // The inner instruction's span ends the ONBUILD's.
            spans.push(0..line_end_offset(text, lines, inner.end_line));
            (InstructionKind::Onbuild, &i.onbuild, inner.text)
        }
        I::Run(i) => {
            flags = &i.options;
            let (mut args, f) = command(&i.arguments, escape, &mut spans);
            form = Some(f);
            if let (false, pd::Command::Shell(shell)) = (i.here_docs.is_empty(), &i.arguments) {
                // The crate's shell text starts after the heredoc's `<<EOF`; builders
                // record it (`/bin/sh -c <<EOF cat > /x`): keep the line as written.
                let after_flags = i
                    .options
                    .iter()
                    .map(|f| f.span().end)
                    .max()
                    .unwrap_or(i.run.span.end);
                if let Some(written) = text.get(after_flags..shell.span.end.max(after_flags)) {
                    args = remove_continuations(written.trim(), escape);
                }
            }
            for doc in &i.here_docs {
                spans.push(heredoc_span(text, doc));
                heredocs.push(doc.value.to_string());
            }
            (InstructionKind::Run, &i.run, args)
        }
        I::Shell(i) => {
            spans.extend(i.arguments.iter().map(|a| a.span.clone()));
            let args = json_array(i.arguments.iter().map(|a| a.value.as_ref()));
            (InstructionKind::Shell, &i.shell, args)
        }
        I::Stopsignal(i) => {
            spans.push(i.arguments.span.clone());
            (
                InstructionKind::Stopsignal,
                &i.stopsignal,
                i.arguments.value.to_string(),
            )
        }
        I::User(i) => {
            spans.push(i.arguments.span.clone());
            (
                InstructionKind::User,
                &i.user,
                i.arguments.value.to_string(),
            )
        }
        I::Volume(i) => {
            let args = match &i.arguments {
                pd::JsonOrStringArray::Json(array) => {
                    spans.push(array.span.clone());
                    join(array.value.iter().map(|a| a.value.as_ref()))
                }
                pd::JsonOrStringArray::String(items) => {
                    spans.extend(items.iter().map(|a| a.span.clone()));
                    join(items.iter().map(|a| a.value.as_ref()))
                }
            };
            (InstructionKind::Volume, &i.volume, args)
        }
        I::Workdir(i) => {
            spans.push(i.arguments.span.clone());
            (
                InstructionKind::Workdir,
                &i.workdir,
                i.arguments.value.to_string(),
            )
        }
        // A future instruction kind: keep its keyword line, no arguments.
        _ => {
            return Step {
                kind: InstructionKind::Unknown,
                line: 0,
                end_line: 0,
                stage: None,
                text: String::new(),
                flags: Vec::new(),
                arguments: String::new(),
                form: None,
                copy_from: None,
                heredocs: Vec::new(),
            }
        }
    };
    spans.extend(flags.iter().map(|f| f.span()));
    let start = keyword.span.start;
    let end = spans
        .iter()
        .map(|s| s.end)
        .chain(std::iter::once(keyword.span.end))
        .max()
        .unwrap_or(start);
    let line = lines.line(start);
    let end_line = lines.line(end.saturating_sub(1).max(start));
    let flags: Vec<String> = flags
        .iter()
        .map(|f| text.get(f.span()).unwrap_or_default().to_string())
        .collect();
    let display = if heredocs.is_empty() {
        one_line(kind, &flags, &arguments, form, instruction)
    } else {
        // Heredoc bodies follow the first line: show the line as written.
        let first = text[start..].lines().next().unwrap_or_default();
        collapse_whitespace(first)
    };
    Step {
        kind,
        line,
        end_line,
        stage: None,
        text: display,
        flags,
        arguments,
        form,
        copy_from,
        heredocs,
    }
}

/// The offset just past the end of 1-based `line`.
fn line_end_offset(text: &str, lines: &LineIndex, line: usize) -> usize {
    lines
        .starts
        .get(line)
        .map_or(text.len(), |&next| next.saturating_sub(1).max(1))
}

/// A heredoc's body and its closing delimiter line (the crate's span ends at the body).
fn heredoc_span(text: &str, doc: &pd::HereDoc<'_>) -> std::ops::Range<usize> {
    let end = text
        .get(doc.span.end..)
        .and_then(|rest| rest.find('\n'))
        .map_or(text.len(), |at| doc.span.end + at);
    doc.span.start..end
}

fn sources(
    text: &str,
    src: &[pd::Source<'_>],
    spans: &mut Vec<std::ops::Range<usize>>,
    heredocs: &mut Vec<String>,
) {
    for source in src {
        match source {
            pd::Source::Path(path) => spans.push(path.span.clone()),
            pd::Source::HereDoc(doc) => {
                spans.push(heredoc_span(text, doc));
                heredocs.push(doc.value.to_string());
            }
            _ => {}
        }
    }
}

/// `COPY`/`ADD` arguments as written: sources then destination (heredocs as `<<`).
fn source_text(src: &[pd::Source<'_>], dest: &pd::UnescapedString<'_>) -> String {
    let mut words: Vec<&str> = src
        .iter()
        .map(|s| match s {
            pd::Source::Path(path) => path.value.as_ref(),
            _ => "<<",
        })
        .collect();
    words.push(dest.value.as_ref());
    words.join(" ")
}

/// A command's text: exec form joined by spaces, shell form with continuations removed.
fn command(
    command: &pd::Command<'_>,
    escape: char,
    spans: &mut Vec<std::ops::Range<usize>>,
) -> (String, Form) {
    match command {
        pd::Command::Exec(array) => {
            spans.push(array.span.clone());
            (
                join(array.value.iter().map(|a| a.value.as_ref())),
                Form::Exec,
            )
        }
        pd::Command::Shell(shell) => {
            spans.push(shell.span.clone());
            (remove_continuations(shell.value, escape), Form::Shell)
        }
        // A future form: no text known.
        _ => (String::new(), Form::Shell),
    }
}

/// Join continued lines as builders do: the escape character and its newline go, comment
/// lines between continued lines go, the rest is kept.
pub(crate) fn remove_continuations(s: &str, escape: char) -> String {
    let mut out = String::with_capacity(s.len());
    let mut lines = s.split('\n').peekable();
    let mut first = true;
    while let Some(line) = lines.next() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if !first && line.trim_start().starts_with('#') {
            continue;
        }
        first = false;
        let trimmed = line.trim_end();
        match trimmed.strip_suffix(escape) {
            Some(rest) if lines.peek().is_some() => out.push_str(rest),
            _ => {
                out.push_str(line);
                if lines.peek().is_some() {
                    out.push('\n');
                }
            }
        }
    }
    out
}

fn join<'a>(words: impl Iterator<Item = &'a str>) -> String {
    words.collect::<Vec<_>>().join(" ")
}

fn json_array<'a>(words: impl Iterator<Item = &'a str>) -> String {
    serde_json::to_string(&words.collect::<Vec<_>>()).unwrap_or_default()
}

/// The instruction as one display line.
fn one_line(
    kind: InstructionKind,
    flags: &[String],
    arguments: &str,
    form: Option<Form>,
    instruction: &pd::Instruction<'_>,
) -> String {
    let arguments = match (instruction, form) {
        // Exec form is shown as the array the user wrote.
        (pd::Instruction::Run(i), Some(Form::Exec)) => exec_text(&i.arguments),
        (pd::Instruction::Cmd(i), _) => exec_text(&i.arguments),
        (pd::Instruction::Entrypoint(i), _) => exec_text(&i.arguments),
        _ => arguments.to_string(),
    };
    let mut words = vec![kind.as_str().to_string()];
    words.extend(flags.iter().cloned());
    words.push(arguments);
    collapse_whitespace(&words.join(" "))
}

fn exec_text(command: &pd::Command<'_>) -> String {
    match command {
        pd::Command::Exec(array) => json_array(array.value.iter().map(|a| a.value.as_ref())),
        pd::Command::Shell(shell) => shell.value.to_string(),
        _ => String::new(),
    }
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_lines_and_forms() {
        let text = "\
# syntax=docker/dockerfile:1
ARG GO=1.22
FROM golang:${GO} AS build
RUN --mount=type=cache,target=/root/.cache \\
    go build \\
      -o /app .
FROM alpine
COPY --from=build /app /usr/bin/app
CMD [\"/usr/bin/app\", \"serve\"]
";
        let df = Dockerfile::parse(text).unwrap();
        assert_eq!(df.stages.len(), 2);
        assert_eq!(df.stages[0].name.as_deref(), Some("build"));
        assert_eq!(df.stages[0].base, "golang:${GO}");
        assert_eq!(df.steps[0].kind, InstructionKind::Arg);
        assert_eq!(df.steps[0].stage, None);
        let run = &df.steps[2];
        assert_eq!((run.line, run.end_line), (4, 6));
        assert_eq!(run.flags, ["--mount=type=cache,target=/root/.cache"]);
        assert_eq!(run.form, Some(Form::Shell));
        assert_eq!(collapse_whitespace(&run.arguments), "go build -o /app .");
        assert_eq!(
            run.text,
            "RUN --mount=type=cache,target=/root/.cache go build -o /app ."
        );
        let copy = &df.steps[4];
        assert_eq!(copy.copy_from.as_deref(), Some("build"));
        assert_eq!(copy.stage, Some(1));
        let cmd = &df.steps[5];
        assert_eq!(cmd.form, Some(Form::Exec));
        assert_eq!(cmd.arguments, "/usr/bin/app serve");
        assert_eq!(cmd.text, "CMD [\"/usr/bin/app\",\"serve\"]");
        assert_eq!(df.final_chain(), [1]);
        assert_eq!(df.base_image(), "alpine");
    }

    #[test]
    fn heredocs_span_their_bodies() {
        let text = "FROM scratch\nRUN <<EOF\necho one\necho two\nEOF\nCOPY <<EOT /etc/x\nhello\nEOT\nUSER 1\n";
        let df = Dockerfile::parse(text).unwrap();
        let run = &df.steps[1];
        assert_eq!((run.line, run.end_line), (2, 5));
        assert_eq!(run.heredocs, ["echo one\necho two\n"]);
        assert_eq!(run.text, "RUN <<EOF");
        assert_eq!(run.arguments, "<<EOF");
        let copy = &df.steps[2];
        assert_eq!((copy.line, copy.end_line), (6, 8));
        assert_eq!(df.steps[3].line, 9);

        // Flags stay flags; the marker and the command after it are the arguments.
        let text = "FROM scratch\nRUN --mount=type=tmpfs,target=/t <<'EOF'  cat > /x\nbody\nEOF\n";
        let run = &Dockerfile::parse(text).unwrap().steps[1];
        assert_eq!(run.flags, ["--mount=type=tmpfs,target=/t"]);
        assert_eq!(run.arguments, "<<'EOF'  cat > /x");
        assert_eq!(run.heredocs, ["body\n"]);
        assert_eq!((run.line, run.end_line), (2, 4));
    }

    #[test]
    fn escape_directive_changes_the_continuation_character() {
        let text = "# escape=`\nFROM scratch\nRUN echo a `\n  b\n";
        let df = Dockerfile::parse(text).unwrap();
        assert_eq!((df.steps[1].line, df.steps[1].end_line), (3, 4));
        assert_eq!(collapse_whitespace(&df.steps[1].arguments), "echo a b");
    }

    #[test]
    fn a_chain_of_stages_is_followed() {
        let df = Dockerfile::parse(
            "FROM debian AS base\nRUN a\nFROM base AS deps\nRUN b\nFROM deps\nRUN c\n",
        )
        .unwrap();
        assert_eq!(df.final_chain(), [0, 1, 2]);
        assert_eq!(df.base_image(), "debian");
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let error = Dockerfile::parse("RUN x\n").unwrap_err();
        assert_eq!(error.to_string(), "line 1, column 1: expected FROM");
        assert_eq!(
            Dockerfile::parse("# only a comment\n").unwrap_err(),
            DockerfileError::NoFrom
        );
        let error = Dockerfile::parse("FROM a\nRUN <<EOF\nnever closed\n").unwrap_err();
        assert!(matches!(error, DockerfileError::Syntax { .. }), "{error:?}");
    }
}
