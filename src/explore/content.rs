//! What the file view, the diff and the path history show, as data: lines with a kind and
//! a gutter, rows of a history. Drawing them is `tui`'s job; a CLI view can print them.

use super::Explorer;
use crate::analysis::PathEvent;
use crate::escape::{escape_bytes, escape_str};
use crate::layer::content::{read_content, Content};
use crate::layer::EntryKind;
use crate::tree::{Change, NodeId, Version, NONE};
use similar::{Algorithm, DiffTag};
use std::time::{Duration, Instant};

/// Cap on what the file view and the diff read of a file.
pub const VIEW_CAP: u64 = 1 << 20;

/// Lines of context around each change of a diff, as `diff -u` prints.
const CONTEXT: usize = 3;

/// A diff that takes longer than this settles for a correct but less minimal answer.
const DIFF_DEADLINE: Duration = Duration::from_secs(2);

/// Why a version's contents cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("not a regular file")]
    NotAFile,
    #[error("layer {0} is not in the archive")]
    LayerMissing(usize),
    #[error("no image source to read from")]
    NoSource,
    #[error(transparent)]
    Read(#[from] Box<crate::Error>),
}

/// How a line of a text view is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Plain,
    Added,
    Removed,
    Hunk,
    Note,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextLine {
    pub kind: LineKind,
    /// Line number, hex offset or diff marker.
    pub gutter: String,
    /// Already escaped.
    pub text: String,
}

impl TextLine {
    fn note(text: impl Into<String>) -> TextLine {
        TextLine {
            kind: LineKind::Note,
            gutter: String::new(),
            text: text.into(),
        }
    }
}

/// What a text view shows, for its title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextSubject {
    /// One version of a file: its layer and full size.
    File { path: String, layer: u16, size: u64 },
    /// Two versions compared; `None` is "no version".
    Diff {
        path: String,
        old: Option<u16>,
        new: Option<u16>,
    },
}

/// A file's contents or a diff, line by line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextView {
    pub subject: TextSubject,
    pub lines: Vec<TextLine>,
}

/// One layer's effect on a path, for the path history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub layer: usize,
    pub event: PathEvent,
    pub size: Option<u64>,
    /// `-rw-r--r-- 0:0`, absent for removals.
    pub mode: Option<String>,
    /// The mode and owner before, when this layer changed them.
    pub previous_mode: Option<String>,
    /// The layer's instruction, escaped.
    pub instruction: String,
    /// The path as the tar named it, escaped, where the entry landed elsewhere (its
    /// parent crossed a symlink).
    pub written_as: Option<String>,
}

/// Every layer that touched `node`: what it did, size, mode, instruction.
pub fn path_history(explorer: &Explorer, node: NodeId) -> Vec<HistoryRow> {
    let tree = &explorer.image().tree;
    let history = &explorer.image().image.history;
    let mut rows = Vec::new();
    let mut previous: Option<String> = None;
    for version in tree.versions(node) {
        let layer = version.layer as usize;
        let instruction = history
            .layers
            .get(layer)
            .map(|l| escape_str(&l.instruction.display()).into_owned())
            .unwrap_or_default();
        let event = PathEvent::of(tree, node, version);
        // A replacement's entry is the non-directory above, not this path's.
        let written_as = (version.entry != NONE && version.change != Change::Replaced)
            .then(|| tree.written_path(version.entry))
            .flatten()
            .map(|path| format!("/{}", escape_bytes(path)));
        if event.is_removal() {
            previous = None;
            rows.push(HistoryRow {
                layer,
                event,
                size: None,
                mode: None,
                previous_mode: None,
                instruction,
                written_as,
            });
            continue;
        }
        let meta = tree.meta(version);
        let mode = format!("{} {}:{}", meta.ls_mode(), meta.uid, meta.gid);
        let previous_mode = previous.take().filter(|p| *p != mode);
        previous = Some(mode.clone());
        rows.push(HistoryRow {
            layer,
            event,
            size: (meta.kind != EntryKind::Dir).then(|| tree.content_size(version)),
            mode: Some(mode),
            previous_mode,
            instruction,
            written_as,
        });
    }
    rows
}

fn read_version(explorer: &Explorer, version: &Version) -> Result<Content, ContentError> {
    let tree = &explorer.image().tree;
    if version.content == NONE {
        return Err(ContentError::NotAFile);
    }
    let content = tree.entry(version.content);
    let layer = content.layer as usize;
    let member = explorer
        .image()
        .image
        .layers
        .get(layer)
        .and_then(|l| l.member.as_deref())
        .ok_or(ContentError::LayerMissing(layer))?;
    let source = explorer.source().ok_or(ContentError::NoSource)?;
    read_content(
        source,
        member,
        content.meta.offset,
        content.meta.size,
        VIEW_CAP,
    )
    .map_err(|e| ContentError::Read(Box::new(e)))
}

/// A failure to show a path's contents, naming the path.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct ViewError {
    pub path: String,
    #[source]
    pub source: ContentError,
}

/// The selected path as the file view shows it: the version the file tree shows.
pub fn view_file(explorer: &Explorer, node: NodeId) -> Option<Result<TextView, ViewError>> {
    let tree = &explorer.image().tree;
    let version = *explorer.files().version(tree, node)?;
    let path = escape_bytes(&tree.path(node)).into_owned();
    let content = match read_version(explorer, &version) {
        Ok(content) => content,
        Err(source) => return Some(Err(ViewError { path, source })),
    };
    let mut lines = content_lines(&content.bytes);
    if content.truncated {
        lines.push(TextLine::note(format!(
            "(showing the first {} of {} bytes)",
            content.bytes.len(),
            content.size
        )));
    }
    Some(Ok(TextView {
        subject: TextSubject::File {
            path,
            layer: version.layer,
            size: content.size,
        },
        lines,
    }))
}

/// The selected path's version at the compared layer against the one before it.
pub fn diff_file(explorer: &Explorer, node: NodeId) -> Result<TextView, ViewError> {
    let tree = &explorer.image().tree;
    let path = escape_bytes(&tree.path(node)).into_owned();
    let compare = explorer.compare();
    let current = tree.live_at(node, compare.to).copied();
    // The previous version: the one before the current one, or for a removed path the
    // one it had before removal.
    let previous = match &current {
        Some(cur) => tree
            .versions(node)
            .iter()
            .rev()
            .find(|v| v.layer < cur.layer)
            .filter(|v| !v.change.is_removal())
            .copied(),
        None => explorer.files().version(tree, node).copied(),
    };
    let read = |version: Option<Version>| -> Result<(Vec<u8>, bool, Option<u16>), ContentError> {
        match version {
            None => Ok((Vec::new(), false, None)),
            Some(v) => read_version(explorer, &v).map(|c| (c.bytes, c.truncated, Some(v.layer))),
        }
    };
    let (old, new) = match (read(previous), read(current)) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(source), _) | (_, Err(source)) => return Err(ViewError { path, source }),
    };
    let mut lines = Vec::new();
    if is_binary(&old.0) || is_binary(&new.0) {
        lines.push(TextLine::note(if old.0 == new.0 {
            "binary contents are identical".to_string()
        } else {
            format!(
                "binary contents differ ({} → {} bytes)",
                old.0.len(),
                new.0.len()
            )
        }));
    } else {
        lines = unified(&old.0, &new.0);
        if lines.is_empty() {
            lines.push(TextLine::note("no differences in content"));
        }
    }
    if old.1 || new.1 {
        lines.push(TextLine::note(format!(
            "(only the first {VIEW_CAP} bytes of each version were compared)"
        )));
    }
    Ok(TextView {
        subject: TextSubject::Diff {
            path,
            old: old.2,
            new: new.2,
        },
        lines,
    })
}

/// Split into lines, without their `\n`.
pub fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    body.split(|&b| b == b'\n').collect()
}

/// A unified diff (Myers, `diff -u`'s hunk headers and context) of two texts.
pub fn unified(old: &[u8], new: &[u8]) -> Vec<TextLine> {
    let (a, b) = (lines(old), lines(new));
    let deadline = Instant::now() + DIFF_DEADLINE;
    let ops = similar::capture_diff_slices_deadline(Algorithm::Myers, &a, &b, Some(deadline));
    let mut out = Vec::new();
    for group in similar::group_diff_ops(ops, CONTEXT) {
        out.push(TextLine {
            kind: LineKind::Hunk,
            gutter: String::new(),
            text: similar::udiff::UnifiedHunkHeader::new(&group).to_string(),
        });
        for op in &group {
            let (tag, old_range, new_range) = op.as_tag_tuple();
            let mut push = |kind, gutter: &str, line: &[u8]| {
                out.push(TextLine {
                    kind,
                    gutter: gutter.into(),
                    text: display_line(line),
                })
            };
            match tag {
                DiffTag::Equal => old_range.for_each(|i| push(LineKind::Plain, " ", a[i])),
                DiffTag::Delete => old_range.for_each(|i| push(LineKind::Removed, "-", a[i])),
                DiffTag::Insert => new_range.for_each(|j| push(LineKind::Added, "+", b[j])),
                DiffTag::Replace => {
                    old_range.for_each(|i| push(LineKind::Removed, "-", a[i]));
                    new_range.for_each(|j| push(LineKind::Added, "+", b[j]));
                }
            }
        }
    }
    out
}

/// A line of file content as it is drawn: tabs expanded, controls escaped.
fn display_line(bytes: &[u8]) -> String {
    let text = escape_bytes(bytes);
    text.replace("\\x09", "    ")
}

/// Whether contents are shown as a hex dump: a NUL, or invalid UTF-8 early on.
pub fn is_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    head.contains(&0)
        || std::str::from_utf8(head).is_err() && {
            // A multi-byte character cut at the sample's end is still text.
            let valid = std::str::from_utf8(head)
                .err()
                .map_or(head.len(), |e| e.valid_up_to());
            head.len() - valid > 3
        }
}

/// Text with line numbers, or a hex dump for binary content.
pub fn content_lines(bytes: &[u8]) -> Vec<TextLine> {
    if is_binary(bytes) {
        return bytes
            .chunks(16)
            .enumerate()
            .map(|(i, chunk)| {
                let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
                let ascii: String = chunk
                    .iter()
                    .map(|&b| {
                        if b.is_ascii_graphic() || b == b' ' {
                            b as char
                        } else {
                            '.'
                        }
                    })
                    .collect();
                TextLine {
                    kind: LineKind::Plain,
                    gutter: format!("{:08x}", i * 16),
                    text: format!("{:<48} {ascii}", hex.join(" ")),
                }
            })
            .collect();
    }
    lines(bytes)
        .into_iter()
        .enumerate()
        .map(|(i, line)| TextLine {
            kind: LineKind::Plain,
            gutter: (i + 1).to_string(),
            text: display_line(line),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(old: &str, new: &str) -> String {
        unified(old.as_bytes(), new.as_bytes())
            .iter()
            .map(|l| format!("{}{}", l.gutter, l.text))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn unified_hunks_match_diff_u() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n";
        let new = "1\nTWO\n3\n4\n5\n6\n7\n8\n9\n10\n11\nTWELVE\n";
        assert_eq!(
            render(old, new),
            "@@ -1,5 +1,5 @@\n 1\n-2\n+TWO\n 3\n 4\n 5\n@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+TWELVE"
        );
        assert_eq!(render("x\n", "x\n"), "");
        // diff -u leaves out a range's length when it is one line.
        assert_eq!(render("", "new\n"), "@@ -0,0 +1 @@\n+new");
    }

    #[test]
    fn a_large_middle_is_diffed_line_by_line() {
        // Two changes 4,800 lines apart: the old LCS table gave up above 4M cells and
        // showed everything between them as replaced.
        let old: String = (0..5000).map(|i| format!("line {i}\n")).collect();
        let new = old
            .replace("line 100\n", "changed\n")
            .replace("line 4900\n", "changed too\n");
        let diff = unified(old.as_bytes(), new.as_bytes());
        let changed: Vec<&str> = diff
            .iter()
            .filter(|l| matches!(l.kind, LineKind::Added | LineKind::Removed))
            .map(|l| l.text.as_str())
            .collect();
        assert_eq!(changed, ["line 100", "changed", "line 4900", "changed too"]);
        assert_eq!(diff[0].text, "@@ -98,7 +98,7 @@");
    }
}
