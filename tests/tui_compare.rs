//! The comparison view (`layerscope diff A B --tui`), driven through the real event loop on
//! a test backend, on real image pairs: two builds of one app on a shared base
//! (tests/fixtures/app-v1.tar and app-v2.tar, made by make-compare-images.sh), and one
//! image as a docker-archive and as a zstd oci-archive (the shared fixtures). What the
//! view shows is checked against `diff --format json`, the CLI's own comparison.

mod tui_support;

use crossterm::event::{Event, KeyModifiers};
use crossterm::event::{KeyCode, MouseButton, MouseEvent, MouseEventKind};
use layerscope::explore::compare::LayerRow;
use layerscope::size::signed;
use layerscope::tree::DiffKind;
use layerscope::tui::compare::{CompareApp, ComparePane};
use layerscope::tui::components::help::Help;
use std::path::PathBuf;
use std::process::Command;
use tui_support::*;

/// The app pair, by paths relative to the package root (the tests' working directory), so
/// that the screens name them the same on every machine.
const V1: &str = "tests/fixtures/app-v1.tar";
const V2: &str = "tests/fixtures/app-v2.tar";

fn shared(name: &str) -> Option<String> {
    let dir = std::env::var_os("LAYERSCOPE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    let path = dir.join(name);
    if path.is_file() {
        Some(path.to_str().unwrap().to_string())
    } else {
        eprintln!("note: {path:?} not found; skipping the shared-fixture part");
        None
    }
}

fn app() -> CompareApp {
    compare_app(V1, V2, 120, 40)
}

/// A screen line without the pane's borders and the padding before the right one.
fn inside(line: &str) -> &str {
    line.trim_start_matches('│')
        .trim_end_matches('│')
        .trim_end()
}

/// The screen line of the tree row of `path`, inside the pane: the rows start below the
/// tree's column header. Checks that the line ends with the row's name.
fn tree_line(app: &CompareApp, screen: &str, path: &str) -> String {
    let lines: Vec<&str> = screen.lines().map(inside).collect();
    let header = lines
        .iter()
        .position(|l| l.trim_start().starts_with("Delta "))
        .expect("the tree's header");
    let row = compare_paths(app)
        .iter()
        .position(|p| p == path)
        .unwrap_or_else(|| panic!("{path} is not a row"));
    let line = lines[header + 1 + row - app.model.file_scroll()];
    let name = path.rsplit('/').next().unwrap();
    assert!(
        line.ends_with(name) || line.contains(&format!("── {name} ")),
        "{path}: {line:?}"
    );
    line.to_string()
}

/// The summary pane's entry that starts with `label`, its wrapped lines joined.
fn summary_line(screen: &str, label: &str) -> String {
    let lines: Vec<&str> = screen.lines().map(inside).collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} line in\n{screen}"));
    let mut text = lines[at].to_string();
    for more in &lines[at + 1..] {
        match more.strip_prefix("        ") {
            Some(rest) if !rest.starts_with(' ') && !rest.is_empty() => {
                text.push(' ');
                text.push_str(rest);
            }
            _ => break,
        }
    }
    text
}

fn cli_json(a: &str, b: &str) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .args(["diff", a, b, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn two_builds_join_their_shared_base_and_split_where_they_part() {
    let app = app();
    assert_eq!(
        app.model.layer_rows(),
        &[LayerRow::Joined(0), LayerRow::Split(1)]
    );
    let screen = compare_screen(&app);
    assert!(
        screen.contains("Layers: 1 shared, then 1 of A's own, 1 of B's own"),
        "{screen}"
    );
    // The header names both images.
    assert!(
        screen.contains("A: tests/fixtures/app-v1.tar (docker-archive (skopeo), 2"),
        "{screen}"
    );
    assert!(
        screen.contains("B: tests/fixtures/app-v2.tar (oci-archive, 2 layers)"),
        "{screen}"
    );
    // The base layer is one row across both columns: one instruction (umoci's, its tool in
    // the kind column as the explorer shows it), no column rule.
    let joined: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains("base  rootfs: /etc, /bin/hello, a license"))
        .collect();
    assert_eq!(joined.len(), 1, "{screen}");
    assert!(joined[0].contains("shared: same diff_id in A and B"));
    assert_eq!(
        joined[0].matches('│').count(),
        2,
        "borders only: {}",
        joined[0]
    );
    // Above it, each image's own layer in its own column, side by side.
    let split: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains("app   v1: /app and /etc/app"))
        .collect();
    assert_eq!(split.len(), 1, "{screen}");
    let (left, right) = split[0].split_at(split[0].find("app   v2").expect("B beside A"));
    assert_eq!(left.trim_start_matches('│').matches('│').count(), 1);
    assert!(right.contains("app   v2: /app and /etc/app"));
    // Where they part, in the CLI's words.
    assert_eq!(
        summary_line(&screen, "Stacks"),
        "Stacks  the bottom layer (200.1 kB of content, uncompressed) is shared; from layer 1 on, A has `app v1: /app and /etc/app`, B has `app v2: /app and /etc/app`"
    );
}

#[test]
fn every_change_of_the_cli_shows_its_marker_and_delta_in_the_tree() {
    let app = app();
    let doc = cli_json(V1, V2);
    let changes = doc["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 7);
    // A directory's row carries everything at and below it: its own delta and the sum
    // `diff` gives the directory.
    let dirs = doc["directories"].as_array().unwrap();
    let below = |path: &str| {
        dirs.iter()
            .find(|d| d["path"] == path)
            .map_or(0, |d| d["delta"].as_i64().unwrap())
    };
    let screen = compare_screen(&app);
    let shown = compare_paths(&app);
    for change in changes {
        let path = change["path"].as_str().unwrap();
        let (letter, kind) = match change["change"].as_str().unwrap() {
            "added" => ('A', DiffKind::Added),
            "modified" => ('C', DiffKind::Modified),
            "removed" => ('D', DiffKind::Removed),
            other => panic!("{other}"),
        };
        let delta = change["delta"].as_i64().unwrap() + below(path);
        let node = app.model.lookup(path.as_bytes()).unwrap();
        assert_eq!(app.model.kind(node), kind, "{path}");
        assert_eq!(app.model.delta(node), Some(delta), "{path}");
        assert!(shown.iter().any(|p| p == path), "{path} is a row");
        let line = tree_line(&app, &screen, path);
        let prefix = format!("{letter} {:>9} ", signed(delta));
        assert!(line.starts_with(&prefix), "{path}: {line:?}");
    }
    // Known ones, spelled out.
    assert!(tree_line(&app, &screen, "/app/NOTES").starts_with("D     -10 B "));
    assert!(tree_line(&app, &screen, "/app/data/payload.bin").starts_with("C   +1.2 MB "));
    assert!(tree_line(&app, &screen, "/app/bin/server").starts_with("A   +1.2 MB "));
    let start = tree_line(&app, &screen, "/app/bin/start");
    assert!(
        start.starts_with("A       0 B ") && start.ends_with("── start → ../run"),
        "{start}"
    );
    // The added /app/bin brings the server's 1.2 MB; the unchanged /app, the sum below it.
    assert_eq!(below("/app/bin"), 1_200_000);
    assert!(tree_line(&app, &screen, "/app/bin").starts_with("A   +1.2 MB "));
    let app_delta = signed(below("/app"));
    assert!(tree_line(&app, &screen, "/app").starts_with(&format!("  {app_delta:>9} ")));
    // Unchanged paths stay out of the way until asked for.
    assert!(!shown.iter().any(|p| p == "/etc/passwd"));
    assert!(screen.contains("(hiding unchanged)"));
}

#[test]
fn filtering_moving_collapsing_and_the_kinds_keys() {
    let mut app = app();
    assert_eq!(app.focus(), ComparePane::Changes);
    let all = compare_paths(&app);
    assert_eq!(all.len(), 11, "{all:?}");

    // ctrl+f filters live, keeping the directories on the way.
    press_compare(&mut app, [ctrl('f')]);
    drive_compare(
        &mut app,
        "payload".chars().map(|c| Event::Key(key(KeyCode::Char(c)))),
    );
    assert_eq!(
        compare_paths(&app),
        ["/app", "/app/data", "/app/data/payload.bin"]
    );
    let screen = compare_screen(&app);
    assert!(screen.contains("Filter: payload"), "{screen}");
    assert!(screen.contains("1 matches"), "{screen}");
    // Enter ends typing; the filter stays, and the keys move again.
    press_compare(&mut app, [key(KeyCode::Enter), key(KeyCode::End)]);
    assert_eq!(app.model.file_cursor(), 2);
    let screen = compare_screen(&app);
    assert_eq!(
        summary_line(&screen, "Path"),
        "Path    C /app/data/payload.bin: size 300000 -> 1500000 (+1.2 MB)"
    );
    press_compare(&mut app, [key(KeyCode::Char('k'))]);
    assert_eq!(app.model.file_cursor(), 1);
    // Esc clears it; the selection stays on its path.
    press_compare(&mut app, [key(KeyCode::Esc)]);
    assert_eq!(compare_paths(&app), all);
    assert_eq!(compare_paths(&app)[app.model.file_cursor()], "/app/data");

    // Space collapses the selected directory and opens it again; so does enter.
    press_compare(&mut app, [key(KeyCode::Home), key(KeyCode::Char(' '))]);
    assert_eq!(
        compare_paths(&app),
        ["/app", "/etc", "/etc/app", "/etc/app/app.conf"]
    );
    press_compare(&mut app, [key(KeyCode::Enter)]);
    assert_eq!(compare_paths(&app), all);
    // Left goes to the parent, right to the first child.
    press_compare(&mut app, [key(KeyCode::Char('j')), key(KeyCode::Left)]);
    assert_eq!(app.model.file_cursor(), 0);
    press_compare(&mut app, [key(KeyCode::Right)]);
    assert_eq!(compare_paths(&app)[app.model.file_cursor()], "/app/NOTES");
    // Page down and up move by the tree's height (here past the end: the last row).
    press_compare(&mut app, [key(KeyCode::PageDown)]);
    assert_eq!(app.model.file_cursor(), all.len() - 1);
    press_compare(&mut app, [key(KeyCode::PageUp)]);
    assert_eq!(app.model.file_cursor(), 0);

    // 4 shows the unchanged paths, 1 hides the added ones.
    press_compare(&mut app, [key(KeyCode::Char('4'))]);
    assert!(compare_paths(&app).iter().any(|p| p == "/etc/passwd"));
    let screen = compare_screen(&app);
    // No marker and no delta: the row starts with its permissions.
    let passwd = tree_line(&app, &screen, "/etc/passwd");
    assert!(passwd.starts_with(&format!("{:12}-rw-", "")), "{passwd:?}");
    press_compare(&mut app, [key(KeyCode::Char('1'))]);
    let paths = compare_paths(&app);
    assert!(!paths.iter().any(|p| p == "/app/bin/server"));
    assert!(paths.iter().any(|p| p == "/app/NOTES"));
    assert!(compare_screen(&app).contains("(hiding added)"));
}

#[test]
fn tab_moves_to_the_layer_columns_whose_rows_the_summary_details() {
    let mut app = app();
    press_compare(&mut app, [key(KeyCode::Tab)]);
    assert_eq!(
        app.focus(),
        ComparePane::Layers,
        "the summary takes no focus"
    );
    let screen = compare_screen(&app);
    let layer = summary_line(&screen, "Layer");
    assert!(
        layer.starts_with("Layer   0: one layer, diff_id sha256:"),
        "{layer}"
    );
    // Stored as a plain tar in A and gzip in B: one layer all the same.
    assert!(layer.contains(" tar in A, "), "{layer}");
    assert!(layer.ends_with(" gzip in B (compressed)"), "{layer}");
    press_compare(&mut app, [key(KeyCode::Char('j'))]);
    assert_eq!(app.model.layer_cursor(), 1);
    let layer = summary_line(&compare_screen(&app), "Layer");
    assert!(layer.starts_with("Layer   1: A diff_id sha256:"), "{layer}");
    assert!(layer.contains("; B diff_id sha256:"), "{layer}");
    // The tree does not move with the layer keys.
    assert_eq!(app.model.file_cursor(), 0);
    press_compare(&mut app, [key(KeyCode::Home)]);
    assert_eq!(app.model.layer_cursor(), 0);
    press_compare(&mut app, [key(KeyCode::Tab)]);
    assert_eq!(app.focus(), ComparePane::Changes);
}

#[test]
fn help_lists_this_views_keys_and_q_closes_then_quits() {
    let mut app = app();
    press_compare(&mut app, [key(KeyCode::Char('?'))]);
    assert!(app.overlay::<Help>().is_some());
    let screen = compare_screen(&app);
    for text in [
        "Change tree",
        "show/hide paths B added (A)",
        "filter paths (substring or regex)",
        "space",
    ] {
        assert!(screen.contains(text), "{text} in\n{screen}");
    }
    assert!(
        !screen.contains("extract"),
        "the explorer's keys are not listed"
    );
    // j scrolls the overlay, not the tree.
    press_compare(&mut app, [key(KeyCode::Char('j'))]);
    assert_eq!(app.model.file_cursor(), 0);
    press_compare(&mut app, [key(KeyCode::Char('q'))]);
    assert!(!app.has_overlay());
    assert!(!app.should_quit());
    press_compare(&mut app, [key(KeyCode::Char('q'))]);
    assert!(app.should_quit());
}

#[test]
fn ctrl_c_quits_even_while_typing_a_filter() {
    let mut app = app();
    press_compare(&mut app, [key(KeyCode::Char('/')), key(KeyCode::Char('q'))]);
    assert_eq!(app.filter().text(), "q");
    assert!(!app.should_quit());
    press_compare(&mut app, [ctrl('c')]);
    assert!(app.should_quit());
}

#[test]
fn the_explorers_single_image_keys_say_where_they_work() {
    let mut app = app();
    press_compare(&mut app, [key(KeyCode::Char('x'))]);
    let screen = compare_screen(&app);
    assert!(
        screen.contains(
            "x (extract file or directory) is the explorer's: open one image with `layerscope IMAGE`"
        ),
        "{screen}"
    );
    // The next key clears the message.
    press_compare(&mut app, [key(KeyCode::Char('j'))]);
    assert!(!compare_screen(&app).contains("is the explorer's"));
}

#[test]
fn the_mouse_selects_and_scrolls() {
    let mut app = app();
    let screen = compare_screen(&app);
    let row = screen
        .lines()
        .position(|l| inside(l).ends_with("── payload.bin"))
        .unwrap() as u16;
    let click = |row| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 40,
        row,
        modifiers: KeyModifiers::NONE,
    };
    drive_compare(&mut app, [Event::Mouse(click(row))]);
    assert_eq!(
        compare_paths(&app)[app.model.file_cursor()],
        "/app/data/payload.bin"
    );
    // A click in the layer columns focuses them.
    drive_compare(&mut app, [Event::Mouse(click(2))]);
    assert_eq!(app.focus(), ComparePane::Layers);
}

#[test]
fn the_same_image_in_two_formats_is_one_stack_and_no_change() {
    let (Some(a), Some(b)) = (
        shared("small-docker-archive.tar"),
        shared("small-zstd-oci-archive.tar"),
    ) else {
        return;
    };
    let mut app = compare_app(&a, &b, 120, 40);
    assert_eq!(
        app.model.layer_rows(),
        &(0..4).map(LayerRow::Joined).collect::<Vec<_>>()[..]
    );
    let screen = compare_screen(&app);
    assert!(screen.contains("Layers: all 4 shared"), "{screen}");
    assert_eq!(
        screen.matches("shared: same diff_id in A and B").count(),
        4,
        "{screen}"
    );
    assert!(screen.contains("Changes A→B: 0 added, 0 changed, 0 deleted"));
    assert!(summary_line(&screen, "Stacks").ends_with("are shared; the two stacks are identical"));
    // Nothing changed, so the tree is the whole filesystem, every row unmarked.
    let rows = app.model.rows();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r.change == DiffKind::Unchanged));
    assert!(!screen.contains("(hiding"));
    // Each layer is stored as a plain tar in A and as zstd in B.
    press_compare(&mut app, [key(KeyCode::Tab)]);
    let layer = summary_line(&compare_screen(&app), "Layer");
    assert!(
        layer.contains(" tar in A, ") && layer.ends_with(" zstd in B (compressed)"),
        "{layer}"
    );
}

#[test]
fn snapshot_of_two_builds() {
    let app = app();
    insta::assert_snapshot!(compare_screen(&app));
}

#[test]
fn snapshot_of_two_builds_in_ascii_on_a_narrow_terminal() {
    let view =
        layerscope::commands::diff::compare_view(V1, V2, &layerscope::cli::GlobalArgs::default())
            .unwrap();
    let settings = layerscope::tui::Settings {
        glyphs: layerscope::tui::theme::Glyphs::ASCII,
        ..Default::default()
    };
    let mut app = CompareApp::new(view, settings);
    app.resize(72, 24);
    insta::assert_snapshot!(compare_screen(&app));
}
