//! The explorer's view model: what the interactive explorer shows and where its cursors
//! are, with no terminal in it. `tui/` draws it and feeds it keys; the CLI views to come
//! (`explain`, `diff`) can reuse the same data.
//!
//! - [`Explorer`]: the selected layer, the comparison (layer, aggregated, range), the file
//!   cursor and scroll offsets, collapse and left/right, the details cursor;
//! - [`filetree`]: the visible rows of the file tree, updated incrementally;
//! - [`loading`]: the first screen while the image loads: its layers as they are merged;
//! - [`content`]: a file's contents, a diff of two versions and a path's history, as data;
//! - [`extract`]: writing a file or directory of the image to the local filesystem;
//! - [`dockerfile`]: the Dockerfile beside its layers, line by line;
//! - [`tour`]: the guided tour of the demo images, each step's target found in the image;
//! - [`container`]: a simulated container's writable layer over the image, for the tour;
//! - [`compare`]: the comparison view of two images (`diff A B --tui`): their layer
//!   columns with the shared base joined, and the merged tree coloured by A→B change;
//! - [`fleet`]: the fleet view of a set of images (`fleet IMAGE… --tui`): their stacks
//!   side by side with the layers they share joined, and the sharing tree.
//!
//! The explanations of `e` come from [`crate::analysis::explain`], gathered once.

pub mod compare;
pub mod container;
pub mod content;
pub mod dockerfile;
pub mod extract;
pub mod filetree;
pub mod fleet;
pub mod loading;
pub mod partial;
pub mod tour;

use crate::analysis::explain::{self, Block, Facts};
use crate::analysis::PathEvent;
use crate::dockerfile::DockerfileError;
use crate::model::LoadedImage;
use crate::source::Source;
use crate::tree::{NodeId, ROOT};
use dockerfile::DockerfileView;
use filetree::{Compare, Filter, Row, ViewOptions, VisibleRows};
use std::sync::Arc;

/// What the layer-analysis module found, as the image-details pane shows it. Plain data,
/// filled by the view that opens the explorer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageAnalysis {
    /// 0.0 ..= 1.0.
    pub efficiency: f64,
    pub wasted_bytes: u64,
    /// Largest waste first.
    pub inefficient: Vec<InefficientPath>,
    /// Each layer's instruction, its secrets redacted, for the explanations.
    pub instructions: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct InefficientPath {
    /// Absolute path, raw bytes (escaped when drawn).
    pub path: Vec<u8>,
    pub wasted_bytes: u64,
    /// Its versions, oldest first: explained when the path is shown.
    pub versions: Vec<InefficientVersion>,
}

/// What the explanation of one version of an inefficient path says: a quarter of the
/// waste analysis's own record, which also names causes and links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InefficientVersion {
    pub layer: usize,
    pub action: PathEvent,
    /// Content bytes it ships.
    pub bytes: u64,
    pub wasted: bool,
}

impl ImageAnalysis {
    /// Why `path` wastes space, one line per version (escaped when drawn). Written for
    /// the path on screen only: a million-path image has tens of thousands of them.
    pub fn explanation(&self, path: &InefficientPath) -> Vec<String> {
        let instruction = |layer: usize| self.instructions.get(layer).map_or("", String::as_str);
        path.versions
            .iter()
            .map(|v| {
                format!(
                    "layer {}: {} {} ({}){}",
                    v.layer,
                    v.action.as_str(),
                    crate::size::human(v.bytes),
                    instruction(v.layer),
                    if v.wasted { ", wasted" } else { ", kept" }
                )
            })
            .collect()
    }
}

/// Make a loaded image ready for the views: instructions are drawn with their secrets
/// redacted, as every view shows them. (The Dockerfile mapping and the secret scan read
/// the config's own history, untouched.)
pub fn prepare_for_views(image: &mut LoadedImage) {
    crate::analysis::secrets::redact_history(&mut image.image.history);
}

/// The explorer's image-details pane: layerscope's score and its wasted paths.
pub fn image_analysis(loaded: &LoadedImage) -> ImageAnalysis {
    let waste = crate::analysis::analyze(&loaded.tree, &Default::default());
    // Once per layer, not per version of every wasted path: the redaction runs the
    // secret rules.
    let instructions: Vec<String> = (0..loaded.tree.layer_count())
        .map(|layer| {
            loaded
                .image
                .history
                .layers
                .get(layer)
                .map_or_else(String::new, |h| {
                    crate::analysis::secrets::redact_secrets(&h.instruction.display())
                })
        })
        .collect();
    ImageAnalysis {
        efficiency: waste.efficiency,
        wasted_bytes: waste.wasted_bytes,
        // The paths taken, not cloned; their lines are written when shown.
        inefficient: waste
            .paths
            .into_iter()
            .map(|path| InefficientPath {
                path: path.path,
                wasted_bytes: path.wasted_bytes,
                versions: path
                    .versions
                    .iter()
                    .map(|v| InefficientVersion {
                        layer: v.layer,
                        action: v.action,
                        bytes: v.bytes,
                        wasted: v.wasted,
                    })
                    .collect(),
            })
            .collect(),
        instructions,
    }
}

/// dive's two modes: one layer's own changes, or everything up to the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Layer,
    Aggregated,
}

/// How many rows each list shows, as the screen layout last said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewport {
    pub layer_rows: usize,
    pub file_rows: usize,
    /// Rows of the Dockerfile pane; 0 when it is hidden.
    pub dockerfile_rows: usize,
}

/// What `e` explains: a layer, or a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Layer(usize),
    Path(NodeId),
}

/// A one-line message for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub error: bool,
}

/// Where the digest check stands when it runs after the explorer opened
/// ([`crate::load::verify_layers`]): the status bar says it, so that a view drawn before
/// the check ends never passes for a verified one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// `checked` of `total` layers checked so far.
    Running { checked: usize, total: usize },
    /// Every layer's digests matched.
    Verified,
    /// A layer did not match (or could not be read again): the error, escaped.
    Failed(String),
}

/// The explorer's state: the image and every cursor over it.
pub struct Explorer {
    /// Shared with the thread that gathers the explanations' facts.
    image: Arc<LoadedImage>,
    /// Needed to read contents on demand; absent in some tests.
    source: Option<Source>,
    analysis: Option<ImageAnalysis>,
    layer: usize,
    layer_scroll: usize,
    mode: Mode,
    /// Range compare: the marked layer A (the selected layer is B).
    mark: Option<usize>,
    files: VisibleRows,
    file_cursor: usize,
    file_scroll: usize,
    details_cursor: usize,
    /// Whether the file pane shows permissions, owner and size.
    pub attributes: bool,
    /// Size of the merged filesystem after the top layer.
    total_size: u64,
    viewport: Viewport,
    /// The status bar's message; cleared by the next key.
    pub message: Option<Message>,
    /// `--dockerfile`, laid over the layers.
    dockerfile: Option<DockerfileView>,
    dockerfile_shown: bool,
    /// The Dockerfile pane's selected line (0-based) and first shown line.
    dockerfile_cursor: usize,
    dockerfile_scroll: usize,
    /// What explanations read: gathered on a thread once the explorer is open and the
    /// digest check done ([`Explorer::prepare_explanations_later`]), or for the tour,
    /// else on the first `e`.
    facts: Option<Box<Facts>>,
    pending_facts: Option<std::thread::JoinHandle<Facts>>,
    /// Nodes with a secret finding in some layer, sorted.
    secret_nodes: Vec<NodeId>,
    /// The OS packages per layer (empty unless the load read the package databases);
    /// shared with the explanations' facts.
    packages: Arc<crate::analysis::packages::Packages>,
    /// The demo image this is (`layerscope demo`), which the tour walks across.
    demo: Option<&'static str>,
    /// The digest check after opening, when the load left it for later.
    verification: Option<Verification>,
}

/// Move `value` by `delta` within `0..len`.
pub(crate) fn step(value: usize, delta: isize, len: usize) -> usize {
    let target = (value as isize).saturating_add(delta);
    target.clamp(0, len.saturating_sub(1) as isize) as usize
}

/// The scroll offset that keeps `cursor` within `height` rows.
pub(crate) fn follow(cursor: usize, scroll: usize, height: usize) -> usize {
    let height = height.max(1);
    if cursor < scroll {
        cursor
    } else if cursor >= scroll + height {
        cursor + 1 - height
    } else {
        scroll
    }
}

impl Explorer {
    pub fn new(
        mut image: LoadedImage,
        source: Option<Source>,
        analysis: Option<ImageAnalysis>,
    ) -> Explorer {
        prepare_for_views(&mut image);
        Explorer::new_shared(Arc::new(image), source, analysis)
    }

    /// [`Explorer::new`] for an image already shared, and prepared by
    /// [`prepare_for_views`]: other threads may read it while the explorer is built.
    pub fn new_shared(
        image: Arc<LoadedImage>,
        source: Option<Source>,
        analysis: Option<ImageAnalysis>,
    ) -> Explorer {
        let layers = image.tree.layer_count();
        let total_size = if layers > 0 {
            image.tree.subtree_sizes(layers - 1)[ROOT as usize]
        } else {
            0
        };
        let mut secret_nodes: Vec<NodeId> = crate::analysis::secrets::file_hits(&image)
            .map(|(entry, _)| image.tree.entry(entry).node)
            .collect();
        secret_nodes.sort_unstable();
        secret_nodes.dedup();
        let packages = Arc::new(crate::analysis::packages::analyze(&image));
        let mut explorer = Explorer {
            image,
            source,
            analysis,
            layer: 0,
            layer_scroll: 0,
            mode: Mode::Layer,
            mark: None,
            files: VisibleRows::new(),
            file_cursor: 0,
            file_scroll: 0,
            details_cursor: 0,
            attributes: true,
            total_size,
            viewport: Viewport {
                layer_rows: 1,
                file_rows: 1,
                dockerfile_rows: 0,
            },
            message: None,
            dockerfile: None,
            dockerfile_shown: false,
            dockerfile_cursor: 0,
            dockerfile_scroll: 0,
            facts: None,
            pending_facts: None,
            secret_nodes,
            packages,
            demo: None,
            verification: None,
        };
        explorer.sync_compare();
        explorer
    }

    /// The digest check after opening moved on ([`Verification`]).
    pub fn set_verification(&mut self, verification: Verification) {
        self.verification = Some(verification);
    }

    /// The digest check's progress while it runs, for the status bar.
    pub fn verifying(&self) -> Option<String> {
        match self.verification.as_ref()? {
            Verification::Running { checked, total } => {
                Some(format!("verifying digests: {checked} of {total} layers"))
            }
            _ => None,
        }
    }

    /// The digest check's failure, for good: a key clears other messages, not this.
    pub fn verification_failure(&self) -> Option<Message> {
        match self.verification.as_ref()? {
            Verification::Failed(error) => Some(Message {
                text: error.clone(),
                error: true,
            }),
            _ => None,
        }
    }

    /// Mark this as the embedded demo image `name`.
    pub fn set_demo(&mut self, name: &'static str) {
        self.demo = Some(name);
    }

    /// The embedded demo image this is, if it is one.
    pub fn demo(&self) -> Option<&'static str> {
        self.demo
    }

    pub fn image(&self) -> &LoadedImage {
        &self.image
    }

    pub fn source(&self) -> Option<&Source> {
        self.source.as_ref()
    }

    pub fn analysis(&self) -> Option<&ImageAnalysis> {
        self.analysis.as_ref()
    }

    pub fn set_analysis(&mut self, analysis: Option<ImageAnalysis>) {
        self.analysis = analysis;
        self.details_cursor = 0;
    }

    pub fn layer_count(&self) -> usize {
        self.image.tree.layer_count()
    }

    /// The selected layer.
    pub fn layer(&self) -> usize {
        self.layer
    }

    pub fn layer_scroll(&self) -> usize {
        self.layer_scroll
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn mark(&self) -> Option<usize> {
        self.mark
    }

    pub fn files(&self) -> &VisibleRows {
        &self.files
    }

    /// The rows and the tree they show, for callers that splice rows themselves (tests).
    pub fn files_mut(&mut self) -> (&crate::tree::Tree, &mut VisibleRows) {
        (&self.image.tree, &mut self.files)
    }

    /// Index of the selected row of the file tree.
    pub fn file_cursor(&self) -> usize {
        self.file_cursor
    }

    pub fn file_scroll(&self) -> usize {
        self.file_scroll
    }

    /// Index of the selected inefficient path of the image pane.
    pub fn details_cursor(&self) -> usize {
        self.details_cursor
    }

    pub fn total_size(&self) -> u64 {
        self.total_size
    }

    pub fn viewport(&self) -> Viewport {
        self.viewport
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
                format!("from layer {} to {}", compare.from.unwrap_or(0), compare.to)
            }
            (Some(mark), _) => format!("range: A={mark}, select B"),
            (None, Mode::Aggregated) => format!(
                "{} aggregated",
                crate::analysis::glossary::layer_span(0, self.layer)
            ),
            (None, Mode::Layer) => format!("layer {}", self.layer),
        }
    }

    /// Tell the model how many rows each list shows; scroll offsets follow the cursors.
    pub fn set_viewport(&mut self, viewport: Viewport) {
        self.viewport = viewport;
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

    /// Change what rows are shown (filter, hidden kinds, sort), keeping the selection.
    pub fn set_view_options(&mut self, change: impl FnOnce(&mut ViewOptions)) {
        let keep = self.selected_node();
        let mut options = self.files.options().clone();
        change(&mut options);
        self.files.set_options(&self.image.tree, options);
        self.reselect(keep);
    }

    pub fn set_filter(&mut self, filter: Option<Filter>) {
        let filter = filter.map(|filter| match filter {
            Filter::Package { name, .. } => {
                let nodes = self.package_files(&name);
                Filter::Package { name, nodes }
            }
            other => other,
        });
        self.set_view_options(|o| o.filter = filter);
    }

    /// The paths of the final image's files (not directories, which packages share) that
    /// the package `name` owns, ascending. `name` is as `packages` shows it; a dpkg name
    /// without its `:ARCH` takes every architecture's.
    pub fn package_files(&self, name: &str) -> Vec<NodeId> {
        let tree = &self.image.tree;
        let wanted = |key: &crate::analysis::packages::Key| {
            key.1 == name || key.1.split_once(':').is_some_and(|(base, _)| base == name)
        };
        let mut nodes: Vec<NodeId> = self
            .packages
            .owners
            .iter()
            .filter(|&(&node, key)| {
                wanted(key)
                    && tree.versions(node).iter().any(|v| {
                        v.entry != crate::tree::NONE
                            && !v.change.is_removal()
                            && tree.meta(v).kind != crate::layer::EntryKind::Dir
                    })
            })
            .map(|(&node, _)| node)
            .collect();
        nodes.sort_unstable();
        nodes
    }

    /// Scroll offsets so that cursors stay on screen.
    fn keep_visible(&mut self) {
        let Viewport {
            layer_rows,
            file_rows,
            dockerfile_rows,
        } = self.viewport;
        self.layer_scroll = follow(self.layer, self.layer_scroll, layer_rows);
        if let Some(view) = &self.dockerfile {
            self.dockerfile_scroll = follow(
                self.dockerfile_cursor,
                self.dockerfile_scroll,
                dockerfile_rows,
            )
            .min(view.len().saturating_sub(dockerfile_rows.max(1)));
        }
        self.file_scroll = follow(self.file_cursor, self.file_scroll, file_rows);
        // Never leave empty space below the last row when rows could fill it.
        let max_scroll = self.files.len().saturating_sub(file_rows.max(1));
        self.file_scroll = self.file_scroll.min(max_scroll);
    }

    /// Select the layer `delta` rows away (clamped); the file tree and the Dockerfile
    /// pane follow.
    pub fn move_layer(&mut self, delta: isize) {
        let next = step(self.layer, delta, self.layer_count());
        if next != self.layer {
            self.layer = next;
            self.sync_compare();
            self.sync_dockerfile_cursor();
        }
        self.keep_visible();
    }

    /// Select layer `layer` (clamped), as [`Self::move_layer`] does.
    pub fn select_layer(&mut self, layer: usize) {
        self.move_layer(layer as isize - self.layer as isize);
    }

    /// Select `node` in the file tree, expanding its collapsed parents and showing it
    /// even when the hidden kinds or the filter would not. False when the tree of the
    /// current comparison does not have it.
    pub fn select_path(&mut self, node: NodeId) -> bool {
        if self.files.position(node).is_none() {
            let mut options = self.files.options().clone();
            options.filter = None;
            options.show_added = true;
            options.show_removed = true;
            options.show_modified = true;
            options.show_unchanged = true;
            self.files.set_options(&self.image.tree, options);
        }
        // Open every collapsed ancestor, outermost first.
        let mut ancestors = Vec::new();
        let mut at = self.image.tree.node(node).parent;
        while at != ROOT && ancestors.len() < 4096 {
            ancestors.push(at);
            at = self.image.tree.node(at).parent;
        }
        for &dir in ancestors.iter().rev() {
            if let Some(row) = self.files.position(dir) {
                if self.files.is_collapsed(dir) {
                    self.files.toggle_collapse(&self.image.tree, row);
                }
            }
        }
        match self.files.position(node) {
            Some(row) => {
                self.file_cursor = row;
                self.keep_visible();
                true
            }
            None => false,
        }
    }

    /// Lay the Dockerfile `text` (called `name`) over the layers.
    pub fn set_dockerfile(&mut self, name: &str, text: &str) -> Result<(), DockerfileError> {
        let mut view = DockerfileView::new(name, text, &self.image)?;
        // A line may carry a secret (`RUN TOKEN=…`): drawn redacted beside its layer.
        crate::analysis::secrets::redact_mapping(&mut view.mapping);
        self.dockerfile = Some(view);
        self.facts = None;
        self.pending_facts = None;
        self.sync_dockerfile_cursor();
        Ok(())
    }

    /// Gather the explanations' facts (waste and hints over the whole tree: seconds on a
    /// million paths) on a thread of their own, so that the first `e` does not freeze the
    /// screen. Called once the Dockerfile, if any, is laid over the layers.
    pub fn prepare_explanations(&mut self) {
        self.gather_on_a_thread(|| {});
    }

    /// [`Explorer::prepare_explanations`] unless the facts are gathered or on their way,
    /// with `on_thread` run first on the new thread (the terminal side lowers its priority
    /// there). For once every pane answers: gathered beside the open, the facts' waste and
    /// hints would add their tens of MB to its peak and take a core from the load.
    pub fn prepare_explanations_later(&mut self, on_thread: fn()) {
        if self.facts.is_none() && self.pending_facts.is_none() {
            self.gather_on_a_thread(on_thread);
        }
    }

    fn gather_on_a_thread(&mut self, on_thread: fn()) {
        let image = Arc::clone(&self.image);
        let packages = Arc::clone(&self.packages);
        let dockerfile = self
            .dockerfile
            .as_ref()
            .map(|d| (d.dockerfile.clone(), d.mapping.clone()));
        self.facts = None;
        self.pending_facts = Some(std::thread::spawn(move || {
            on_thread();
            let dockerfile = dockerfile.as_ref().map(|(d, m)| (d, m));
            Facts::gather_with(&image, dockerfile, None, packages)
        }));
    }

    /// What layer `index` installed, removed and upgraded, if it changed a package database.
    pub fn layer_packages(
        &self,
        index: usize,
    ) -> Option<&crate::analysis::packages::LayerPackages> {
        self.packages.layers.iter().find(|l| l.index == index)
    }

    pub fn dockerfile(&self) -> Option<&DockerfileView> {
        self.dockerfile.as_ref()
    }

    /// Whether the Dockerfile pane is on screen.
    pub fn dockerfile_shown(&self) -> bool {
        self.dockerfile_shown && self.dockerfile.is_some()
    }

    /// Show or hide the Dockerfile pane; without a Dockerfile, say how to give one.
    pub fn toggle_dockerfile(&mut self) {
        if self.dockerfile.is_none() {
            self.inform("no Dockerfile: open the image with --dockerfile FILE");
            return;
        }
        self.dockerfile_shown = !self.dockerfile_shown;
        self.sync_dockerfile_cursor();
        self.keep_visible();
    }

    pub fn dockerfile_cursor(&self) -> usize {
        self.dockerfile_cursor
    }

    pub fn dockerfile_scroll(&self) -> usize {
        self.dockerfile_scroll
    }

    /// Move the Dockerfile pane's cursor `delta` lines; a line that belongs to a layer
    /// selects that layer.
    pub fn move_dockerfile(&mut self, delta: isize) {
        let Some(view) = &self.dockerfile else {
            return;
        };
        self.dockerfile_cursor = step(self.dockerfile_cursor, delta, view.len());
        if let Some(layer) = view.layer_of_line(self.dockerfile_cursor) {
            if layer != self.layer && layer < self.layer_count() {
                self.layer = layer;
                self.sync_compare();
            }
        }
        self.keep_visible();
    }

    /// Put the Dockerfile cursor on the selected layer's first line.
    fn sync_dockerfile_cursor(&mut self) {
        let Some(view) = &self.dockerfile else {
            return;
        };
        if view.layer_of_line(self.dockerfile_cursor) == Some(self.layer) {
            return;
        }
        if let Some(line) = view.line_of_layer(self.layer) {
            self.dockerfile_cursor = line - 1;
        }
    }

    /// Whether the facts are at hand: gathered, or their thread has finished.
    pub fn explanations_ready(&self) -> bool {
        self.facts.is_some() || self.pending_facts.as_ref().is_some_and(|h| h.is_finished())
    }

    /// What explanations read, gathered on first use.
    pub fn facts(&mut self) -> &Facts {
        if self.facts.is_none() {
            // Waits for the thread if it has not finished yet; a thread that panicked is
            // replaced by gathering here.
            if let Some(Ok(facts)) = self.pending_facts.take().map(|h| h.join()) {
                self.facts = Some(Box::new(facts));
            }
        }
        let image = &self.image;
        let dockerfile = self.dockerfile.as_ref();
        let packages = &self.packages;
        self.facts.get_or_insert_with(|| {
            Box::new(Facts::gather_with(
                image,
                dockerfile.map(|d| (&d.dockerfile, &d.mapping)),
                None,
                Arc::clone(packages),
            ))
        })
    }

    /// A layer or a path in plain words.
    pub fn explain(&mut self, subject: Subject) -> Vec<Block> {
        self.facts();
        let facts = self.facts.as_deref().expect("gathered above");
        let ctx = facts.context(&self.image.tree);
        match subject {
            Subject::Layer(layer) => explain::explain_layer_alone(&ctx, layer),
            Subject::Path(node) => explain::explain_path(&ctx, node),
        }
    }

    /// Whether some layer's copy of `node` has a secret finding.
    pub fn has_secret(&self, node: NodeId) -> bool {
        self.secret_nodes.binary_search(&node).is_ok()
    }

    /// Move the file cursor `delta` rows (clamped).
    pub fn move_file(&mut self, delta: isize) {
        self.file_cursor = step(self.file_cursor, delta, self.files.len());
        self.keep_visible();
    }

    /// Move the image pane's cursor over the inefficient paths.
    pub fn move_details(&mut self, delta: isize) {
        let len = self.analysis.as_ref().map_or(0, |a| a.inefficient.len());
        self.details_cursor = step(self.details_cursor, delta, len);
    }

    /// Select the layer on row `offset` of the list as drawn.
    pub fn click_layer(&mut self, offset: usize) {
        let target = self.layer_scroll + offset;
        if target < self.layer_count() {
            self.move_layer(target as isize - self.layer as isize);
        }
    }

    /// Select the file on row `offset` of the tree as drawn; a click on the selected
    /// directory collapses or expands it.
    pub fn click_file(&mut self, offset: usize) {
        let target = self.file_scroll + offset;
        if target < self.files.len() {
            if target == self.file_cursor {
                self.toggle_collapse();
            } else {
                self.file_cursor = target;
            }
        }
        self.keep_visible();
    }

    /// Left: collapse an open directory, else go to the parent.
    pub fn left(&mut self) {
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

    /// Right: expand a collapsed directory, else go to its first child.
    pub fn right(&mut self) {
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

    pub fn toggle_collapse(&mut self) {
        if self
            .files
            .toggle_collapse(&self.image.tree, self.file_cursor)
        {
            self.keep_visible();
        }
    }

    pub fn toggle_collapse_all(&mut self) {
        let keep = self.selected_node();
        self.files.toggle_collapse_all(&self.image.tree);
        self.reselect(keep);
    }

    /// dive's "layer" mode: the selected layer's own changes.
    pub fn compare_layer(&mut self) {
        self.mode = Mode::Layer;
        self.mark = None;
        self.sync_compare();
    }

    /// dive's "aggregated" mode: every change up to the selected layer.
    pub fn compare_all(&mut self) {
        self.mode = Mode::Aggregated;
        self.mark = None;
        self.sync_compare();
    }

    /// Mark the selected layer as A of a range, or clear the mark.
    pub fn toggle_mark(&mut self) {
        self.mark = match self.mark {
            Some(_) => None,
            None => Some(self.layer),
        };
        self.sync_compare();
    }

    /// Clear the range mark; false when there was none.
    pub fn clear_mark(&mut self) -> bool {
        if self.mark.take().is_none() {
            return false;
        }
        self.sync_compare();
        true
    }

    pub fn inform(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: false,
        });
    }

    /// An error for the status bar; escaped, since it may quote names from the image.
    pub fn fail(&mut self, text: impl AsRef<str>) {
        self.message = Some(Message {
            text: crate::escape::escape_str(text.as_ref()).into_owned(),
            error: true,
        });
    }
}

#[cfg(test)]
pub(crate) mod tests;
