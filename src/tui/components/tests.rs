//! Routing: keys reach the overlay, the filter line or the focused pane, in that order,
//! and what a component hands back reaches the app.

use super::extract::Extract;
use super::help::Help;
use super::history::History;
use super::*;
use crate::tui::app::App;
use crate::tui::settings::Settings;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn layer() -> crate::layer::ParsedLayer {
    let mut layer = crate::layer::ParsedLayer::default();
    for (i, path) in ["etc/a", "etc/b", "q"].iter().enumerate() {
        let meta = crate::layer::Meta {
            kind: crate::layer::EntryKind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 1,
            hash: i as u64,
            offset: 0,
        };
        layer.push(path.as_bytes(), b"", meta);
    }
    layer
}

fn app() -> App {
    let loaded = crate::explore::tests::loaded(&[layer(), layer()]);
    let mut app = App::new(loaded, None, None, Settings::default());
    app.resize(100, 30);
    app
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

#[test]
fn each_overlay_opens_from_its_own_action_only() {
    let mut app = app();
    let settings = Settings::default();
    for &action in Action::ALL {
        let mut ctx = Ctx {
            model: &mut app.model,
            settings: &settings,
        };
        let opened = OVERLAYS
            .iter()
            .filter_map(|open| open(action, &mut ctx))
            .count();
        // /etc is selected: a directory has no contents to view or diff (and this image
        // has no source to read them from).
        let expected = matches!(
            action,
            Action::Help
                | Action::PathHistory
                | Action::Extract
                | Action::ExplainLayer
                | Action::ExplainPath
        );
        assert_eq!(opened, usize::from(expected), "{action:?}");
    }
    // The tour teaches on the demo images (tests/tui_teach.rs opens it there); on any
    // other image it says where to find it instead of opening.
    let mut ctx = Ctx {
        model: &mut app.model,
        settings: &settings,
    };
    assert!(super::tour::open(Action::Tour, &mut ctx).is_none());
    let message = app.model.message.as_ref().map(|m| m.text.clone());
    assert!(
        message.is_some_and(|m| m.contains("layerscope demo")),
        "the tour on a non-demo image names `layerscope demo`"
    );
    app.set_focus(Pane::Files);
    app.handle_key(key(KeyCode::Char('p')));
    assert!(app.overlay::<History>().is_some());
}

#[test]
fn an_overlay_takes_every_key_until_it_closes() {
    let mut app = app();
    app.handle_key(key(KeyCode::Char('?')));
    assert!(app.overlay::<Help>().is_some());
    // j scrolls the help, it does not move the layer selection.
    app.handle_key(key(KeyCode::Char('j')));
    assert_eq!(app.overlay::<Help>().unwrap().scroll, Scroll(1));
    assert_eq!(app.model.layer(), 0);
    // q closes the overlay (its context wins over quit), and does not quit.
    app.handle_key(key(KeyCode::Char('q')));
    assert!(!app.has_overlay());
    assert!(!app.should_quit());
    app.handle_key(key(KeyCode::Char('j')));
    assert_eq!(app.model.layer(), 1, "the layer pane has the keys again");
}

#[test]
fn the_filter_line_types_q_and_ctrl_c_still_quits() {
    let mut app = app();
    app.handle_key(key(KeyCode::Char('/')));
    assert_eq!(
        app.focus(),
        Pane::Files,
        "the filter moves the focus to the files"
    );
    app.handle_key(key(KeyCode::Char('q')));
    assert_eq!(app.filter().text(), "q");
    assert!(!app.should_quit());
    app.handle_key(key(KeyCode::Backspace));
    assert_eq!(app.filter().text(), "");
    app.handle_key(ctrl('c'));
    assert!(app.should_quit());
}

#[test]
fn rebound_overlay_keys_are_honoured() {
    let mut app = app();
    let problems =
        app.settings
            .keymap
            .configure([("close-overlay", "x"), ("yes", "o"), ("no", "k")]);
    assert!(problems.is_empty(), "{problems:?}");
    app.handle_key(key(KeyCode::Char('?')));
    app.handle_key(key(KeyCode::Esc));
    assert!(app.overlay::<Help>().is_some(), "esc no longer closes");
    app.handle_key(key(KeyCode::Char('x')));
    assert!(!app.has_overlay());
}

#[test]
fn pane_keys_go_to_the_focused_pane_only() {
    let mut app = app();
    // ctrl+a in the layer pane is "aggregated"; in the file pane "show/hide added".
    app.handle_key(key(KeyCode::Char('j')));
    app.handle_key(ctrl('a'));
    assert_eq!(app.model.compare_label(), "layers 0–1 aggregated");
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.focus(), Pane::Files);
    app.handle_key(ctrl('a'));
    assert!(!app.model.files().options().show_added);
    assert_eq!(app.model.compare_label(), "layers 0–1 aggregated");
    // Tab skips the image pane without an analysis.
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.focus(), Pane::Layers);
    // The extract prompt asks in its own context: esc cancels it.
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(ctrl('a'));
    app.handle_key(key(KeyCode::Char('x')));
    assert!(app.overlay::<Extract>().is_some());
    app.handle_key(key(KeyCode::Esc));
    assert!(!app.has_overlay());
}
