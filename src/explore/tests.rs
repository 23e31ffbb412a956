//! The view model's selection and scrolling, on small in-memory trees (in the manner of
//! gitui's filetreelist tests).

use super::*;
use crate::image::{self, history::pair_history, Format, Image, LayerRef};
use crate::layer::{EntryKind, Meta, ParsedLayer};
use crate::model::{LayerInfo, LayerStatus, LoadedImage};
use crate::tree::TreeBuilder;

fn layer(paths: &[&str]) -> ParsedLayer {
    let mut layer = ParsedLayer::default();
    for (i, path) in paths.iter().enumerate() {
        let (path, kind) = match path.strip_suffix('/') {
            Some(dir) => (dir, EntryKind::Dir),
            None => (*path, EntryKind::File),
        };
        let meta = Meta {
            kind,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 10,
            hash: i as u64 + 1,
            offset: 0,
        };
        layer.push(path.as_bytes(), b"", meta);
    }
    layer
}

pub(crate) fn loaded(layers: &[ParsedLayer]) -> LoadedImage {
    let mut builder = TreeBuilder::new();
    for l in layers {
        builder.add_layer(l).unwrap();
    }
    let tree = builder.finish();
    let count = layers.len();
    LoadedImage {
        image: Image {
            source: "test".into(),
            format: Format::OciLayout,
            tags: Vec::new(),
            other_images: Vec::new(),
            platform: None,
            platforms: Vec::new(),
            config: image::ImageConfig::default(),
            config_digest: None,
            layers: (0..count)
                .map(|index| LayerRef {
                    index,
                    member: None,
                    media_type: None,
                    digest: None,
                    diff_id: None,
                    size: None,
                    unavailable: None,
                    writable: None,
                })
                .collect(),
            history: pair_history(&[], count),
            warnings: Vec::new(),
        },
        layers: (0..count)
            .map(|index| LayerInfo {
                index,
                status: LayerStatus::Loaded,
                compression: None,
                compressed_bytes: 0,
                uncompressed_bytes: 0,
                entries: 0,
                content_bytes: 0,
                digest: None,
                diff_id: None,
            })
            .collect(),
        tree,
        warnings: Vec::new(),
        found: Vec::new(),
    }
}

/// `/a/{1..5}`, `/b/{1..5}`, `/c` in layer 0; layer 1 adds `/b/6` and `/d`.
fn explorer(file_rows: usize) -> Explorer {
    let mut base = vec!["a/", "b/"];
    let names: Vec<String> = (1..=5)
        .flat_map(|i| [format!("a/{i}"), format!("b/{i}")])
        .collect();
    base.extend(names.iter().map(String::as_str));
    base.push("c");
    let mut explorer = Explorer::new(loaded(&[layer(&base), layer(&["b/6", "d"])]), None, None);
    explorer.set_viewport(Viewport {
        layer_rows: 1,
        file_rows,
        dockerfile_rows: 0,
    });
    explorer
}

fn selected(explorer: &Explorer) -> String {
    let node = explorer.selected_node().expect("a selection");
    String::from_utf8_lossy(&explorer.image().tree.path(node)).into_owned()
}

#[test]
fn selection_moves_within_the_rows_and_clamps() {
    let mut e = explorer(4);
    assert_eq!(e.files().len(), 13);
    assert_eq!(selected(&e), "/a");
    e.move_file(1);
    assert_eq!(selected(&e), "/a/1");
    e.move_file(-5);
    assert_eq!(selected(&e), "/a");
    e.move_file(isize::MAX / 2);
    assert_eq!(selected(&e), "/c");
    assert_eq!(e.file_cursor(), 12);
}

#[test]
fn scrolling_follows_the_cursor_and_never_leaves_a_gap() {
    let mut e = explorer(4);
    e.move_file(3);
    assert_eq!(e.file_scroll(), 0, "row 3 is the last of four on screen");
    e.move_file(1);
    assert_eq!(e.file_scroll(), 1);
    e.move_file(isize::MAX / 2);
    assert_eq!(e.file_scroll(), 13 - 4);
    e.move_file(-4);
    assert_eq!(
        e.file_scroll(),
        8,
        "moving up inside the window does not scroll"
    );
    e.move_file(-1);
    assert_eq!(e.file_scroll(), 7);
    // A taller window shows more: the scroll comes back so no row is left empty.
    e.set_viewport(Viewport {
        layer_rows: 1,
        file_rows: 10,
        dockerfile_rows: 0,
    });
    assert_eq!(e.file_scroll(), 3);
    assert_eq!(e.file_cursor(), 7);
}

#[test]
fn collapsing_keeps_the_cursor_on_its_row_and_left_right_walk_the_tree() {
    let mut e = explorer(20);
    e.move_file(2); // /a/2
    e.left();
    assert_eq!(selected(&e), "/a", "left on a file goes to the parent");
    e.left();
    assert!(e.files().is_collapsed(e.selected_node().unwrap()));
    assert_eq!(e.files().len(), 8);
    e.left();
    assert_eq!(
        selected(&e),
        "/a",
        "a top-level directory has no parent row"
    );
    e.right();
    assert_eq!(e.files().len(), 13);
    e.right();
    assert_eq!(selected(&e), "/a/1", "right on an open directory enters it");
    e.toggle_collapse_all();
    assert_eq!(e.files().len(), 3);
    assert_eq!(
        selected(&e),
        "/b",
        "a hidden selection keeps its row number"
    );
}

#[test]
fn switching_layers_keeps_the_selected_path() {
    let mut e = explorer(20);
    e.move_file(9); // /b/3
    assert_eq!(selected(&e), "/b/3");
    e.move_layer(1);
    assert_eq!(e.layer(), 1);
    assert_eq!(
        e.compare(),
        Compare {
            from: Some(0),
            to: 1
        }
    );
    assert_eq!(selected(&e), "/b/3");
    // Layer 1 with only added paths shown: /b/3 is gone, the cursor stays in range.
    e.set_view_options(|o| o.show_unchanged = false);
    let rows: Vec<String> = e
        .files()
        .rows()
        .iter()
        .map(|r| String::from_utf8_lossy(&e.image().tree.path(r.node)).into_owned())
        .collect();
    assert_eq!(rows, ["/b", "/b/6", "/d"]);
    assert!(e.file_cursor() < 3);
}

#[test]
fn compare_modes_and_range_marks() {
    let mut e = explorer(20);
    e.move_layer(1);
    assert_eq!(e.compare_label(), "layer 1");
    e.compare_all();
    assert_eq!(e.compare_label(), "layers 0–1 aggregated");
    assert_eq!(e.mode(), Mode::Aggregated);
    e.toggle_mark();
    assert_eq!(e.compare_label(), "range: A=1, select B");
    e.move_layer(-1);
    assert_eq!(
        e.compare(),
        Compare {
            from: Some(0),
            to: 1
        }
    );
    assert_eq!(e.compare_label(), "from layer 0 to 1");
    assert!(e.clear_mark());
    assert!(!e.clear_mark(), "no mark left to clear");
    e.compare_layer();
    assert_eq!(e.compare(), Compare { from: None, to: 0 });
}

#[test]
fn clicks_select_then_collapse_and_the_layer_list_scrolls() {
    let mut e = explorer(4);
    e.click_file(2);
    assert_eq!(selected(&e), "/a/2");
    e.click_file(0);
    assert_eq!(selected(&e), "/a");
    e.click_file(0);
    assert!(
        e.files().is_collapsed(e.selected_node().unwrap()),
        "a second click collapses"
    );
    e.click_file(99);
    assert_eq!(selected(&e), "/a", "a click below the rows does nothing");
    // One layer row on screen: selecting layer 1 scrolls the list.
    e.click_layer(0);
    e.move_layer(1);
    assert_eq!(e.layer_scroll(), 1);
    e.click_layer(5);
    assert_eq!(e.layer(), 1);
}

#[test]
fn errors_for_the_status_bar_are_escaped() {
    let mut e = explorer(4);
    e.fail("bad\x1b[31mname");
    let message = e.message.clone().unwrap();
    assert!(message.error);
    assert_eq!(message.text, "bad\\x1b[31mname");
}

#[test]
fn explanations_prepared_on_a_thread_equal_those_gathered_on_the_key() {
    let mut on_the_key = explorer(10);
    let mut prepared = explorer(10);
    prepared.prepare_explanations();
    while !prepared.explanations_ready() {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert!(!on_the_key.explanations_ready());
    for layer in 0..on_the_key.image().tree.layer_count() {
        let want = on_the_key.explain(Subject::Layer(layer));
        assert!(!want.is_empty());
        assert_eq!(prepared.explain(Subject::Layer(layer)), want);
    }
    assert!(prepared.explanations_ready() && on_the_key.explanations_ready());
}

/// The explorer leaves the facts for later (`prepare_explanations_later`, once every pane
/// answers): the thread runs its start hook (the terminal side lowers its priority there),
/// gathers what the key would, and a second call neither restarts a gathering under way
/// nor redoes one done.
#[test]
fn explanations_left_for_later_run_the_hook_once_and_equal_those_on_the_key() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static HOOK_RUNS: AtomicUsize = AtomicUsize::new(0);
    fn hook() {
        HOOK_RUNS.fetch_add(1, Ordering::SeqCst);
    }
    let mut on_the_key = explorer(10);
    let mut later = explorer(10);
    assert!(!later.explanations_ready() && later.pending_facts.is_none());
    later.prepare_explanations_later(hook);
    later.prepare_explanations_later(hook);
    while !later.explanations_ready() {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert_eq!(HOOK_RUNS.load(Ordering::SeqCst), 1);
    for layer in 0..on_the_key.image().tree.layer_count() {
        let want = on_the_key.explain(Subject::Layer(layer));
        assert_eq!(later.explain(Subject::Layer(layer)), want);
    }
    assert!(later.facts.is_some());
    later.prepare_explanations_later(hook);
    assert!(later.facts.is_some() && later.pending_facts.is_none());
    // The packages are read once: the facts hold the explorer's own.
    let packages = Arc::clone(&later.packages);
    assert!(Arc::ptr_eq(&packages, &later.facts().packages));
}

/// `pkg:NAME` in the filter shows the files one package owns, with the directories above
/// them; a directory a package lists (shared with others) does not bring its contents in.
#[test]
fn a_package_filter_shows_that_packages_files_only() {
    use crate::analysis::packages::Manager;
    let mut e = explorer(20);
    e.move_layer(1);
    let owners = [
        ("/a", Manager::Apk, "musl"),
        ("/a/1", Manager::Apk, "musl"),
        ("/a/2", Manager::Apk, "musl"),
        ("/b/3", Manager::Apk, "busybox"),
        ("/c", Manager::Apk, "busybox"),
        ("/d", Manager::Dpkg, "libc6:amd64"),
    ];
    for (path, manager, name) in owners {
        let node = e.image().tree.lookup(path.as_bytes()).unwrap();
        Arc::get_mut(&mut e.packages)
            .expect("not shared yet")
            .owners
            .insert(node, (manager, name.to_string()));
    }
    let rows = |e: &Explorer| -> Vec<String> {
        e.files()
            .rows()
            .iter()
            .map(|r| String::from_utf8_lossy(&e.image().tree.path(r.node)).into_owned())
            .collect()
    };
    let filter = |e: &mut Explorer, text: &str| {
        e.set_filter(Some(Filter::parse(text).unwrap()));
        (rows(e), e.files().match_count())
    };
    assert_eq!(
        filter(&mut e, "pkg:musl"),
        (vec!["/a".into(), "/a/1".into(), "/a/2".into()], 2)
    );
    assert_eq!(
        filter(&mut e, "pkg:busybox"),
        (vec!["/b".into(), "/b/3".into(), "/c".into()], 2)
    );
    // As dpkg-query names it, or without the architecture.
    assert_eq!(filter(&mut e, "pkg:libc6:amd64"), (vec!["/d".into()], 1));
    assert_eq!(filter(&mut e, "pkg:libc6"), (vec!["/d".into()], 1));
    assert_eq!(filter(&mut e, "pkg:nosuch"), (vec![], 0));
    // A name with regex syntax in it is still a package name.
    assert!(matches!(
        Filter::parse("pkg:libstdc++6").unwrap(),
        Filter::Package { ref name, .. } if name == "libstdc++6"
    ));
    e.set_filter(None);
    assert_eq!(rows(&e).len(), 15);
}
