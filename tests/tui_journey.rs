//! Key sequences driven through the explorer's real event loop, on a test backend.

mod tui_support;

use crossterm::event::KeyModifiers;
use crossterm::event::{KeyCode, MouseButton, MouseEvent, MouseEventKind};
use layerscope::explore::filetree::{Compare, VisibleRows};
use layerscope::tree::DiffKind;
use layerscope::tui::components::extract::Extract;
use layerscope::tui::components::history::History;
use layerscope::tui::components::text::Text;
use layerscope::tui::components::Pane as Focus;
use layerscope::tui::App;
use std::os::unix::fs::PermissionsExt;
use tui_support::*;

fn image_app() -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path());
    let app = app_for(image.to_str().unwrap(), 120, 32);
    (dir, app)
}

fn select(app: &mut App, path: &str) {
    app.set_focus(Focus::Files);
    let at = visible_paths(app)
        .iter()
        .position(|p| p == path)
        .unwrap_or_else(|| panic!("{path} not visible"));
    press(app, key(KeyCode::Home));
    for _ in 0..at {
        press(app, key(KeyCode::Char('j')));
    }
    assert_eq!(visible_paths(app)[app.model.file_cursor()], path);
}

fn change_of(app: &App, path: &str) -> DiffKind {
    let at = visible_paths(app).iter().position(|p| p == path).unwrap();
    app.model.files().rows()[at].change
}

#[test]
fn switching_layers_recolours_and_keeps_the_selection() {
    let (_dir, mut app) = image_app();
    assert_eq!(change_of(&app, "/etc/app.conf"), DiffKind::Added);
    select(&mut app, "/etc/app.conf");
    press(&mut app, key(KeyCode::Tab));
    assert_eq!(
        app.focus(),
        Focus::Layers,
        "tab skips the image pane without analysis"
    );
    press(&mut app, key(KeyCode::Char('j')));
    assert_eq!(app.model.layer(), 1);
    assert_eq!(
        app.model.files().compare(),
        Some(Compare {
            from: Some(0),
            to: 1
        })
    );
    assert_eq!(change_of(&app, "/etc/app.conf"), DiffKind::Modified);
    assert_eq!(change_of(&app, "/bin/tool"), DiffKind::Removed);
    assert_eq!(change_of(&app, "/bin/su"), DiffKind::Unchanged);
    assert_eq!(
        visible_paths(&app)[app.model.file_cursor()],
        "/etc/app.conf"
    );
    let counts = app.model.files().change_counts();
    assert_eq!((counts.added, counts.modified, counts.removed), (4, 1, 1));
    // Layer 2 no longer shows layer 1's removal.
    press(&mut app, key(KeyCode::Down));
    assert!(!visible_paths(&app).contains(&"/bin/tool".to_string()));
}

#[test]
fn filter_keeps_ancestors_and_counts_matches() {
    let (_dir, mut app) = image_app();
    press(&mut app, key(KeyCode::End));
    press(&mut app, ctrl('f'));
    type_text(&mut app, "doc/");
    assert_eq!(
        visible_paths(&app),
        [
            "/usr",
            "/usr/share",
            "/usr/share/doc",
            "/usr/share/doc/big.bin",
            "/usr/share/doc/readme.txt"
        ]
    );
    assert_eq!(app.model.files().match_count(), 2);
    // A regex, live.
    for _ in 0..4 {
        press(&mut app, key(KeyCode::Backspace));
    }
    type_text(&mut app, r"\.(txt|conf)$");
    assert_eq!(app.model.files().match_count(), 2);
    assert!(visible_paths(&app).contains(&"/etc/app.conf".to_string()));
    // A broken regex keeps the last good filter and says why.
    type_text(&mut app, "(");
    assert!(app.filter().error().is_some());
    assert_eq!(app.model.files().match_count(), 2);
    press(&mut app, key(KeyCode::Esc));
    assert!(app.filter().text().is_empty() && !app.filter().editing());
    assert!(visible_paths(&app).contains(&"/bin/su".to_string()));
}

#[test]
fn collapse_is_incremental_and_matches_a_full_rebuild() {
    let (_dir, mut app) = image_app();
    press(&mut app, key(KeyCode::End));
    select(&mut app, "/usr/share");
    press(&mut app, key(KeyCode::Char(' ')));
    assert!(!visible_paths(&app).contains(&"/usr/share/doc".to_string()));
    let spliced = app.model.files().rows().to_vec();
    let (tree, files) = app.model.files_mut();
    files.rebuild(tree);
    assert_eq!(files.rows(), &spliced[..], "splice and re-walk agree");
    press(&mut app, key(KeyCode::Char(' ')));
    let expanded = app.model.files().rows().to_vec();
    let (tree, files) = app.model.files_mut();
    files.rebuild(tree);
    assert_eq!(files.rows(), &expanded[..]);
    assert!(visible_paths(&app).contains(&"/usr/share/doc/readme.txt".to_string()));
    // h collapses, then moves to the parent.
    select(&mut app, "/usr/share/doc/readme.txt");
    press(&mut app, key(KeyCode::Char('h')));
    assert_eq!(
        visible_paths(&app)[app.model.file_cursor()],
        "/usr/share/doc"
    );
    press(&mut app, key(KeyCode::Char('h')));
    let files = app.model.files();
    assert!(files.is_collapsed(files.rows()[app.model.file_cursor()].node));
    press(&mut app, key(KeyCode::Char('l')));
    let files = app.model.files();
    assert!(!files.is_collapsed(files.rows()[app.model.file_cursor()].node));
    // ctrl+space collapses everything.
    press(&mut app, ctrl(' '));
    assert_eq!(
        visible_paths(&app),
        ["/bin", "/etc", "/evil\u{1b}[31mname", "/link", "/usr"]
    );
}

#[test]
fn hiding_change_kinds() {
    let (_dir, mut app) = image_app();
    press(&mut app, key(KeyCode::Down));
    app.set_focus(Focus::Files);
    press(&mut app, ctrl('u'));
    assert_eq!(
        visible_paths(&app),
        [
            "/bin",
            "/bin/tool",
            "/etc",
            "/etc/app.conf",
            "/usr",
            "/usr/share",
            "/usr/share/doc",
            "/usr/share/doc/readme.txt"
        ]
    );
    press(&mut app, ctrl('r'));
    assert!(!visible_paths(&app).contains(&"/bin".to_string()));
    // ctrl+m arrives as Enter in most terminals; 3 is the documented alternative.
    press(&mut app, key(KeyCode::Char('3')));
    assert!(!visible_paths(&app).contains(&"/etc/app.conf".to_string()));
    press(&mut app, ctrl('a'));
    assert!(app.model.files().is_empty());
}

#[test]
fn range_compare_between_marked_layers() {
    let (_dir, mut app) = image_app();
    press(&mut app, key(KeyCode::Char('m')));
    press(&mut app, key(KeyCode::Char('G')));
    assert_eq!(
        app.model.files().compare(),
        Some(Compare {
            from: Some(0),
            to: 2
        })
    );
    assert_eq!(change_of(&app, "/etc/app.conf"), DiffKind::Modified);
    assert_eq!(change_of(&app, "/usr/share/doc/big.bin"), DiffKind::Added);
    assert_eq!(change_of(&app, "/bin/tool"), DiffKind::Removed);
    assert_eq!(change_of(&app, "/bin/su"), DiffKind::Unchanged);
    // Marking B below A works too, and Esc clears the mark.
    press(&mut app, key(KeyCode::Char('m')));
    press(&mut app, key(KeyCode::Char('m')));
    press(&mut app, key(KeyCode::Char('g')));
    assert_eq!(
        app.model.compare(),
        Compare {
            from: Some(0),
            to: 2
        }
    );
    press(&mut app, key(KeyCode::Esc));
    assert_eq!(app.model.compare(), Compare { from: None, to: 0 });
}

#[test]
fn aggregated_mode_compares_against_the_base_layer() {
    let (_dir, mut app) = image_app();
    press(&mut app, key(KeyCode::End));
    press(&mut app, ctrl('a'));
    assert_eq!(
        app.model.compare(),
        Compare {
            from: Some(0),
            to: 2
        }
    );
    press(&mut app, ctrl('l'));
    assert_eq!(
        app.model.compare(),
        Compare {
            from: Some(1),
            to: 2
        }
    );
}

#[test]
fn sort_by_size_puts_the_largest_first() {
    let (_dir, mut app) = image_app();
    press(&mut app, key(KeyCode::End));
    app.set_focus(Focus::Files);
    press(&mut app, ctrl('o'));
    assert_eq!(visible_paths(&app)[0], "/usr");
    assert!(screen(&app).contains("sort: size"));
}

#[test]
fn path_history_lists_every_layer_that_touched_the_path() {
    let (_dir, mut app) = image_app();
    press(&mut app, key(KeyCode::Down));
    select(&mut app, "/bin/tool");
    press(&mut app, key(KeyCode::Char('p')));
    let Some(History { rows, .. }) = app.overlay::<History>() else {
        panic!("no history overlay");
    };
    let actions: Vec<(usize, &str)> = rows.iter().map(|r| (r.layer, r.event.as_str())).collect();
    assert_eq!(actions, [(0, "added"), (1, "deleted")]);
    assert!(rows[1].instruction.contains("rm /bin/tool"));
    press(&mut app, key(KeyCode::Esc));
    assert!(!app.has_overlay());
}

#[test]
fn extract_writes_safely_and_asks_before_overwriting() {
    let (dir, mut app) = image_app();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let extract_to = |app: &mut App| {
        press(app, key(KeyCode::Char('x')));
        let Some(Extract { input, .. }) = app.overlay_mut::<Extract>() else {
            panic!("no extract prompt");
        };
        input.clear();
        type_text(app, out.to_str().unwrap());
        press(app, key(KeyCode::Enter));
    };

    // Layer 0: the set-uid file loses its set-id bit, the symlink stays a symlink.
    select(&mut app, "/bin");
    extract_to(&mut app);
    assert!(!app.has_overlay(), "{:?}", app.model.message);
    let su = std::fs::metadata(out.join("bin/su")).unwrap();
    assert_eq!(su.permissions().mode() & 0o7777, 0o755);
    assert_eq!(std::fs::read(out.join("bin/tool")).unwrap().len(), 600);
    select(&mut app, "/link");
    extract_to(&mut app);
    let link = std::fs::symlink_metadata(out.join("link")).unwrap();
    assert!(link.file_type().is_symlink());

    // Layer 1: app.conf is new content; etc/ does not exist yet, so no question.
    app.set_focus(Focus::Layers);
    press(&mut app, key(KeyCode::Down));
    select(&mut app, "/etc");
    extract_to(&mut app);
    assert_eq!(
        std::fs::read_to_string(out.join("etc/app.conf")).unwrap(),
        "port=9090\nworkers=2\nlog=debug\n"
    );
    assert_eq!(
        std::fs::metadata(out.join("etc/app.conf"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    // Again: it exists, so the explorer asks; "n" writes nothing.
    std::fs::write(out.join("etc/app.conf"), "local edit").unwrap();
    extract_to(&mut app);
    assert!(app.overlay::<Extract>().is_some());
    press(&mut app, key(KeyCode::Char('n')));
    assert_eq!(
        std::fs::read_to_string(out.join("etc/app.conf")).unwrap(),
        "local edit"
    );
    // "y" replaces a symlink in the way instead of writing through it.
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep").unwrap();
    std::fs::remove_file(out.join("etc/app.conf")).unwrap();
    std::os::unix::fs::symlink(&victim, out.join("etc/app.conf")).unwrap();
    extract_to(&mut app);
    press(&mut app, key(KeyCode::Char('y')));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    assert!(!std::fs::symlink_metadata(out.join("etc/app.conf"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(out.join("etc/app.conf")).unwrap(),
        "port=9090\nworkers=2\nlog=debug\n"
    );
}

#[test]
fn escape_sequences_in_names_are_shown_escaped() {
    let (_dir, app) = image_app();
    let text = screen(&app);
    assert!(text.contains(r"evil\x1b[31mname"), "{text}");
    assert!(!text.contains('\u{1b}'));
    assert_eq!(ESCAPE_NAME, b"evil\x1b[31mname");
}

#[test]
fn viewing_and_diffing_contents() {
    let (_dir, mut app) = image_app();
    press(&mut app, key(KeyCode::Down));
    select(&mut app, "/etc/app.conf");
    press(&mut app, key(KeyCode::Char('D')));
    let Some(Text { view, .. }) = app.overlay::<Text>() else {
        panic!("no diff overlay: {:?}", app.model.message);
    };
    let diff: Vec<String> = view
        .lines
        .iter()
        .map(|l| format!("{}{}", l.gutter, l.text))
        .collect();
    assert_eq!(
        diff,
        [
            "@@ -1,2 +1,3 @@",
            "-port=8080",
            "+port=9090",
            " workers=2",
            "+log=debug"
        ]
    );
    press(&mut app, key(KeyCode::Esc));
    // A directory has no content: an error line, no overlay.
    select(&mut app, "/etc");
    press(&mut app, key(KeyCode::Char('v')));
    assert!(!app.has_overlay());
    assert!(app
        .model
        .message
        .as_ref()
        .is_some_and(|m| m.error && m.text.contains("not a regular file")));
}

#[test]
fn mouse_click_selects_and_wheel_scrolls() {
    let (_dir, mut app) = image_app();
    let click = |column, row| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    // Layer rows start below the top border.
    mouse(&mut app, click(5, 2));
    assert_eq!(app.model.layer(), 1);
    // File rows start below the border and the header; x=60 is in the file pane.
    mouse(&mut app, click(60, 4));
    assert_eq!(app.focus(), Focus::Files);
    assert_eq!(app.model.file_cursor(), 2);
    mouse(
        &mut app,
        MouseEvent {
            kind: MouseEventKind::ScrollDown,
            ..click(60, 4)
        },
    );
    assert_eq!(app.model.file_cursor(), 5);
}

#[test]
fn ctrl_c_and_q_quit() {
    let (_dir, mut app) = image_app();
    press(&mut app, key(KeyCode::Char('q')));
    assert!(app.should_quit());
    let (_dir, mut app) = image_app();
    press(&mut app, ctrl('f'));
    press(&mut app, ctrl('c'));
    assert!(app.should_quit(), "ctrl+c quits even while typing a filter");
}

#[test]
fn every_layer_and_mode_renders_on_a_real_fixture() {
    // edge-oci-archive: devices, fifos, hardlinks, deep and unicode paths, type changes.
    let mut app = app_for(&fixture("edge-oci-archive.tar"), 100, 30);
    for layer in 0..app.model.layer_count() {
        for (width, height) in [(100, 30), (50, 12), (20, 6)] {
            app.resize(width, height);
            let _ = screen(&app);
        }
        press(&mut app, ctrl('a'));
        let _ = screen(&app);
        press(&mut app, ctrl('l'));
        assert_eq!(app.model.layer(), layer);
        press(&mut app, key(KeyCode::Down));
    }
    // Walking every row and toggling every directory keeps the splice and a re-walk equal.
    app.resize(100, 30);
    app.set_focus(Focus::Files);
    let mut index = 0;
    let compare = app.model.compare();
    let (tree, files) = app.model.files_mut();
    while index < files.len() {
        if files.rows()[index].is_dir {
            files.toggle_collapse(tree, index);
            let spliced = files.rows().to_vec();
            files.rebuild(tree);
            assert_eq!(files.rows(), &spliced[..]);
            files.toggle_collapse(tree, index);
        }
        index += 1;
    }
    let fresh = {
        let mut rows = VisibleRows::new();
        rows.set_compare(tree, compare);
        rows.rows().to_vec()
    };
    assert_eq!(files.rows(), &fresh[..]);
}
