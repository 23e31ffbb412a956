//! The explorer's state, and how actions change it. No drawing here: the widgets read
//! an `&App`.

use super::actions::{Action, Context};
use super::extract::{self, ExtractPlan};
use super::filetree::{Compare, Filter, Row, SortOrder, VisibleRows};
use super::keymap::Keymap;
use super::textdiff::{self, DiffLine};
use super::theme::{Glyphs, Theme};
use super::widgets;
use crate::escape::{escape_bytes, escape_str};
use crate::layer::content::read_content;
use crate::layer::EntryKind;
use crate::load::LoadedImage;
use crate::source::Source;
use crate::tree::{Change, NodeId, Version, NONE, ROOT};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use std::path::PathBuf;

/// What the layer-analysis module found, as the image-details pane shows it. Plain data,
/// filled by the caller of [`super::run_tui`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageAnalysis {
    /// 0.0 ..= 1.0.
    pub efficiency: f64,
    pub wasted_bytes: u64,
    /// Largest waste first.
    pub inefficient: Vec<InefficientPath>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct InefficientPath {
    /// Absolute path, raw bytes (escaped when drawn).
    pub path: Vec<u8>,
    pub wasted_bytes: u64,
    /// Why this path wastes space, one line each (escaped when drawn).
    pub explanation: Vec<String>,
}

/// How the explorer looks and which keys it uses.
#[derive(Debug, Clone)]
pub struct Settings {
    pub theme: Theme,
    pub glyphs: Glyphs,
    pub keymap: Keymap,
    /// Where `x` extracts to by default.
    pub extract_dir: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            theme: Theme::dark(),
            glyphs: Glyphs::UNICODE,
            keymap: Keymap::default(),
            extract_dir: PathBuf::from("."),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Layers,
    Files,
    Image,
}

/// dive's two modes: one layer's own changes, or everything up to the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Layer,
    Aggregated,
}

/// How a line of a text overlay is drawn.
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
    /// Line number or hex offset.
    pub gutter: String,
    /// Already escaped.
    pub text: String,
}

/// One layer's effect on a path, for the path-history overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub layer: usize,
    pub action: &'static str,
    pub size: Option<u64>,
    pub mode: Option<String>,
    /// `-rw-r--r-- → -rw-------` when the mode changed.
    pub mode_change: Option<String>,
    pub instruction: String,
    /// The path as the tar named it, escaped, where the entry landed elsewhere (its
    /// parent crossed a symlink).
    pub written_as: Option<String>,
}

#[derive(Debug, Clone)]
pub enum ExtractStage {
    /// Editing the destination.
    Input,
    /// Some paths exist: overwrite?
    Confirm(ExtractPlan),
}

#[derive(Debug, Clone)]
pub enum Overlay {
    Help {
        scroll: usize,
    },
    History {
        node: NodeId,
        rows: Vec<HistoryRow>,
        scroll: usize,
    },
    Text {
        title: String,
        lines: Vec<TextLine>,
        scroll: usize,
    },
    Extract {
        node: NodeId,
        input: String,
        stage: ExtractStage,
    },
}

/// The filter line.
#[derive(Debug, Clone, Default)]
pub struct FilterState {
    pub editing: bool,
    pub text: String,
    pub error: Option<String>,
}

/// Cap on what `v` and `D` read of a file.
pub const VIEW_CAP: u64 = 1 << 20;

pub struct App {
    pub image: LoadedImage,
    /// Needed to read contents on demand; absent in some tests.
    pub source: Option<Source>,
    pub analysis: Option<ImageAnalysis>,
    pub settings: Settings,
    pub focus: Focus,
    pub layer: usize,
    pub layer_scroll: usize,
    pub mode: Mode,
    /// Range compare: the marked layer A (the selected layer is B).
    pub mark: Option<usize>,
    pub files: VisibleRows,
    pub file_cursor: usize,
    pub file_scroll: usize,
    pub attributes: bool,
    pub filter: FilterState,
    pub overlay: Option<Overlay>,
    /// A one-line message, and whether it is an error.
    pub message: Option<(String, bool)>,
    pub details_cursor: usize,
    /// Size of the merged filesystem after the top layer.
    pub total_size: u64,
    pub area: Rect,
    pub quit: bool,
}

impl App {
    pub fn new(
        image: LoadedImage,
        source: Option<Source>,
        analysis: Option<ImageAnalysis>,
        settings: Settings,
    ) -> App {
        let layers = image.tree.layer_count();
        let total_size = if layers > 0 {
            image.tree.subtree_sizes(layers - 1)[ROOT as usize]
        } else {
            0
        };
        let mut app = App {
            image,
            source,
            analysis,
            settings,
            focus: Focus::Layers,
            layer: 0,
            layer_scroll: 0,
            mode: Mode::Layer,
            mark: None,
            files: VisibleRows::new(),
            file_cursor: 0,
            file_scroll: 0,
            attributes: true,
            filter: FilterState::default(),
            overlay: None,
            message: None,
            details_cursor: 0,
            total_size,
            area: Rect::new(0, 0, 120, 40),
            quit: false,
        };
        app.sync_compare();
        app
    }

    pub fn layer_count(&self) -> usize {
        self.image.tree.layer_count()
    }

    /// The comparison the file tree shows.
    pub fn compare(&self) -> Compare {
        let layer = self.layer;
        match (self.mark, self.mode) {
            (Some(mark), _) if mark != layer => Compare {
                from: Some(mark.min(layer)),
                to: mark.max(layer),
            },
            (_, Mode::Aggregated) => Compare {
                from: (layer > 0).then_some(0),
                to: layer,
            },
            _ => Compare {
                from: layer.checked_sub(1),
                to: layer,
            },
        }
    }

    /// A short name of the comparison, for titles and the status bar.
    pub fn compare_label(&self) -> String {
        let compare = self.compare();
        match (self.mark, self.mode) {
            (Some(mark), _) if mark != self.layer => {
                format!("range {}..{}", compare.from.unwrap_or(0), compare.to)
            }
            (Some(mark), _) => format!("range: A={mark}, select B"),
            (None, Mode::Aggregated) => format!("aggregated 0..{}", self.layer),
            (None, Mode::Layer) => format!("layer {}", self.layer),
        }
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.area = Rect::new(0, 0, width, height);
        self.keep_visible();
    }

    pub fn selected_row(&self) -> Option<Row> {
        self.files.rows().get(self.file_cursor).copied()
    }

    pub fn selected_node(&self) -> Option<NodeId> {
        self.selected_row().map(|r| r.node)
    }

    /// Re-run the comparison after the layer, mode or mark changed, keeping the selected
    /// path selected when it is still shown.
    fn sync_compare(&mut self) {
        let keep = self.selected_node();
        let compare = self.compare();
        if self.layer_count() > 0 {
            self.files.set_compare(&self.image.tree, compare);
        }
        self.reselect(keep);
    }

    fn reselect(&mut self, node: Option<NodeId>) {
        if let Some(at) = node.and_then(|n| self.files.position(n)) {
            self.file_cursor = at;
        }
        self.file_cursor = self.file_cursor.min(self.files.len().saturating_sub(1));
        self.keep_visible();
    }

    fn set_view_options(&mut self, change: impl FnOnce(&mut super::filetree::ViewOptions)) {
        let keep = self.selected_node();
        let mut options = self.files.options().clone();
        change(&mut options);
        self.files.set_options(&self.image.tree, options);
        self.reselect(keep);
    }

    /// Scroll offsets so that cursors stay on screen.
    fn keep_visible(&mut self) {
        let areas = widgets::layout(self.area, self);
        let keep = |cursor: usize, scroll: &mut usize, height: usize| {
            let height = height.max(1);
            if cursor < *scroll {
                *scroll = cursor;
            } else if cursor >= *scroll + height {
                *scroll = cursor + 1 - height;
            }
        };
        keep(
            self.layer,
            &mut self.layer_scroll,
            widgets::list_height(areas.layers),
        );
        let file_rows = widgets::list_height(areas.files).saturating_sub(1);
        keep(self.file_cursor, &mut self.file_scroll, file_rows);
        // Never leave empty space below the last row when rows could fill it.
        let max_scroll = self.files.len().saturating_sub(file_rows.max(1));
        self.file_scroll = self.file_scroll.min(max_scroll);
    }

    fn page(&self) -> usize {
        let areas = widgets::layout(self.area, self);
        match self.focus {
            Focus::Layers => widgets::list_height(areas.layers),
            _ => widgets::list_height(areas.files).saturating_sub(1),
        }
        .max(1)
    }

    fn context(&self) -> Context {
        match self.focus {
            Focus::Layers => Context::Layers,
            Focus::Files => Context::Files,
            Focus::Image => Context::Global,
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl_c {
            self.quit = true;
            return;
        }
        self.message = None;
        if self.filter.editing {
            self.filter_key(key);
            return;
        }
        if self.overlay.is_some() {
            self.overlay_key(key);
            return;
        }
        if let Some(action) = self.settings.keymap.lookup(&key, self.context()) {
            self.apply(action);
        }
    }

    fn filter_key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Esc => {
                self.filter.editing = false;
                self.filter.text.clear();
                self.apply_filter();
            }
            KeyCode::Enter | KeyCode::Tab | KeyCode::Down | KeyCode::Up => {
                self.filter.editing = false;
            }
            KeyCode::Backspace => {
                self.filter.text.pop();
                self.apply_filter();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.filter.text.push(c);
                self.apply_filter();
            }
            _ => {}
        }
    }

    /// Apply the filter text live; a broken regex keeps the previous filter.
    fn apply_filter(&mut self) {
        let parsed = if self.filter.text.is_empty() {
            Ok(None)
        } else {
            Filter::parse(&self.filter.text).map(Some)
        };
        match parsed {
            Ok(filter) => {
                self.filter.error = None;
                self.set_view_options(|o| o.filter = filter);
            }
            Err(e) => self.filter.error = Some(e),
        }
    }

    fn overlay_key(&mut self, key: KeyEvent) {
        if let Some(Overlay::Extract { .. }) = &self.overlay {
            self.extract_key(key);
            return;
        }
        let action = self.settings.keymap.lookup(&key, Context::Global);
        let scroll = match self.overlay.as_mut() {
            Some(Overlay::Help { scroll })
            | Some(Overlay::History { scroll, .. })
            | Some(Overlay::Text { scroll, .. }) => scroll,
            _ => return,
        };
        let page = 10;
        match (key.code, action) {
            (KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter, _) => self.overlay = None,
            (_, Some(Action::Help)) => self.overlay = None,
            (_, Some(Action::Up)) => *scroll = scroll.saturating_sub(1),
            (_, Some(Action::Down)) => *scroll += 1,
            (_, Some(Action::PageUp)) => *scroll = scroll.saturating_sub(page),
            (_, Some(Action::PageDown)) => *scroll += page,
            (_, Some(Action::Home)) => *scroll = 0,
            (_, Some(Action::End)) => *scroll = usize::MAX / 2,
            _ => {}
        }
    }

    fn extract_key(&mut self, key: KeyEvent) {
        let layer = self.compare().to;
        let Some(Overlay::Extract { node, input, stage }) = self.overlay.as_mut() else {
            return;
        };
        let node = *node;
        match stage {
            ExtractStage::Input => match key.code {
                KeyCode::Esc => self.overlay = None,
                KeyCode::Backspace => {
                    input.pop();
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => input.push(c),
                KeyCode::Enter => {
                    let destination = PathBuf::from(if input.is_empty() { "." } else { input });
                    match extract::plan(&self.image.tree, node, layer, &destination) {
                        Err(e) => self.fail(e),
                        Ok(plan) if plan.existing.is_empty() => self.run_extract(&plan, false),
                        Ok(plan) => *stage = ExtractStage::Confirm(plan),
                    }
                }
                _ => {}
            },
            ExtractStage::Confirm(plan) => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    let plan = plan.clone();
                    self.run_extract(&plan, true);
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                    self.overlay = None;
                    self.message = Some(("extraction cancelled: nothing written".into(), false));
                }
                _ => {}
            },
        }
    }

    fn run_extract(&mut self, plan: &ExtractPlan, overwrite: bool) {
        self.overlay = None;
        let Some(source) = &self.source else {
            return self.fail("no image source to read from".into());
        };
        match extract::execute(plan, source, &self.image.image, overwrite) {
            Ok(report) => {
                let skipped = if report.skipped > 0 {
                    format!(", {} skipped ({})", report.skipped, plan.skipped.join("; "))
                } else {
                    String::new()
                };
                self.message = Some((
                    format!(
                        "extracted {} files, {} dirs, {} symlinks ({} bytes) to {}{skipped}",
                        report.files,
                        report.dirs,
                        report.symlinks,
                        report.bytes,
                        plan.destination.display()
                    ),
                    false,
                ));
            }
            Err(e) => self.fail(format!("extract: {e}")),
        }
    }

    fn fail(&mut self, text: String) {
        self.message = Some((escape_str(&text).into_owned(), true));
    }

    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Quit => self.quit = true,
            Action::ToggleView => {
                self.focus = match self.focus {
                    Focus::Layers => Focus::Files,
                    Focus::Files if self.analysis.is_some() => Focus::Image,
                    _ => Focus::Layers,
                }
            }
            Action::Filter => {
                self.filter.editing = true;
                if self.focus == Focus::Layers {
                    self.focus = Focus::Files;
                }
            }
            Action::CloseFilter => {
                if !self.filter.text.is_empty() {
                    self.filter.text.clear();
                    self.apply_filter();
                } else if self.mark.is_some() {
                    self.mark = None;
                    self.sync_compare();
                }
            }
            Action::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-(self.page() as isize)),
            Action::PageDown => self.move_by(self.page() as isize),
            Action::Home => self.move_by(isize::MIN / 2),
            Action::End => self.move_by(isize::MAX / 2),
            Action::Left => self.left(),
            Action::Right => self.right(),
            Action::CompareLayer => {
                self.mode = Mode::Layer;
                self.mark = None;
                self.sync_compare();
            }
            Action::CompareAll => {
                self.mode = Mode::Aggregated;
                self.mark = None;
                self.sync_compare();
            }
            Action::MarkRange => {
                self.mark = match self.mark {
                    Some(_) => None,
                    None => Some(self.layer),
                };
                self.sync_compare();
            }
            Action::ToggleCollapseDir => {
                if self
                    .files
                    .toggle_collapse(&self.image.tree, self.file_cursor)
                {
                    self.keep_visible();
                }
            }
            Action::ToggleCollapseAll => {
                let keep = self.selected_node();
                self.files.toggle_collapse_all(&self.image.tree);
                self.reselect(keep);
            }
            Action::ToggleAdded => self.set_view_options(|o| o.show_added = !o.show_added),
            Action::ToggleRemoved => self.set_view_options(|o| o.show_removed = !o.show_removed),
            Action::ToggleModified => self.set_view_options(|o| o.show_modified = !o.show_modified),
            Action::ToggleUnchanged => {
                self.set_view_options(|o| o.show_unchanged = !o.show_unchanged)
            }
            Action::ToggleAttributes => self.attributes = !self.attributes,
            Action::ToggleSort => self.set_view_options(|o| {
                o.sort = match o.sort {
                    SortOrder::Name => SortOrder::Size,
                    SortOrder::Size => SortOrder::Name,
                }
            }),
            Action::PathHistory => {
                if let Some(node) = self.selected_node() {
                    let rows = self.path_history(node);
                    self.overlay = Some(Overlay::History {
                        node,
                        rows,
                        scroll: 0,
                    });
                }
            }
            Action::ViewFile => self.view_file(),
            Action::DiffFile => self.diff_file(),
            Action::Extract => {
                if let Some(node) = self.selected_node() {
                    self.overlay = Some(Overlay::Extract {
                        node,
                        input: self.settings.extract_dir.display().to_string(),
                        stage: ExtractStage::Input,
                    });
                }
            }
        }
    }

    fn move_by(&mut self, delta: isize) {
        let step = |value: usize, len: usize| -> usize {
            let target = value as isize + delta;
            target.clamp(0, len.saturating_sub(1) as isize) as usize
        };
        match self.focus {
            Focus::Layers => {
                let next = step(self.layer, self.layer_count());
                if next != self.layer {
                    self.layer = next;
                    self.sync_compare();
                }
            }
            Focus::Files => self.file_cursor = step(self.file_cursor, self.files.len()),
            Focus::Image => {
                let len = self.analysis.as_ref().map_or(0, |a| a.inefficient.len());
                self.details_cursor = step(self.details_cursor, len);
            }
        }
        self.keep_visible();
    }

    fn left(&mut self) {
        if self.focus != Focus::Files {
            return;
        }
        let Some(row) = self.selected_row() else {
            return;
        };
        if row.is_dir && !self.files.is_collapsed(row.node) {
            self.files
                .toggle_collapse(&self.image.tree, self.file_cursor);
        } else if let Some(parent) = self.files.parent_index(self.file_cursor) {
            self.file_cursor = parent;
        }
        self.keep_visible();
    }

    fn right(&mut self) {
        if self.focus != Focus::Files {
            return;
        }
        let Some(row) = self.selected_row() else {
            return;
        };
        if row.is_dir && self.files.is_collapsed(row.node) {
            self.files
                .toggle_collapse(&self.image.tree, self.file_cursor);
        } else if row.is_dir
            && self
                .files
                .rows()
                .get(self.file_cursor + 1)
                .is_some_and(|next| next.depth > row.depth)
        {
            self.file_cursor += 1;
        }
        self.keep_visible();
    }

    /// Every layer that touched a path: what it did, size, mode, instruction.
    pub fn path_history(&self, node: NodeId) -> Vec<HistoryRow> {
        let tree = &self.image.tree;
        let mut rows = Vec::new();
        let mut previous_mode: Option<String> = None;
        for version in tree.versions(node) {
            let layer = version.layer as usize;
            let instruction = self
                .image
                .image
                .history
                .layers
                .get(layer)
                .map(|l| escape_str(&l.instruction.display()).into_owned())
                .unwrap_or_default();
            let action = match version.change {
                Change::Added => "added",
                Change::Modified => "modified",
                Change::Unchanged => "rewritten, same",
                Change::Whiteout => "deleted",
                Change::Opaque => "hidden (opaque dir)",
                Change::Replaced => "replaced by a file",
            };
            let written_as = (version.entry != NONE && version.change != Change::Replaced)
                .then(|| tree.written_path(version.entry))
                .flatten()
                .map(|path| format!("/{}", escape_bytes(path)));
            if version.change.is_removal() {
                previous_mode = None;
                rows.push(HistoryRow {
                    layer,
                    action,
                    size: None,
                    mode: None,
                    mode_change: None,
                    instruction,
                    written_as,
                });
                continue;
            }
            let meta = tree.meta(version);
            let mode = format!("{} {}:{}", meta.ls_mode(), meta.uid, meta.gid);
            let mode_change = previous_mode
                .as_ref()
                .filter(|p| **p != mode)
                .map(|p| format!("{p} {} {mode}", self.settings.glyphs.arrow));
            previous_mode = Some(mode.clone());
            rows.push(HistoryRow {
                layer,
                action,
                size: (meta.kind != EntryKind::Dir).then(|| tree.content_size(version)),
                mode: Some(mode),
                mode_change,
                instruction,
                written_as,
            });
        }
        rows
    }

    /// The version of the selected path that `v` shows and `D` compares.
    fn shown_version(&self, node: NodeId) -> Option<&Version> {
        self.files.version(&self.image.tree, node)
    }

    fn read_version(&self, version: &Version) -> Result<crate::layer::content::Content, String> {
        let tree = &self.image.tree;
        if version.content == NONE {
            return Err("not a regular file".into());
        }
        let content = tree.entry(version.content);
        let layer = content.layer as usize;
        let member = self
            .image
            .image
            .layers
            .get(layer)
            .and_then(|l| l.member.as_deref())
            .ok_or_else(|| format!("layer {layer} is not in the archive"))?;
        let source = self.source.as_ref().ok_or("no image source to read from")?;
        read_content(
            source,
            member,
            content.meta.offset,
            content.meta.size,
            VIEW_CAP,
        )
        .map_err(|e| e.to_string())
    }

    fn view_file(&mut self) {
        let Some(node) = self.selected_node() else {
            return;
        };
        let Some(version) = self.shown_version(node).copied() else {
            return;
        };
        let path = escape_bytes(&self.image.tree.path(node)).into_owned();
        match self.read_version(&version) {
            Err(e) => self.fail(format!("{path}: {e}")),
            Ok(content) => {
                let mut lines = content_lines(&content.bytes);
                if content.truncated {
                    lines.push(TextLine {
                        kind: LineKind::Note,
                        gutter: String::new(),
                        text: format!(
                            "(showing the first {} of {} bytes)",
                            content.bytes.len(),
                            content.size
                        ),
                    });
                }
                self.overlay = Some(Overlay::Text {
                    title: format!("{path} @ layer {} ({} bytes)", version.layer, content.size),
                    lines,
                    scroll: 0,
                });
            }
        }
    }

    fn diff_file(&mut self) {
        let Some(node) = self.selected_node() else {
            return;
        };
        let tree = &self.image.tree;
        let path = escape_bytes(&tree.path(node)).into_owned();
        let compare = self.compare();
        let current = tree.live_at(node, compare.to).copied();
        // The previous version: the one before the current one, or for a removed path
        // the one it had before removal.
        let previous = match &current {
            Some(cur) => tree
                .versions(node)
                .iter()
                .rev()
                .find(|v| v.layer < cur.layer)
                .filter(|v| !v.change.is_removal())
                .copied(),
            None => self.shown_version(node).copied(),
        };
        let read = |version: Option<Version>| -> Result<(Vec<u8>, bool, Option<u16>), String> {
            match version {
                None => Ok((Vec::new(), false, None)),
                Some(v) => self
                    .read_version(&v)
                    .map(|c| (c.bytes, c.truncated, Some(v.layer))),
            }
        };
        let (old, new) = match (read(previous), read(current)) {
            (Ok(old), Ok(new)) => (old, new),
            (Err(e), _) | (_, Err(e)) => return self.fail(format!("{path}: {e}")),
        };
        let label =
            |layer: Option<u16>| layer.map_or("(none)".to_string(), |l| format!("layer {l}"));
        let title = format!(
            "{path}: {} {} {}",
            label(old.2),
            self.settings.glyphs.arrow,
            label(new.2)
        );
        let mut lines = Vec::new();
        if is_binary(&old.0) || is_binary(&new.0) {
            lines.push(TextLine {
                kind: LineKind::Note,
                gutter: String::new(),
                text: if old.0 == new.0 {
                    "binary contents are identical".into()
                } else {
                    format!(
                        "binary contents differ ({} → {} bytes)",
                        old.0.len(),
                        new.0.len()
                    )
                },
            });
        } else {
            let (a, b) = (textdiff::lines(&old.0), textdiff::lines(&new.0));
            for line in textdiff::unified(&a, &b, 3) {
                let (kind, gutter, text) = match line {
                    DiffLine::Hunk(h) => (LineKind::Hunk, "", h),
                    DiffLine::Context(t) => (LineKind::Plain, " ", display_line(t)),
                    DiffLine::Removed(t) => (LineKind::Removed, "-", display_line(t)),
                    DiffLine::Added(t) => (LineKind::Added, "+", display_line(t)),
                };
                lines.push(TextLine {
                    kind,
                    gutter: gutter.into(),
                    text,
                });
            }
            if lines.is_empty() {
                lines.push(TextLine {
                    kind: LineKind::Note,
                    gutter: String::new(),
                    text: "no differences in content".into(),
                });
            }
        }
        if old.1 || new.1 {
            lines.push(TextLine {
                kind: LineKind::Note,
                gutter: String::new(),
                text: format!("(only the first {VIEW_CAP} bytes of each version were compared)"),
            });
        }
        self.overlay = Some(Overlay::Text {
            title,
            lines,
            scroll: 0,
        });
    }

    pub fn handle_mouse(&mut self, mouse: MouseEvent) {
        if self.overlay.is_some() || self.filter.editing {
            let delta = match mouse.kind {
                MouseEventKind::ScrollDown => Action::Down,
                MouseEventKind::ScrollUp => Action::Up,
                _ => return,
            };
            if let Some(
                Overlay::Help { scroll }
                | Overlay::History { scroll, .. }
                | Overlay::Text { scroll, .. },
            ) = self.overlay.as_mut()
            {
                *scroll = if delta == Action::Down {
                    *scroll + 3
                } else {
                    scroll.saturating_sub(3)
                };
            }
            return;
        }
        let areas = widgets::layout(self.area, self);
        let at = Position::new(mouse.column, mouse.row);
        let pane = if areas.layers.contains(at) {
            Focus::Layers
        } else if areas.files.contains(at) {
            Focus::Files
        } else if areas.image.contains(at) && self.analysis.is_some() {
            Focus::Image
        } else {
            return;
        };
        match mouse.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let saved = self.focus;
                self.focus = pane;
                let step = if mouse.kind == MouseEventKind::ScrollDown {
                    3
                } else {
                    -3
                };
                self.move_by(step);
                if pane != Focus::Layers {
                    self.focus = saved;
                }
            }
            MouseEventKind::Down(_) => {
                self.focus = pane;
                match pane {
                    Focus::Layers => {
                        let top = areas.layers.y + 1;
                        if let Some(offset) = mouse.row.checked_sub(top) {
                            let target = self.layer_scroll + offset as usize;
                            if target < self.layer_count() {
                                self.move_by(target as isize - self.layer as isize);
                            }
                        }
                    }
                    Focus::Files => {
                        // Border and header line.
                        let top = areas.files.y + 2;
                        if let Some(offset) = mouse.row.checked_sub(top) {
                            let target = self.file_scroll + offset as usize;
                            if target < self.files.len() {
                                if target == self.file_cursor {
                                    self.apply(Action::ToggleCollapseDir);
                                } else {
                                    self.file_cursor = target;
                                }
                            }
                        }
                    }
                    Focus::Image => {}
                }
                self.keep_visible();
            }
            _ => {}
        }
    }
}

/// A line of file content as it is drawn: tabs expanded, controls escaped.
fn display_line(bytes: &[u8]) -> String {
    let text = escape_bytes(bytes);
    text.replace("\\x09", "    ")
}

fn is_binary(bytes: &[u8]) -> bool {
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
    textdiff::lines(bytes)
        .into_iter()
        .enumerate()
        .map(|(i, line)| TextLine {
            kind: LineKind::Plain,
            gutter: (i + 1).to_string(),
            text: display_line(line),
        })
        .collect()
}
