//! The fleet view (`fleet IMAGE… --tui`), terminal-free: the images of a set side by side,
//! one column each, with a row per layer position (the bottom layer first); a layer that
//! neighbouring columns have at the same position is one joined cell across them. The
//! columns follow the sharing tree, so the images of a branch stand together and their
//! common layers join. Below, the sharing tree as indented lines with the bytes of each
//! branch. One cursor picks an image (and a layer position in it); the tree's cursor moves
//! it too.

use super::{follow, step, Message};
use crate::analysis::fleet::{Branch, Bytes, Fleet, ImageRow, LayerRow, Totals};
use std::collections::HashMap;

/// One cell of a row of the stacks: `span` neighbouring columns from `first` that hold
/// the same layer at this position, or that have no layer this high.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub first: usize,
    pub span: usize,
    /// The layer's key (diff_id), or `None` when the image has fewer layers.
    pub layer: Option<String>,
}

/// One line of the sharing tree.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeLine {
    pub depth: usize,
    /// The branch's layers, each once.
    pub bytes: Bytes,
    pub layers: usize,
    /// Every image through the branch.
    pub images: usize,
    /// The images whose stack ends with this branch (escaped names).
    pub ends: Vec<String>,
    /// The column the tree's cursor selects on this line, and the layer position: the
    /// branch's top layer in the first image that ends here (else that goes on).
    column: usize,
    top: usize,
}

pub struct FleetView {
    fleet: Fleet,
    /// The names the images opened under, by set index.
    opened: Vec<String>,
    /// Set indices, one per column, left to right.
    columns: Vec<usize>,
    /// By layer position, bottom first.
    rows: Vec<Vec<Cell>>,
    tree: Vec<TreeLine>,
    left_out: Vec<String>,
    column: usize,
    row: usize,
    tree_cursor: usize,
    column_scroll: usize,
    row_scroll: usize,
    tree_scroll: usize,
    /// Columns, rows and tree lines on screen, as the layout last said.
    viewport: (usize, usize, usize),
    /// The status bar's message; cleared by the next key.
    pub message: Option<Message>,
}

impl FleetView {
    /// The view of a measured set: `opened` are the images' names as given, in the set's
    /// order (what opens one again); `left_out` the lines for images that failed and
    /// services skipped (escaped).
    pub fn new(fleet: Fleet, opened: Vec<String>, left_out: Vec<String>) -> FleetView {
        // By name and by set index, so that a set of thousands costs no quadratic search.
        let by_name: HashMap<&str, usize> = fleet
            .images
            .iter()
            .enumerate()
            .map(|(i, image)| (image.name.as_str(), i))
            .collect();
        let index = |name: &str| by_name.get(name).copied();
        let mut columns = Vec::with_capacity(fleet.images.len());
        order(&fleet.tree, &index, &mut columns);
        // An image with no layers is in no branch.
        let mut placed = vec![false; fleet.images.len()];
        for &i in &columns {
            placed[i] = true;
        }
        columns.extend((0..fleet.images.len()).filter(|&i| !placed[i]));
        let mut column_at = vec![0; fleet.images.len()];
        for (column, &i) in columns.iter().enumerate() {
            column_at[i] = column;
        }
        let column_of = |name: &str| index(name).map_or(0, |i| column_at[i]);
        let mut tree = Vec::new();
        lines(&fleet.tree, 0, 0, &column_of, &mut tree);
        let height = fleet.images.iter().map(|i| i.layers.len()).max();
        let rows = (0..height.unwrap_or(0))
            .map(|position| row(&fleet, &columns, position))
            .collect();
        FleetView {
            fleet,
            opened,
            columns,
            rows,
            tree,
            left_out,
            column: 0,
            row: 0,
            tree_cursor: 0,
            column_scroll: 0,
            row_scroll: 0,
            tree_scroll: 0,
            viewport: (1, 1, 1),
            message: None,
        }
    }

    pub fn totals(&self) -> &Totals {
        &self.fleet.totals
    }

    /// Set indices, one per column.
    pub fn columns(&self) -> &[usize] {
        &self.columns
    }

    /// The image of a column.
    pub fn image(&self, column: usize) -> &ImageRow {
        &self.fleet.images[self.columns[column]]
    }

    /// The rows of the stacks, bottom layer first.
    pub fn rows(&self) -> &[Vec<Cell>] {
        &self.rows
    }

    /// A distinct layer of the set, by key.
    pub fn layer(&self, key: &str) -> Option<&LayerRow> {
        self.fleet.layers.get(key)
    }

    pub fn tree(&self) -> &[TreeLine] {
        &self.tree
    }

    /// Lines for the images that failed to open and the services skipped.
    pub fn left_out(&self) -> &[String] {
        &self.left_out
    }

    /// The cursor: a column and a layer position.
    pub fn cursor(&self) -> (usize, usize) {
        (self.column, self.row)
    }

    pub fn tree_cursor(&self) -> usize {
        self.tree_cursor
    }

    /// The first column, row and tree line on screen.
    pub fn scroll(&self) -> (usize, usize, usize) {
        (self.column_scroll, self.row_scroll, self.tree_scroll)
    }

    /// Tell the model how many columns, rows and tree lines fit; the scroll offsets follow
    /// the cursors.
    pub fn set_viewport(&mut self, columns: usize, rows: usize, tree: usize) {
        self.viewport = (columns.max(1), rows.max(1), tree.max(1));
        self.keep_visible();
    }

    pub fn viewport(&self) -> (usize, usize, usize) {
        self.viewport
    }

    fn keep_visible(&mut self) {
        let (columns, rows, tree) = self.viewport;
        let last = |len: usize, height: usize| len.saturating_sub(height);
        self.column_scroll =
            follow(self.column, self.column_scroll, columns).min(last(self.columns.len(), columns));
        self.row_scroll = follow(self.row, self.row_scroll, rows).min(last(self.rows.len(), rows));
        self.tree_scroll =
            follow(self.tree_cursor, self.tree_scroll, tree).min(last(self.tree.len(), tree));
    }

    /// Move the cursor `delta` columns (images), clamped.
    pub fn move_column(&mut self, delta: isize) {
        self.column = step(self.column, delta, self.columns.len());
        self.keep_visible();
    }

    /// Move the cursor `delta` layer positions, clamped.
    pub fn move_row(&mut self, delta: isize) {
        self.row = step(self.row, delta, self.rows.len());
        self.keep_visible();
    }

    /// Move the tree's cursor `delta` lines; the image cursor goes to the branch's image,
    /// on the branch's top layer.
    pub fn move_tree(&mut self, delta: isize) {
        self.tree_cursor = step(self.tree_cursor, delta, self.tree.len());
        if let Some(line) = self.tree.get(self.tree_cursor) {
            self.column = line.column;
            self.row = line.top;
        }
        self.keep_visible();
    }

    /// The selected image's set index.
    pub fn selected(&self) -> Option<usize> {
        self.columns.get(self.column).copied()
    }

    /// The selected layer: its key and the set's row for it, when the selected image has
    /// a layer at the cursor's position.
    pub fn selected_layer(&self) -> Option<(&str, &LayerRow)> {
        let image = &self.fleet.images[self.selected()?];
        let key = image.layers.get(self.row)?;
        Some((key, self.fleet.layers.get(key)?))
    }

    /// What opens the selected image again in the explorer: its name as given; `None`
    /// for stdin, which was read once.
    pub fn selected_opening(&self) -> Option<&str> {
        let name = self.opened.get(self.selected()?)?;
        (name != "-").then_some(name.as_str())
    }

    pub fn inform(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: false,
        });
    }

    pub fn warn(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: true,
        });
    }
}

/// The images of the tree, depth first, each branch's own ends before its children's:
/// every branch's images are then neighbours.
fn order(branches: &[Branch], index: &dyn Fn(&str) -> Option<usize>, out: &mut Vec<usize>) {
    for branch in branches {
        out.extend(branch.ends.iter().filter_map(|name| index(name)));
        order(&branch.children, index, out);
    }
}

fn lines(
    branches: &[Branch],
    depth: usize,
    below: usize,
    column_of: &dyn Fn(&str) -> usize,
    out: &mut Vec<TreeLine>,
) {
    for branch in branches {
        let image = branch.ends.first().or(branch.images.first());
        out.push(TreeLine {
            depth,
            bytes: branch.bytes,
            layers: branch.layers.len(),
            images: branch.images.len(),
            ends: branch.ends.clone(),
            column: image.map_or(0, |name| column_of(name)),
            top: (below + branch.layers.len()).saturating_sub(1),
        });
        lines(
            &branch.children,
            depth + 1,
            below + branch.layers.len(),
            column_of,
            out,
        );
    }
}

/// The cells of one layer position: neighbouring columns with the same layer there (or
/// none) join.
fn row(fleet: &Fleet, columns: &[usize], position: usize) -> Vec<Cell> {
    let mut cells: Vec<Cell> = Vec::new();
    for (column, &image) in columns.iter().enumerate() {
        let layer = fleet.images[image].layers.get(position).cloned();
        match cells.last_mut() {
            // Neighbours without a layer this high join too: a row costs a cell per run,
            // so the rows together cost at most the set's layer references, twice.
            Some(cell) if cell.layer == layer => cell.span += 1,
            _ => cells.push(Cell {
                first: column,
                span: 1,
                layer,
            }),
        }
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fleet::fleet;
    use crate::analysis::fleet::tests::image;

    /// app1 and app2 on one base, given apart: app3 on another base sits between them.
    fn view() -> FleetView {
        let set = [
            image("app1", &[("base", 100), ("mid", 20), ("a1", 10)]),
            image("app3", &[("newbase", 120), ("a3", 30)]),
            image("app2", &[("base", 100), ("mid", 20), ("a2", 15)]),
            image("lib", &[("base", 100)]),
        ];
        let names = ["app1", "app3", "app2", "lib"].map(String::from).into();
        FleetView::new(fleet(&set), names, vec![])
    }

    fn names(view: &FleetView) -> Vec<&str> {
        (0..view.columns().len())
            .map(|c| view.image(c).name.as_str())
            .collect()
    }

    #[test]
    fn images_of_one_branch_stand_together_and_their_common_layers_join() {
        let view = view();
        // lib ends on the base; app1 and app2 go on from it; app3 is another root.
        assert_eq!(names(&view), ["lib", "app1", "app2", "app3"]);
        let rows = view.rows();
        assert_eq!(rows.len(), 3);
        let cell = |first, span, layer: Option<&str>| Cell {
            first,
            span,
            layer: layer.map(String::from),
        };
        assert_eq!(
            rows[0],
            [cell(0, 3, Some("base")), cell(3, 1, Some("newbase"))]
        );
        assert_eq!(
            rows[1],
            [
                cell(0, 1, None),
                cell(1, 2, Some("mid")),
                cell(3, 1, Some("a3"))
            ]
        );
        assert_eq!(
            rows[2],
            [
                cell(0, 1, None),
                cell(1, 1, Some("a1")),
                cell(2, 1, Some("a2")),
                cell(3, 1, None)
            ]
        );
    }

    #[test]
    fn the_tree_has_a_line_per_branch_with_its_bytes_and_moves_the_image_cursor() {
        let mut view = view();
        let tree: Vec<(usize, u64, usize, Vec<String>)> = view
            .tree()
            .iter()
            .map(|l| {
                (
                    l.depth,
                    l.bytes.compressed_download,
                    l.images,
                    l.ends.clone(),
                )
            })
            .collect();
        assert_eq!(
            tree,
            [
                (0, 100, 3, vec!["lib".to_string()]),
                (1, 20, 2, vec![]),
                (2, 10, 1, vec!["app1".to_string()]),
                (2, 15, 1, vec!["app2".to_string()]),
                (0, 150, 1, vec!["app3".to_string()]),
            ]
        );
        view.move_tree(3);
        assert_eq!(view.cursor(), (2, 2));
        assert_eq!(view.image(2).name, "app2");
        let (key, layer) = view.selected_layer().unwrap();
        assert_eq!((key, layer.compressed_download), ("a2", 15));
        // The shared middle run: its first image going on, its top layer.
        view.move_tree(-2);
        assert_eq!(view.cursor(), (1, 1));
        assert_eq!(view.selected_layer().unwrap().1.images, ["app1", "app2"]);
        // The other root spans two layers; its top is the second.
        view.move_tree(10);
        assert_eq!(view.cursor(), (3, 1));
        assert_eq!(view.selected_opening(), Some("app3"));
    }

    #[test]
    fn cursor_is_clamped_and_scrolling_keeps_it_on_screen() {
        let mut view = view();
        view.set_viewport(2, 2, 2);
        view.move_column(-1);
        assert_eq!(view.cursor(), (0, 0));
        view.move_column(3);
        view.move_row(5);
        assert_eq!(view.cursor(), (3, 2));
        assert_eq!(view.scroll(), (2, 1, 0));
        // Nothing below the last layer: the image has none at the top row.
        assert!(view.selected_layer().is_none());
        view.move_column(-3);
        assert_eq!(view.scroll().0, 0);
        view.move_tree(4);
        assert_eq!(view.scroll().2, 3);
    }

    #[test]
    fn columns_with_no_layer_this_high_are_one_cell() {
        let set = [
            image("tall", &[("t0", 1), ("t1", 1), ("t2", 1)]),
            image("s1", &[("x", 1)]),
            image("s2", &[("y", 1)]),
        ];
        let names = ["tall", "s1", "s2"].map(String::from).into();
        let view = FleetView::new(fleet(&set), names, vec![]);
        assert_eq!(
            view.rows()[2],
            [
                Cell {
                    first: 0,
                    span: 1,
                    layer: Some("t2".into())
                },
                Cell {
                    first: 1,
                    span: 2,
                    layer: None
                }
            ]
        );
    }

    #[test]
    fn stdin_cannot_be_opened_again() {
        let set = [image("-", &[("x", 1)])];
        let view = FleetView::new(fleet(&set), vec!["-".into()], vec!["one failed".into()]);
        assert_eq!(view.selected_opening(), None);
        assert_eq!(view.left_out(), ["one failed"]);
    }
}
