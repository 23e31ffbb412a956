//! The report's treemaps: a tree of byte counts by path (the final filesystem, or the
//! wasted bytes where they were written), cut down to a bounded number of cells, laid out
//! with [`squarify`] and drawn as one inline SVG at generation time.
//!
//! The whole nested layout is drawn once; zooming (the page's script) only moves the SVG's
//! `viewBox` onto a directory's rectangle, so the page needs no layout code of its own and
//! reads fully without script.

use super::squarify::{squarify, Rect};
use crate::analysis::Waste;
use crate::escape::push_html;
use crate::size::human;
use crate::tree::{Tree, NONE, ROOT};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt::Write as _;

/// The SVG's coordinate space: the screen's proportions, wide.
pub const WIDTH: f64 = 1200.0;
pub const HEIGHT: f64 = 640.0;

/// At most this many cells are drawn; beyond it, directories stay folded and small files
/// are gathered into "n files, X" cells. Keeps a million-path image's page at a few MB.
pub const MAX_CELLS: usize = 4000;
/// A directory shows at most this many of its entries one by one, largest first.
const MAX_CHILDREN: usize = 60;
/// An entry smaller than this share of the whole map joins its directory's "n files" cell:
/// it would be a few pixels at most.
const MIN_SHARE: f64 = 1.0 / 12_000.0;

/// Byte counts by path: directories and leaves (files, or a file's hidden copy).
#[derive(Debug, Default)]
pub struct Trie {
    nodes: Vec<TrieNode>,
}

#[derive(Debug, Default)]
struct TrieNode {
    name: Vec<u8>,
    bytes: u64,
    /// Leaves at or below.
    files: u64,
    /// For a leaf, the layer that wrote its bytes.
    layer: Option<u16>,
    /// Largest first, once built.
    children: Vec<u32>,
}

impl Trie {
    fn with_root() -> Trie {
        Trie {
            nodes: vec![TrieNode::default()],
        }
    }

    /// The final filesystem: each file's content bytes once (a hardlinked inode once),
    /// coloured by the layer that wrote the version a container sees.
    pub fn final_filesystem(tree: &Tree) -> Trie {
        let mut trie = Trie::with_root();
        let Some(last) = tree.layer_count().checked_sub(1) else {
            return trie;
        };
        let sizes = tree.subtree_sizes(last);
        let mut index = vec![NONE; tree.node_count()];
        index[ROOT as usize] = 0;
        trie.nodes[0].bytes = sizes[ROOT as usize];
        // Parents have smaller ids than their children: one forward pass links them.
        for id in 1..tree.node_count() {
            let parent = index[tree.node(id as u32).parent as usize];
            if sizes[id] == 0 || parent == NONE {
                continue;
            }
            let Some(version) = tree.live_at(id as u32, last) else {
                continue;
            };
            let leaf = version.content != NONE;
            index[id] = trie.push(
                parent,
                TrieNode {
                    name: tree.name(id as u32).to_vec(),
                    bytes: sizes[id],
                    files: u64::from(leaf),
                    layer: leaf.then_some(version.layer),
                    children: Vec::new(),
                },
            );
        }
        trie.finish(false);
        trie
    }

    /// The wasted bytes, each hidden copy at the path its layer wrote it to, coloured by
    /// that layer.
    pub fn wasted(waste: &Waste) -> Trie {
        let mut trie = Trie::with_root();
        let mut dirs: HashMap<(u32, Vec<u8>), u32> = HashMap::new();
        for path in &waste.paths {
            let parts: Vec<&[u8]> = path
                .path
                .split(|&b| b == b'/')
                .filter(|p| !p.is_empty())
                .collect();
            let Some((leaf, parents)) = parts.split_last() else {
                continue;
            };
            for version in path.versions.iter().filter(|v| v.wasted && v.bytes > 0) {
                let mut at = 0;
                for part in parents {
                    at = match dirs.get(&(at, part.to_vec())) {
                        Some(&dir) => dir,
                        None => {
                            let dir = trie.push(
                                at,
                                TrieNode {
                                    name: part.to_vec(),
                                    ..Default::default()
                                },
                            );
                            dirs.insert((at, part.to_vec()), dir);
                            dir
                        }
                    };
                }
                trie.push(
                    at,
                    TrieNode {
                        name: leaf.to_vec(),
                        bytes: version.bytes,
                        files: 1,
                        layer: u16::try_from(version.layer).ok(),
                        children: Vec::new(),
                    },
                );
            }
        }
        trie.finish(true);
        trie
    }

    fn push(&mut self, parent: u32, node: TrieNode) -> u32 {
        let id = crate::limits::to_u32(self.nodes.len());
        self.nodes.push(node);
        self.nodes[parent as usize].children.push(id);
        id
    }

    /// Sort children largest first; with `sum`, add leaves' bytes up into directories.
    /// File counts are always summed. Children come after their parents, so one reverse
    /// pass sees every directory after all that is below it.
    fn finish(&mut self, sum: bool) {
        for id in (0..self.nodes.len()).rev() {
            let mut children = std::mem::take(&mut self.nodes[id].children);
            if !children.is_empty() {
                let nodes = &self.nodes;
                let (bytes, files) = children.iter().fold((0u64, 0u64), |(b, f), &c| {
                    let c = &nodes[c as usize];
                    (b.saturating_add(c.bytes), f + c.files)
                });
                children.sort_by(|&a, &b| {
                    let (a, b) = (&nodes[a as usize], &nodes[b as usize]);
                    b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name))
                });
                if sum {
                    self.nodes[id].bytes = bytes;
                }
                self.nodes[id].files = files;
            }
            self.nodes[id].children = children;
        }
    }

    pub fn bytes(&self) -> u64 {
        self.nodes[0].bytes
    }

    /// The layer with the most bytes at or below `ids`: the colour of a folded cell.
    fn main_layer(&self, ids: &[u32]) -> Option<usize> {
        let mut by_layer: HashMap<u16, u64> = HashMap::new();
        let mut stack: Vec<u32> = ids.to_vec();
        while let Some(id) = stack.pop() {
            let node = &self.nodes[id as usize];
            if let Some(layer) = node.layer {
                *by_layer.entry(layer).or_default() += node.bytes;
            }
            stack.extend(&node.children);
        }
        by_layer
            .into_iter()
            .max_by_key(|&(layer, bytes)| (bytes, Reverse(layer)))
            .map(|(layer, _)| usize::from(layer))
    }
}

/// What a drawn cell stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// One file (or one hidden copy of it).
    File,
    /// A directory drawn with its entries inside.
    Dir,
    /// A directory drawn as one block: the cell budget ran out.
    Folded,
    /// A directory's small entries gathered into one cell.
    Rest,
}

/// One cell of the drawn treemap.
#[derive(Debug, Clone)]
pub struct Cell {
    pub kind: CellKind,
    /// The entry's name (raw bytes from the image); empty for a `Rest` cell.
    pub name: Vec<u8>,
    pub bytes: u64,
    pub files: u64,
    /// The layer that wrote it, or wrote most of it.
    pub layer: Option<usize>,
    pub children: Vec<Cell>,
}

/// Cut `trie` down to at most about `budget` cells: directories are opened largest first;
/// each shows its larger entries one by one and gathers the rest into one cell.
pub fn cells(trie: &Trie, budget: usize) -> Cell {
    let total = trie.bytes().max(1) as f64;
    let min_bytes = (total * MIN_SHARE) as u64;
    // Cells as a flat arena while the heap decides which directory opens next.
    struct Flat {
        trie: Vec<u32>,
        kind: CellKind,
        bytes: u64,
        files: u64,
        children: Vec<usize>,
    }
    let mut flat = vec![Flat {
        trie: vec![0],
        kind: CellKind::Folded,
        bytes: trie.bytes(),
        files: trie.nodes[0].files,
        children: Vec::new(),
    }];
    let mut heap = BinaryHeap::from([(trie.bytes(), Reverse(0usize))]);
    let mut count = 1;
    while let Some((_, Reverse(at))) = heap.pop() {
        let node = &trie.nodes[flat[at].trie[0] as usize];
        if count >= budget && at != 0 {
            break;
        }
        flat[at].kind = CellKind::Dir;
        let (shown, rest): (Vec<u32>, Vec<u32>) = node.children.iter().enumerate().fold(
            (Vec::new(), Vec::new()),
            |(mut shown, mut rest), (i, &c)| {
                let bytes = trie.nodes[c as usize].bytes;
                if bytes > 0 && (bytes >= min_bytes || at == 0) && i < MAX_CHILDREN {
                    shown.push(c);
                } else if bytes > 0 {
                    rest.push(c);
                }
                (shown, rest)
            },
        );
        // One small entry left over is shown as itself, not as "1 file".
        let (shown, rest) = if rest.len() == 1 {
            ([shown, rest].concat(), Vec::new())
        } else {
            (shown, rest)
        };
        for c in shown {
            let child = &trie.nodes[c as usize];
            let leaf = child.children.is_empty();
            flat.push(Flat {
                trie: vec![c],
                kind: if leaf {
                    CellKind::File
                } else {
                    CellKind::Folded
                },
                bytes: child.bytes,
                files: child.files,
                children: Vec::new(),
            });
            let id = flat.len() - 1;
            flat[at].children.push(id);
            count += 1;
            if !leaf {
                heap.push((child.bytes, Reverse(id)));
            }
        }
        if !rest.is_empty() {
            let bytes = rest
                .iter()
                .map(|&c| trie.nodes[c as usize].bytes)
                .fold(0, u64::saturating_add);
            let files = rest.iter().map(|&c| trie.nodes[c as usize].files).sum();
            flat.push(Flat {
                trie: rest,
                kind: CellKind::Rest,
                bytes,
                files,
                children: Vec::new(),
            });
            let id = flat.len() - 1;
            flat[at].children.push(id);
            count += 1;
        }
    }
    fn assemble(trie: &Trie, flat: &[Flat], at: usize) -> Cell {
        let f = &flat[at];
        let node = &trie.nodes[f.trie[0] as usize];
        Cell {
            kind: f.kind,
            name: if f.kind == CellKind::Rest {
                Vec::new()
            } else {
                node.name.clone()
            },
            bytes: f.bytes,
            files: f.files,
            layer: match f.kind {
                CellKind::File => node.layer.map(usize::from),
                CellKind::Dir => None,
                CellKind::Folded | CellKind::Rest => trie.main_layer(&f.trie),
            },
            children: f
                .children
                .iter()
                .map(|&c| assemble(trie, flat, c))
                .collect(),
        }
    }
    assemble(trie, &flat, 0)
}

/// The fill of a layer's cells: twelve hues of medium lightness, which dark text reads on,
/// repeated every twelve layers (the layer number is in every tooltip and the table).
pub fn layer_colour(layer: usize) -> &'static str {
    const PALETTE: [&str; 12] = [
        "#8db8e0", "#f2b36f", "#9ad19a", "#ee9a9a", "#c2a8e0", "#d7b59a", "#f0aede", "#b8b8b8",
        "#d9d98a", "#82d2dc", "#a9c8f5", "#f5c89a",
    ];
    PALETTE[layer % PALETTE.len()]
}

/// Draw `root` as an SVG treemap; `id` names it for the page's script and its breadcrumb.
pub fn svg(root: &Cell, id: &str, label: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg id="{id}" class="treemap" viewBox="0 0 {WIDTH} {HEIGHT}" role="group" aria-label="{label}" data-box="0 0 {WIDTH} {HEIGHT}">"#
    );
    let bounds = Rect {
        x: 0.0,
        y: 0.0,
        w: WIDTH,
        h: HEIGHT,
    };
    draw_children(&mut out, root, bounds);
    out.push_str("</svg>");
    out
}

fn draw_children(out: &mut String, dir: &Cell, inner: Rect) {
    let values: Vec<f64> = dir.children.iter().map(|c| c.bytes as f64).collect();
    for (child, rect) in dir.children.iter().zip(squarify(&values, inner)) {
        draw(out, child, rect);
    }
}

/// The tooltip of a cell: what it is, its size, and its layer in words (colour is never
/// the only sign of it).
fn title(out: &mut String, cell: &Cell) {
    out.push_str("<title>");
    describe(out, cell);
    out.push_str("</title>");
}

/// A cell's tooltip words, escaped (so they may also stand in an attribute).
fn describe(out: &mut String, cell: &Cell) {
    match cell.kind {
        CellKind::Rest => {
            let _ = write!(out, "{} files, {}", cell.files, human(cell.bytes));
        }
        CellKind::File => {
            push_html(out, &cell.name);
            let _ = write!(out, " · {}", human(cell.bytes));
        }
        CellKind::Dir | CellKind::Folded => {
            push_html(out, &cell.name);
            let _ = write!(out, "/ · {} in {} files", human(cell.bytes), cell.files);
        }
    }
    match (cell.kind, cell.layer) {
        (CellKind::File, Some(layer)) => {
            let _ = write!(out, " · layer {layer}");
        }
        (_, Some(layer)) => {
            let _ = write!(out, " · mostly layer {layer}");
        }
        _ => {}
    }
}

/// A cell's name; `on_frame` for a directory's, written on the page's background colour
/// (light or dark) rather than on a layer's fill.
fn label(out: &mut String, text: &[u8], x: f64, y: f64, size: f64, on_frame: bool) {
    let class = if on_frame { r#" class="on-frame""# } else { "" };
    let _ = write!(
        out,
        r#"<text{class} x="{x:.1}" y="{y:.1}" font-size="{size:.2}">"#
    );
    push_html(out, text);
    out.push_str("</text>");
}

fn draw(out: &mut String, cell: &Cell, r: Rect) {
    if r.w <= 0.0 || r.h <= 0.0 {
        return;
    }
    // A directory keeps a header strip for its name, and a margin, when there is room.
    let header = (r.h * 0.12).min(r.w * 0.12).min(16.0);
    let pad = (r.w.min(r.h) * 0.02).min(2.0);
    let inner = Rect {
        x: r.x + pad,
        y: r.y + header,
        w: r.w - 2.0 * pad,
        h: r.h - header - pad,
    };
    if cell.kind == CellKind::Dir && inner.w > 0.5 && inner.h > 0.5 {
        let _ = write!(
            out,
            r#"<g class="dir-open" tabindex="0" role="button" data-box="{:.2} {:.2} {:.2} {:.2}" data-name=""#,
            r.x, r.y, r.w, r.h
        );
        push_html(out, &cell.name);
        // A focusable group needs a name of its own: a screen reader does not read the
        // tooltip of the rectangle inside it.
        out.push_str("\" aria-label=\"");
        describe(out, cell);
        out.push_str("\">");
        let _ = write!(
            out,
            r#"<rect class="frame" x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}">"#,
            r.x, r.y, r.w, r.h
        );
        title(out, cell);
        out.push_str("</rect>");
        let size = header * 0.75;
        if size >= 0.5 {
            let mut name = cell.name.clone();
            name.push(b'/');
            label(
                out,
                &name,
                r.x + pad + 1.0_f64.min(pad),
                r.y + header * 0.8,
                size,
                true,
            );
        }
        draw_children(out, cell, inner);
        out.push_str("</g>");
        return;
    }
    let class = match cell.kind {
        CellKind::File => "file",
        CellKind::Rest => "rest",
        CellKind::Dir | CellKind::Folded => "dir",
    };
    let fill = cell.layer.map_or("#cccccc", layer_colour);
    let layer = cell
        .layer
        .map_or(String::new(), |l| format!(r#" data-layer="{l}""#));
    // Exact figures for tools and tests: the drawn cells add up to the map's total.
    let _ = write!(
        out,
        r#"<rect class="{class}" x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="{fill}"{layer} data-bytes="{}" data-files="{}">"#,
        r.x, r.y, r.w, r.h, cell.bytes, cell.files
    );
    title(out, cell);
    out.push_str("</rect>");
    let text: Vec<u8> = match cell.kind {
        CellKind::Rest => format!("{} files", cell.files).into_bytes(),
        CellKind::File => cell.name.clone(),
        _ => [cell.name.as_slice(), b"/"].concat(),
    };
    let chars = String::from_utf8_lossy(&text).chars().count().max(1) as f64;
    let size = (r.h * 0.45).min(r.w / (chars * 0.62)).min(12.0);
    if size >= 0.5 {
        label(out, &text, r.x + size * 0.3, r.y + size * 1.1, size, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(name: &str, bytes: u64, layer: u16) -> TrieNode {
        TrieNode {
            name: name.into(),
            bytes,
            files: 1,
            layer: Some(layer),
            children: Vec::new(),
        }
    }

    /// A directory of many small files and a few large ones: the large ones get cells,
    /// the small ones one "n files" cell whose bytes and count add up, and the whole
    /// stays within the budget.
    #[test]
    fn small_files_gather_into_one_cell_within_the_budget() {
        let mut trie = Trie::with_root();
        let dir = trie.push(
            0,
            TrieNode {
                name: b"usr".to_vec(),
                ..Default::default()
            },
        );
        trie.push(dir, leaf("big", 1_000_000, 1));
        trie.push(dir, leaf("big2", 500_000, 2));
        for i in 0..5000 {
            trie.push(dir, leaf(&format!("f{i}"), 10, 3));
        }
        trie.finish(true);
        assert_eq!(trie.bytes(), 1_550_000);
        let root = cells(&trie, 100);
        let usr = &root.children[0];
        assert_eq!(usr.kind, CellKind::Dir);
        let kinds: Vec<CellKind> = usr.children.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, [CellKind::File, CellKind::File, CellKind::Rest]);
        let rest = &usr.children[2];
        assert_eq!(
            (rest.files, rest.bytes, rest.layer),
            (5000, 50_000, Some(3))
        );
        let svg = svg(&root, "t", "test");
        assert_eq!(svg.matches(r#"<rect class="file""#).count(), 2);
        assert!(
            svg.contains("5000 files, 50.0 kB · mostly layer 3"),
            "{svg}"
        );
    }

    /// 300,000 files in 3,000 directories: the map keeps to its budget, its cells still
    /// add up to every byte and file, and its SVG stays small.
    #[test]
    fn a_huge_tree_stays_within_the_budget() {
        let mut trie = Trie::with_root();
        let mut total = 0;
        for d in 0..30u64 {
            let top = trie.push(
                0,
                TrieNode {
                    name: format!("top{d}").into_bytes(),
                    ..Default::default()
                },
            );
            for e in 0..100u64 {
                let dir = trie.push(
                    top,
                    TrieNode {
                        name: format!("dir{e}").into_bytes(),
                        ..Default::default()
                    },
                );
                for f in 0..100u64 {
                    let bytes = 1 + (d * 7919 + e * 104_729 + f * 1_299_709) % 50_000;
                    total += bytes;
                    trie.push(dir, leaf(&format!("file{f}.bin"), bytes, (f % 20) as u16));
                }
            }
        }
        trie.finish(true);
        assert_eq!(trie.bytes(), total);
        let root = cells(&trie, MAX_CELLS);
        let (mut count, mut bytes, mut files) = (0, 0, 0);
        let mut stack = vec![&root];
        while let Some(cell) = stack.pop() {
            count += 1;
            if cell.children.is_empty() {
                bytes += cell.bytes;
                files += cell.files;
            }
            stack.extend(&cell.children);
        }
        assert!(count <= MAX_CELLS + MAX_CHILDREN + 2, "{count} cells");
        assert_eq!((bytes, files), (total, 300_000));
        let svg = svg(&root, "t", "test");
        assert!(svg.len() < 1_500_000, "{} bytes", svg.len());
    }

    #[test]
    fn names_are_escaped_in_titles_and_labels() {
        let mut trie = Trie::with_root();
        trie.push(0, leaf("<script>alert(1)</script>", 10, 0));
        trie.push(0, leaf("a\"b&c\x1b", 5, 1));
        trie.finish(true);
        let svg = svg(&cells(&trie, 10), "t", "test");
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt; · 10 B · layer 0"));
        assert!(svg.contains("a&quot;b&amp;c\\x1b"), "{svg}");
    }
}
