//! `ls --format ncdu`: the merged filesystem in ncdu's JSON export format, the one
//! `ncdu -o FILE` writes and `ncdu -f FILE` (and gdu) read:
//!
//! ```text
//! [1,2,{"progname":"layerscope","progver":"…","timestamp":…},
//! [{"name":"/"},
//! {"name":"file","asize":5,"dsize":5},
//! [{"name":"dir"},
//! {"name":"link","notreg":true}]]]
//! ```
//!
//! A directory is an array whose first element is its own info object. The keys are those
//! ncdu 1.18 writes without `-e`: `name`, `asize`, `dsize`, `ino`, `hlnkc`, `nlink`,
//! `notreg`, with zero sizes left out as ncdu leaves them out.
//!
//! The tree is written as it is walked, with one small frame per open directory: nothing
//! proportional to the image is built but the count of links of each hardlinked file.

use crate::escape::push_json_string;
use crate::layer::EntryKind;
use crate::tree::{EntryId, NodeId, Tree, Version, NONE, ROOT};
use std::collections::HashMap;
use std::io::{self, Write};

/// ncdu keeps sizes in a signed 64-bit integer and drops the whole import at a larger
/// number, so a size past it (a sparse file's header may claim up to 2^64-1) is written
/// as this, never wrapped.
pub const MAX_NCDU_SIZE: u64 = i64::MAX as u64;

/// What the export had to change to fit ncdu.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Clamped {
    /// Files whose size was past [`MAX_NCDU_SIZE`].
    pub count: u64,
    /// The first of them, raw bytes.
    pub first: Option<Vec<u8>>,
}

/// Write the filesystem after `layer` as ncdu's export. `timestamp` (Unix seconds) is
/// when the export was made, as ncdu records when it scanned.
pub fn write(
    tree: &Tree,
    layer: usize,
    timestamp: u64,
    out: &mut dyn Write,
) -> io::Result<Clamped> {
    let links = link_counts(tree, layer);
    let mut clamped = Clamped::default();
    let mut line = String::new();
    write!(
        out,
        "[1,2,{{\"progname\":\"layerscope\",\"progver\":\"{}\",\"timestamp\":{timestamp}}},\n[{{\"name\":\"/\"}}",
        env!("CARGO_PKG_VERSION")
    )?;
    // Depth-first with an explicit stack: a 10,000-deep path must not overflow ours.
    let mut stack: Vec<(NodeId, usize)> = vec![(ROOT, 0)];
    while let Some((dir, next)) = stack.last_mut() {
        let children = tree.children(*dir);
        let Some(&child) = children.get(*next) else {
            stack.pop();
            out.write_all(b"]")?;
            continue;
        };
        *next += 1;
        let Some(version) = tree.live_at(child, layer) else {
            continue;
        };
        line.clear();
        line.push_str(",\n");
        let is_dir = tree.meta(version).kind == EntryKind::Dir;
        if is_dir {
            line.push('[');
        }
        push_info(tree, child, version, &links, &mut line, &mut clamped);
        out.write_all(line.as_bytes())?;
        if is_dir {
            stack.push((child, 0));
        }
    }
    out.write_all(b"]\n")?;
    Ok(clamped)
}

/// One item's info object.
fn push_info(
    tree: &Tree,
    node: NodeId,
    version: &Version,
    links: &HashMap<EntryId, u32>,
    line: &mut String,
    clamped: &mut Clamped,
) {
    use std::fmt::Write as _;
    line.push_str("{\"name\":");
    push_json_string(line, tree.name(node));
    let kind = tree.meta(version).kind;
    match kind {
        EntryKind::Dir => {}
        EntryKind::File | EntryKind::Hardlink => {
            let mut size = tree.content_size(version);
            if size > MAX_NCDU_SIZE {
                clamped.count += 1;
                clamped.first.get_or_insert_with(|| tree.path(node));
                size = MAX_NCDU_SIZE;
            }
            // Layers store contents, not allocation: there are no blocks to count. Tar's
            // 512-byte records are framing, not what the file takes once unpacked (that
            // depends on the filesystem), so dsize is the stored size too. ncdu shows disk
            // usage by default: equal sizes make both of its totals `ls --long`'s.
            if size > 0 {
                let _ = write!(line, ",\"asize\":{size},\"dsize\":{size}");
            }
            if let Some(&count) = links.get(&version.content).filter(|&&c| c > 1) {
                // The content entry stands for the inode: every link to it shares it.
                let _ = write!(
                    line,
                    ",\"ino\":{},\"hlnkc\":true,\"nlink\":{count}",
                    u64::from(version.content) + 1
                );
            }
        }
        // Symlinks, devices and fifos store no content in a layer (size 0, as `ls --long`
        // prints them); ncdu marks them as not regular.
        _ => line.push_str(",\"notreg\":true"),
    }
    line.push('}');
}

/// How many paths live after `layer` share each hardlinked file's content: the `nlink`
/// a container would see. Only contents that some hardlink reaches are counted, so the
/// map is as small as the image's hardlink set.
fn link_counts(tree: &Tree, layer: usize) -> HashMap<EntryId, u32> {
    let live =
        || (1..crate::limits::to_u32(tree.node_count())).filter_map(|id| tree.live_at(id, layer));
    // A hardlink to a symlink is a symlink (`Tree::meta`), and stays a plain `notreg` item.
    let mut counts: HashMap<EntryId, u32> = live()
        .filter(|v| v.content != NONE && tree.meta(v).kind == EntryKind::Hardlink)
        .map(|v| (v.content, 0))
        .collect();
    if !counts.is_empty() {
        for version in live() {
            if matches!(
                tree.meta(version).kind,
                EntryKind::File | EntryKind::Hardlink
            ) {
                if let Some(count) = counts.get_mut(&version.content) {
                    *count = count.saturating_add(1);
                }
            }
        }
    }
    counts
}
