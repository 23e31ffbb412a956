//! The file tree the first screen draws while the image loads: after each layer is merged,
//! the tree of the layers merged so far, checked against umoci's unpack of the image cut
//! to those layers, labelled as partial, with its keys working; each merged layer's own
//! changes against the difference of two unpacks; and the explorer opening on the path
//! picked meanwhile. The load is driven step by step through its watch: the watch is told
//! of each layer on the merging thread, between two layers, so every step is exact.

mod tui_support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use layerscope::explore::loading::{PartialRow, PartialTree};
use layerscope::image::Image;
use layerscope::layer::ParseControl;
use layerscope::load::{LayerInfo, MergedTree, Watch};
use layerscope::open::Opening;
use layerscope::tree::ChangeCounts;
use layerscope::tui::components::loading::LoadingScreen;
use layerscope::tui::components::Pane;
use layerscope::tui::{explorer_opening, App, Screen, Settings};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tui_support::support::rootfs::{prefix_rootfs, snapshot, LayeredImage, Snap};
use tui_support::support::tools::tools;
use tui_support::support::LayerSpec;
use tui_support::*;

const WIDTH: u16 = 140;
const HEIGHT: u16 = 40;

/// Four layers that exercise what a merge can do: a whiteout, an opaque directory, a
/// symlinked parent, a hardlink, a directory replaced by a file, a deleted directory.
fn layers() -> Vec<LayerSpec> {
    vec![
        LayerSpec::new()
            .dir("etc", 0o755)
            .file("etc/app.conf", b"port=1")
            .file("etc/old", b"old")
            .file("usr/bin/tool", b"0123456789")
            .file("usr/lib/libx.so", b"lib")
            .file("var/cache/c1", b"1")
            .file("var/cache/c2", b"22")
            .file("data/keep", b"k"),
        LayerSpec::new()
            .whiteout("etc/old")
            .opaque("var/cache")
            .file("var/cache/new", b"new")
            .file("etc/app.conf", b"port=22")
            .symlink("bin", "usr/bin")
            .hardlink("usr/bin/tool2", "usr/bin/tool"),
        LayerSpec::new()
            .file("data", b"now a file")
            .file("bin/new", b"through the symlink")
            .whiteout("usr/lib"),
        LayerSpec::new().file("opt/x/y/deep", b"deep"),
    ]
}

/// What the first screen showed after one layer was merged.
struct Step {
    /// Layers merged.
    merged: usize,
    /// The screen as drawn then, every directory closed.
    text: String,
    /// Every path of the tree with every directory opened (ctrl+space in the tree pane),
    /// with its row's size for files.
    paths: BTreeMap<String, Option<u64>>,
    /// The screen's layer pane for the last merged layer, and for the one after it.
    details: String,
    /// The merged layer's own change counts, as the first screen read them.
    changes: Option<ChangeCounts>,
}

/// Plays the first screen against a load: told what the load tells, on the merging thread.
struct Stepper {
    screen: Mutex<LoadingScreen>,
    tree: Mutex<Option<Arc<MergedTree>>>,
    steps: Mutex<Vec<Step>>,
    /// Keys pressed on the screen after a given number of layers merged.
    keys: Vec<(usize, Vec<KeyEvent>)>,
    /// The selected path's rows after those keys: (merged, path).
    selected: Mutex<Vec<(usize, String)>>,
}

impl std::fmt::Debug for Stepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stepper")
    }
}

impl Watch for Stepper {
    fn described(&self, image: &Image) {
        let mut screen = self.screen.lock().unwrap();
        screen.model.describe(image);
        screen.relayout();
    }

    fn merging(&self, _image: usize, tree: Arc<MergedTree>) {
        self.screen.lock().unwrap().model.set_tree(tree.clone());
        *self.tree.lock().unwrap() = Some(tree);
    }

    fn merged(&self, _image: usize, info: &LayerInfo) {
        let mut screen = self.screen.lock().unwrap();
        let merged = info.index + 1;
        screen.model.applied(info.clone());
        // As the event loop does before each frame.
        screen.model.refresh_files();
        let text = screen_of(&*screen, WIDTH, HEIGHT);
        let paths = all_paths(self.tree.lock().unwrap().as_ref().unwrap());
        // The layer pane for the merged layer, then for the next (not parsed yet).
        let cursor = screen.model.cursor();
        screen
            .model
            .move_cursor(info.index as isize - cursor as isize);
        let mut details = screen_of(&*screen, WIDTH, HEIGHT);
        screen.model.move_cursor(1);
        details.push_str(&screen_of(&*screen, WIDTH, HEIGHT));
        let cursor = screen.model.cursor();
        screen.model.move_cursor(-(cursor as isize));
        let changes = screen.model.files().layer_changes(info.index);
        self.steps.lock().unwrap().push(Step {
            merged,
            text,
            paths,
            details,
            changes,
        });
        for (after, keys) in &self.keys {
            if *after == merged {
                for key in keys {
                    screen.handle_key(*key);
                }
                screen.model.refresh_files();
                let row = screen.model.files().selected().map(|row| row.node);
                let path = selected_path(&screen);
                assert!(row.is_some());
                self.selected.lock().unwrap().push((merged, path));
            }
        }
    }
}

fn ctrl_space() -> KeyEvent {
    KeyEvent::new(KeyCode::Char(' '), KeyModifiers::CONTROL)
}

/// A row's path, from its name and the names of the rows above it.
fn paths_of(rows: &[PartialRow]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    rows.iter()
        .map(|row| {
            names.truncate(row.depth as usize);
            names.push(String::from_utf8(row.name.to_vec()).unwrap());
            names.join("/")
        })
        .collect()
}

/// Every path of the tree merged so far, as a tree pane with every directory opened
/// shows it (a second view of the same tree, so the screen's own stays as the keys left
/// it); files with their size.
fn all_paths(tree: &MergedTree) -> BTreeMap<String, Option<u64>> {
    let mut all = PartialTree::new();
    all.toggle_all();
    tree.try_read(|tree| all.read(tree, tree.layer_count()))
        .expect("between two layers the tree is free");
    let sizes = all
        .rows()
        .iter()
        .map(|row| (!row.state.is_dir).then_some(row.state.size));
    paths_of(all.rows()).into_iter().zip(sizes).collect()
}

/// The selected row's path.
fn selected_path(screen: &LoadingScreen) -> String {
    let files = screen.model.files();
    paths_of(&files.rows()[..=files.cursor()]).pop().unwrap()
}

/// umoci's unpack of the first `count` layers: every path, files with their size (a
/// hardlink's is its target's, as the explorer shows it).
fn unpacked(image: &LayeredImage, count: usize) -> BTreeMap<String, Snap> {
    snapshot(&prefix_rootfs(image, count - 1))
}

fn listing(snap: &BTreeMap<String, Snap>) -> BTreeMap<String, Option<u64>> {
    snap.iter()
        .map(|(path, snap)| {
            let size = match snap {
                Snap::Dir(_) => None,
                Snap::File(_, bytes) => Some(bytes.len() as u64),
                Snap::Link(_) => Some(0),
            };
            (path.clone(), size)
        })
        .collect()
}

/// One layer's own changes, from the unpacks below and above it.
fn unpack_changes(before: &BTreeMap<String, Snap>, after: &BTreeMap<String, Snap>) -> ChangeCounts {
    let mut counts = ChangeCounts::default();
    for (path, snap) in after {
        match before.get(path) {
            None => counts.added += 1,
            Some(old) if old != snap => counts.modified += 1,
            Some(_) => {}
        }
    }
    counts.removed = before.keys().filter(|p| !after.contains_key(*p)).count();
    counts
}

/// Load `image` as the explorer does, the first screen told of every step, `keys` pressed
/// on it after the given numbers of layers; the steps, the paths selected, the first
/// screen at the end and the explorer.
fn load_stepped(
    image: &LayeredImage,
    keys: Vec<(usize, Vec<KeyEvent>)>,
) -> (Vec<Step>, Vec<(usize, String)>, LoadingScreen, App) {
    let mut screen = LoadingScreen::new(
        "layout".into(),
        Settings::default(),
        Arc::new(ParseControl::default()),
    );
    screen.resize(WIDTH, HEIGHT);
    let stepper = Arc::new(Stepper {
        screen: Mutex::new(screen),
        tree: Mutex::default(),
        steps: Mutex::default(),
        keys,
        selected: Mutex::default(),
    });
    let mut opening = explorer_opening(&Opening::default());
    opening.load.watch = Some(stepper.clone());
    let (source, loaded) = opening.open(image.layout.to_str().unwrap()).unwrap();
    let app = App::new(loaded, source, None, Settings::default());
    opening.load.watch = None;
    let stepper = Arc::try_unwrap(stepper).unwrap();
    (
        stepper.steps.into_inner().unwrap(),
        stepper.selected.into_inner().unwrap(),
        stepper.screen.into_inner().unwrap(),
        app,
    )
}

#[test]
fn after_each_layer_the_tree_is_umocis_unpack_of_the_layers_merged_so_far() {
    if !tools(&["umoci"], "umoci") {
        return;
    }
    let image = LayeredImage::new(tempfile::tempdir().unwrap(), layers());
    let (steps, _, _, app) = load_stepped(&image, vec![]);
    let total = image.layers.len();
    assert_eq!(steps.len(), total);
    let mut below = BTreeMap::new();
    for step in &steps {
        let unpack = unpacked(&image, step.merged);
        assert_eq!(
            step.paths,
            listing(&unpack),
            "after {} layers: the tree pane against umoci's unpack",
            step.merged
        );
        // Labelled as partial, and what is not merged says so.
        if step.merged < total {
            let label = format!(
                "Files: the first {} of {total} layers merged, the rest still loading",
                step.merged
            );
            assert!(step.text.contains(&label), "{}", step.text);
            assert!(
                step.details.contains(&format!(
                    "not parsed yet (loading layer {} of {total})",
                    step.merged + 1
                )),
                "{}",
                step.details
            );
        } else {
            assert!(step.text.contains("all 4 layers merged"), "{}", step.text);
        }
        // The merged layer's own changes: shown, and the unpacks' difference.
        let changes = unpack_changes(&below, &unpack);
        assert_eq!(step.changes, Some(changes), "layer {}", step.merged - 1);
        let line = format!(
            "Changes: {} added, {} modified, {} removed",
            changes.added, changes.modified, changes.removed
        );
        assert!(step.details.contains(&line), "{line}\n{}", step.details);
        below = unpack;
    }
    // The first layer's tree closed: its top-level directories, nothing below them.
    let first = &steps[0].text;
    for top in ["data", "etc", "usr", "var"] {
        assert!(first.contains(top), "{first}");
    }
    assert!(!first.contains("app.conf"), "{first}");
    // At the end the tree equals the explorer's full one.
    let tree = &app.model.image().tree;
    let full: BTreeMap<String, Option<u64>> = tree
        .listing(total - 1)
        .into_iter()
        .map(|row| {
            let path = String::from_utf8(row.path[1..].to_vec()).unwrap();
            let size = (row.meta.kind != layerscope::layer::EntryKind::Dir).then_some(row.size);
            (path, size)
        })
        .collect();
    assert_eq!(steps[total - 1].paths, full);
    // The counts shown while loading, against the finished tree's own diff of each layer.
    for (layer, step) in steps.iter().enumerate() {
        let mut counts = ChangeCounts::default();
        for diff in tree.diff(layer.checked_sub(1), layer) {
            counts.count(diff.kind);
        }
        assert_eq!(step.changes, Some(counts));
    }
}

#[test]
fn keys_move_in_the_tree_while_loading_and_the_explorer_opens_on_the_path_picked() {
    let image = LayeredImage::new(tempfile::tempdir().unwrap(), layers());
    // After layer 0: into the tree, down to `etc`, open it, to its first child; after
    // layer 1, one down (the cursor stayed on its path across the merge).
    let down = key(KeyCode::Down);
    let keys = vec![
        (1, vec![key(KeyCode::Tab), down, key(KeyCode::Right), down]),
        (2, vec![down]),
        (3, vec![key(KeyCode::Char('j'))]),
        // Every directory opened, then closed again, by their key: the cursor stays.
        (4, vec![ctrl_space()]),
    ];
    let (steps, selected, screen, mut app) = load_stepped(&image, keys);
    assert_eq!(steps.len(), 4);
    assert_eq!(
        selected,
        [
            (1, "etc/app.conf".to_string()),
            // Layer 1 deleted etc/old: the next row is usr.
            (2, "usr".to_string()),
            // j moves as down does.
            (3, "var".to_string()),
            (4, "var".to_string()),
        ]
    );
    // ctrl+space opened every directory: the tree pane shows the whole tree.
    assert_eq!(
        paths_of(screen.model.files().rows()),
        steps[3].paths.keys().cloned().collect::<Vec<_>>()
    );
    // The tree pane had the keys: the explorer opens there, on the same path, on the
    // layer selected.
    let picked = screen.picked();
    assert_eq!(picked.layer, 0);
    app.resize(WIDTH, HEIGHT);
    picked.apply(&mut app);
    assert_eq!(app.focus(), Pane::Files);
    let node = app.model.selected_node().unwrap();
    assert_eq!(app.model.image().tree.path(node), b"/var");
}

#[test]
fn before_any_layer_is_merged_the_tree_pane_says_so() {
    let image = LayeredImage::new(tempfile::tempdir().unwrap(), layers());
    let path = image.layout.to_str().unwrap();
    let mut screen = LoadingScreen::new(
        "layout".into(),
        Settings::default(),
        Arc::new(ParseControl::default()),
    );
    screen.resize(WIDTH, HEIGHT);
    let source = layerscope::source::Source::open(path).unwrap();
    let described = layerscope::image::open(&source, &Default::default()).unwrap();
    screen.model.describe(&described);
    screen.relayout();
    screen.model.set_tree(Arc::new(MergedTree::default()));
    screen.model.refresh_files();
    let text = screen_of(&screen, WIDTH, HEIGHT);
    assert!(
        text.contains("No layer merged yet (loading layer 1 of 4)"),
        "{text}"
    );
    assert!(
        text.contains("Files: the first 0 of 4 layers merged, the rest still loading"),
        "{text}"
    );
    // Keys in an empty tree move nothing and break nothing.
    for code in [
        KeyCode::Tab,
        KeyCode::Down,
        KeyCode::Right,
        KeyCode::Left,
        KeyCode::End,
    ] {
        screen.handle_key(key(code));
    }
    assert_eq!(screen.model.files().cursor(), 0);
    assert_eq!(screen.picked().path, Some(None));
}
