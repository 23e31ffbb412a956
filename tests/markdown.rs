//! The Markdown files render as they read.
//!
//! GitHub renders README.md with a CommonMark parser; a person (or an editor, or a diff)
//! reads the raw file line by line. The two disagree on a fence line with text after it
//! (```` ``` The user-wasted ratio… ````): a reader takes it as the end of the code block,
//! CommonMark does not (a closing fence may carry nothing but spaces), so everything after
//! it rendered as one grey block, headings included. This test parses each file with
//! pulldown-cmark and compares it with what a line-based reader sees:
//!
//! - every fenced code block CommonMark finds is closed before the file ends;
//! - the code blocks are the same for both: each fence a reader sees open or close is one
//!   where CommonMark opens or closes a block;
//! - every line that reads as a heading (`#` … `######` at the start of a line, outside
//!   the reader's code blocks) renders as a heading. README.md has no table of contents,
//!   so instead of the headings a contents list would name, every heading of every file
//!   is checked: stricter, and nothing to keep in step by hand;
//! - every relative link names a file that exists, and every `#anchor` (in the same file
//!   or another one checked here) names a heading there, as GitHub forms heading ids.
//!
//! Checked: README.md, PERFORMANCE.md, demo/README.md, docs/*.md, tests/fixtures/README.md
//! and tests/schemas/README.md, whichever exist.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files checked, relative to the repository root.
fn files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = [
        "README.md",
        "PERFORMANCE.md",
        "demo/README.md",
        "tests/fixtures/README.md",
        "tests/schemas/README.md",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path.strip_prefix(root()).unwrap().to_path_buf());
        }
    }
    files.retain(|file| root().join(file).exists());
    files.sort();
    files
}

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
}

/// A fenced code block: its first and last line (1-based), and whether a closing fence
/// ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    first: usize,
    last: usize,
    closed: bool,
}

/// What CommonMark makes of a document.
#[derive(Debug, Default)]
struct Rendered {
    blocks: Vec<Block>,
    /// Lines (1-based) where a heading starts.
    headings: BTreeSet<usize>,
    /// Heading ids as GitHub forms them.
    anchors: BTreeSet<String>,
    /// Link destinations, with their line.
    links: Vec<(usize, String)>,
}

/// The fence a line opens with, as (character, length), ignoring indentation: "```rust" is
/// ('`', 3).
fn fence(line: &str) -> Option<(char, usize)> {
    let line = line.trim_start();
    let ch = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = line.chars().take_while(|c| *c == ch).count();
    (len >= 3).then_some((ch, len))
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

fn render(text: &str) -> Rendered {
    let mut rendered = Rendered::default();
    let mut heading: Option<(usize, String)> = None;
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for (event, range) in Parser::new_ext(text, options()).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_))) => {
                let body = &text[range.clone()];
                let lines: Vec<&str> = body.trim_end_matches('\n').lines().collect();
                let opening = fence(lines[0]).unwrap();
                // Closed when there is a last line that is only a fence of the same
                // character, at least as long as the opening one.
                let closed = lines.len() > 1
                    && fence(lines[lines.len() - 1]).is_some_and(|(ch, len)| {
                        ch == opening.0
                            && len >= opening.1
                            && lines[lines.len() - 1].trim().chars().all(|c| c == ch)
                    });
                rendered.blocks.push(Block {
                    first: line_of(text, range.start),
                    last: line_of(text, range.start) + lines.len() - 1,
                    closed,
                });
            }
            Event::Start(Tag::Heading { .. }) => {
                let line = line_of(text, range.start);
                rendered.headings.insert(line);
                heading = Some((line, String::new()));
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, title)) = heading.as_mut() {
                    title.push_str(&t);
                }
            }
            Event::End(pulldown_cmark::TagEnd::Heading(_)) => {
                let (_, title) = heading.take().unwrap();
                let id = github_id(&title);
                let n = ids.entry(id.clone()).or_insert(0);
                rendered.anchors.insert(if *n == 0 {
                    id.clone()
                } else {
                    format!("{id}-{n}")
                });
                *n += 1;
            }
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                rendered
                    .links
                    .push((line_of(text, range.start), dest_url.to_string()));
            }
            _ => {}
        }
    }
    rendered
}

/// A heading's id as GitHub makes it: lower case, spaces to hyphens, punctuation other
/// than `-` and `_` dropped.
fn github_id(title: &str) -> String {
    title
        .trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// What a line-based reader sees: code blocks from a fence line to the next line that
/// starts with as long a fence of the same character (whatever follows it), and headings.
fn read(text: &str) -> (Vec<Block>, Vec<(usize, String)>) {
    let mut blocks = Vec::new();
    let mut headings = Vec::new();
    let mut open: Option<(char, usize, usize)> = None;
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        match (open, fence(line)) {
            (None, Some((ch, len))) => open = Some((ch, len, n)),
            (Some((ch, len, first)), Some((c, l))) if c == ch && l >= len => {
                blocks.push(Block {
                    first,
                    last: n,
                    closed: true,
                });
                open = None;
            }
            (Some(_), _) => {}
            (None, None) => {
                let hashes = line.chars().take_while(|c| *c == '#').count();
                let rest = &line[hashes..];
                if (1..=6).contains(&hashes) && (rest.is_empty() || rest.starts_with(' ')) {
                    headings.push((n, line.to_string()));
                }
            }
        }
    }
    if let Some((_, _, first)) = open {
        blocks.push(Block {
            first,
            last: text.lines().count(),
            closed: false,
        });
    }
    (blocks, headings)
}

/// Every way `text` (the file `name`) renders otherwise than it reads.
fn problems(name: &str, text: &str) -> Vec<String> {
    let rendered = render(text);
    let (read_blocks, read_headings) = read(text);
    let mut problems = Vec::new();
    let block_at = |line: usize| {
        rendered
            .blocks
            .iter()
            .find(|b| b.first <= line && line <= b.last)
    };
    for block in &rendered.blocks {
        if !block.closed {
            problems.push(format!(
                "{name}:{}: this code block never closes: it runs to the end of the file",
                block.first
            ));
        }
    }
    for block in &read_blocks {
        if rendered.blocks.contains(block) {
            continue;
        }
        let problem = if !block.closed {
            format!(
                "{name}:{}: this code block never closes: it runs to the end of the file",
                block.first
            )
        } else if let Some(other) = block_at(block.first).filter(|b| b.first == block.first) {
            format!(
                "{name}:{}: this line reads as the end of the code block opened at line {}, \
                 but renders inside it (a closing fence can have nothing after it), and the \
                 block runs to line {}",
                block.last, block.first, other.last
            )
        } else {
            format!(
                "{name}:{}: this fence reads as opening a code block (to line {}), but does \
                 not render as one",
                block.first, block.last
            )
        };
        if !problems.contains(&problem) {
            problems.push(problem);
        }
    }
    for (line, heading) in read_headings {
        if rendered.headings.contains(&line) {
            continue;
        }
        problems.push(match block_at(line) {
            Some(block) => format!(
                "{name}:{line}: `{heading}` reads as a heading but renders inside the code \
                 block opened at line {}",
                block.first
            ),
            None => {
                format!("{name}:{line}: `{heading}` reads as a heading but does not render as one")
            }
        });
    }
    problems
}

#[test]
fn markdown_files_render_as_they_read() {
    let files = files();
    for required in ["README.md", "demo/README.md"] {
        assert!(
            files.contains(&PathBuf::from(required)),
            "{required} is missing"
        );
    }
    let mut anchors: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut texts = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        anchors.insert(file.clone(), render(&text).anchors);
        texts.push((file, text));
    }
    let mut all = Vec::new();
    for (file, text) in &texts {
        let name = file.display().to_string();
        all.extend(problems(&name, text));
        for (line, link) in render(text).links {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = link.split_once('#').unwrap_or((&link, ""));
            let target = if path.is_empty() {
                file.to_path_buf()
            } else {
                normalize(&file.parent().unwrap_or(Path::new("")).join(path))
            };
            if !root().join(&target).exists() {
                all.push(format!("{name}:{line}: link to {link}: no such file"));
                continue;
            }
            if anchor.is_empty() {
                continue;
            }
            match anchors.get(&target) {
                Some(ids) if !ids.contains(anchor) => all.push(format!(
                    "{name}:{line}: link to {link}: {} has no heading with id `{anchor}`",
                    target.display()
                )),
                _ => {}
            }
        }
    }
    assert!(all.is_empty(), "\n{}\n", all.join("\n"));
}

/// `docs/../README.md` as `README.md`.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The checks themselves, on the bug this test was written for and its relatives.
#[test]
fn the_checks_catch_what_github_would_render_wrongly() {
    let fixed = "# T\n\n```yaml\nrules: 1\n```\n\nThe ratio counts.\n\n## Exit codes\n\ntext\n";
    assert_eq!(problems("ok.md", fixed), Vec::<String>::new());

    // The old README: text after the closing fence keeps the block open.
    let old = "# T\n\n```yaml\nrules: 1\n``` The ratio counts.\n\n## Exit codes\n\ntext\n";
    let found = problems("old.md", old);
    assert!(
        found
            .iter()
            .any(|p| p.contains("old.md:3: this code block never closes")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|p| p.contains(
            "old.md:7: `## Exit codes` reads as a heading but renders inside the code block \
             opened at line 3"
        )),
        "{found:?}"
    );
    // The same with a later fence pair, as the old README had: CommonMark closes the
    // first block at the next plain fence, so the fences pair up otherwise than they read.
    let paired = format!("{old}\n```\ncode\n```\n\n## After\n");
    let found = problems("paired.md", &paired);
    assert!(
        found
            .iter()
            .any(|p| p.contains("`## Exit codes` reads as a heading but renders inside")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|p| p.contains(
            "paired.md:5: this line reads as the end of the code block opened at line 3"
        )),
        "{found:?}"
    );
    // A fence never closed.
    let open = "# T\n\n```sh\ncargo test\n";
    assert_eq!(
        problems("open.md", open),
        ["open.md:3: this code block never closes: it runs to the end of the file"]
    );
    // Longer fences hold shorter ones; tildes hold backticks.
    let nested = "````md\n```sh\nx\n```\n````\n\n~~~\n```\n~~~\n\n## H\n";
    assert_eq!(problems("nested.md", nested), Vec::<String>::new());
    assert_eq!(
        github_id("CI mode and the two scores"),
        "ci-mode-and-the-two-scores"
    );
    assert_eq!(github_id("`ls --long`: the format"), "ls---long-the-format");
}
