//! Shared helpers for the explorer's tests: a small image built with the test-image kit
//! (`tests/support`), loading, key events through the real event loop, and rendering to
//! text.
#![allow(dead_code)]

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers, MouseEvent,
};
use layerscope::cli::GlobalArgs;
use layerscope::open::Opening;
use layerscope::tui::compare::CompareApp;
use layerscope::tui::fleet::FleetApp;
use layerscope::tui::{open_image, run_app, App, Screen, Settings};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::path::{Path, PathBuf};

#[path = "../support/mod.rs"]
pub mod support;
use support::{Blob, Compression, ImageSpec, LayerSpec, MediaTypes};

pub const ESCAPE_NAME: &[u8] = b"evil\x1b[31mname";

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1_700_000_000);
    header
}

/// One layer tar: (path, kind, mode, content or link target). GNU headers with the name
/// bytes set as given, through the kit's raw entries: the names include an escape sequence.
fn layer(entries: &[(&[u8], char, u32, &[u8])]) -> Vec<u8> {
    let mut spec = LayerSpec::new();
    for &(path, kind, mode, data) in entries {
        let (kind, size) = match kind {
            'd' => (tar::EntryType::Directory, 0),
            'l' => (tar::EntryType::Symlink, 0),
            _ => (tar::EntryType::Regular, data.len() as u64),
        };
        let mut h = header(kind, mode, size);
        h.as_gnu_mut().unwrap().name[..path.len()].copy_from_slice(path);
        if kind == tar::EntryType::Symlink {
            h.set_link_name(std::str::from_utf8(data).unwrap()).unwrap();
        }
        h.set_cksum();
        let data = if kind == tar::EntryType::Regular {
            data
        } else {
            b""
        };
        spec = spec.raw(h, data);
    }
    spec.tar_bytes()
}

/// A three-layer docker-archive with a text file changed across layers, a binary file
/// deleted by a whiteout, a symlink, a set-id file and a name with an escape sequence.
pub fn build_image(dir: &Path) -> PathBuf {
    let binary: Vec<u8> = (0u8..=255).cycle().take(600).collect();
    let layers = [
        layer(&[
            (b"etc", 'd', 0o755, b""),
            (b"etc/app.conf", 'f', 0o644, b"port=8080\nworkers=2\n"),
            (b"bin", 'd', 0o755, b""),
            (b"bin/tool", 'f', 0o755, &binary),
            (b"bin/su", 'f', 0o4755, b"#!/bin/sh\n"),
            (b"link", 'l', 0o777, b"etc/app.conf"),
            (b"evil\x1b[31mname", 'f', 0o644, b"x\n"),
        ]),
        layer(&[
            (
                b"etc/app.conf",
                'f',
                0o600,
                b"port=9090\nworkers=2\nlog=debug\n",
            ),
            (b"bin/.wh.tool", 'f', 0o644, b""),
            (b"usr/share/doc/readme.txt", 'f', 0o644, b"hello\n"),
        ]),
        layer(&[(b"usr/share/doc/big.bin", 'f', 0o644, &[0u8; 4096])]),
    ];
    let blobs: Vec<Blob> = layers
        .iter()
        .map(|l| Blob::from_bytes(MediaTypes::Docker.layer(Compression::None), l.clone()))
        .collect();
    let diff_ids: Vec<&str> = blobs.iter().map(|b| b.diff_id.as_str()).collect();
    let mut image = ImageSpec::new()
        .tag("test/explorer:latest")
        .media_types(MediaTypes::Docker)
        .assemble(blobs.clone());
    // The history as docker writes it: dates, an author, empty layers between.
    image.config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created": "2024-01-02T03:04:05Z", "created_by": "/bin/sh -c #(nop) COPY dir:abc in / "},
            {"created": "2024-01-02T03:04:06Z", "created_by": "/bin/sh -c #(nop)  ENV A=1", "empty_layer": true},
            {"created": "2024-01-02T03:04:07Z", "created_by": "/bin/sh -c sed -i s/8080/9090/ /etc/app.conf && rm /bin/tool", "author": "tester"},
            {"created": "2024-01-02T03:04:08Z", "created_by": "/bin/sh -c dd if=/dev/zero of=/usr/share/doc/big.bin bs=4096 count=1"},
            {"created": "2024-01-02T03:04:09Z", "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]", "empty_layer": true}
        ]
    });
    let path = dir.join("image.tar");
    image.write_docker_archive(&path).unwrap();
    path
}

pub fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

pub fn app_for(path: &str, width: u16, height: u16) -> App {
    let (source, loaded) = open_image(path, &Opening::default()).unwrap();
    let mut app = App::new(loaded, source, None, Settings::default());
    app.resize(width, height);
    app
}

pub fn key(code: KeyCode) -> KeyEvent {
    KeyEvent {
        code,
        modifiers: KeyModifiers::NONE,
        kind: KeyEventKind::Press,
        state: KeyEventState::NONE,
    }
}

pub fn ctrl(c: char) -> KeyEvent {
    KeyEvent {
        modifiers: KeyModifiers::CONTROL,
        ..key(KeyCode::Char(c))
    }
}

/// Run the explorer's real event loop over `events`, on a test backend of the app's size;
/// it draws a frame before each event and returns when the events run out.
pub fn drive(app: &mut App, events: impl IntoIterator<Item = Event>) {
    let area = app.area();
    let mut terminal = Terminal::new(TestBackend::new(area.width, area.height)).unwrap();
    run_app(&mut terminal, app, &mut events.into_iter()).unwrap();
}

/// One key press, through the event loop.
pub fn press(app: &mut App, event: KeyEvent) {
    drive(app, [Event::Key(event)]);
}

/// One mouse event, through the event loop.
pub fn mouse(app: &mut App, event: MouseEvent) {
    drive(app, [Event::Mouse(event)]);
}

/// Type each character as a key press.
pub fn type_text(app: &mut App, text: &str) {
    drive(app, text.chars().map(|c| Event::Key(key(KeyCode::Char(c)))));
}

pub fn terminal(app: &App) -> Terminal<TestBackend> {
    let area = app.area();
    let mut terminal = Terminal::new(TestBackend::new(area.width, area.height)).unwrap();
    terminal
        .draw(|frame| layerscope::tui::app::render(app, frame))
        .unwrap();
    terminal
}

/// The screen as text, trailing spaces trimmed.
pub fn screen(app: &App) -> String {
    text(terminal(app).backend().buffer())
}

/// Any screen (the loading screen, say) drawn on `width` by `height`, as text.
pub fn screen_of(screen: &dyn Screen, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| screen.draw(frame)).unwrap();
    text(terminal.backend().buffer())
}

/// A drawn buffer as text, trailing spaces trimmed.
fn text(buffer: &ratatui::buffer::Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        for x in 0..buffer.area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Rows of the file tree as `path` strings, for journey assertions.
pub fn visible_paths(app: &App) -> Vec<String> {
    app.model
        .files()
        .rows()
        .iter()
        .map(|r| String::from_utf8_lossy(&app.model.image().tree.path(r.node)).into_owned())
        .collect()
}

/// The comparison view of `a` and `b` (`diff A B --tui`), loaded and compared as `diff`
/// does, on a screen of `width` by `height`.
pub fn compare_app(a: &str, b: &str, width: u16, height: u16) -> CompareApp {
    let view = layerscope::commands::diff::compare_view(a, b, &GlobalArgs::default()).unwrap();
    let mut app = CompareApp::new(view, Settings::default());
    app.resize(width, height);
    app
}

/// Run the real event loop over `events` on the comparison view, as [`drive`] does.
pub fn drive_compare(app: &mut CompareApp, events: impl IntoIterator<Item = Event>) {
    let area = app.area();
    let mut terminal = Terminal::new(TestBackend::new(area.width, area.height)).unwrap();
    run_app(&mut terminal, app, &mut events.into_iter()).unwrap();
}

/// Key presses through the event loop of the comparison view.
pub fn press_compare(app: &mut CompareApp, keys: impl IntoIterator<Item = KeyEvent>) {
    drive_compare(app, keys.into_iter().map(Event::Key));
}

/// The comparison view's screen as text, trailing spaces trimmed.
pub fn compare_screen(app: &CompareApp) -> String {
    let area = app.area();
    let mut terminal = Terminal::new(TestBackend::new(area.width, area.height)).unwrap();
    terminal.draw(|frame| app.draw(frame)).unwrap();
    text(terminal.backend().buffer())
}

/// The fleet view's screen as text, trailing spaces trimmed.
pub fn fleet_screen(app: &FleetApp) -> String {
    let area = app.area();
    let mut terminal = Terminal::new(TestBackend::new(area.width, area.height)).unwrap();
    terminal.draw(|frame| app.draw(frame)).unwrap();
    text(terminal.backend().buffer())
}

/// Run the real event loop over `events` on the fleet view, as [`drive`] does.
pub fn drive_fleet(app: &mut FleetApp, events: impl IntoIterator<Item = Event>) {
    let area = app.area();
    let mut terminal = Terminal::new(TestBackend::new(area.width, area.height)).unwrap();
    run_app(&mut terminal, app, &mut events.into_iter()).unwrap();
}

/// Key presses through the event loop of the fleet view.
pub fn press_fleet(app: &mut FleetApp, keys: impl IntoIterator<Item = KeyEvent>) {
    drive_fleet(app, keys.into_iter().map(Event::Key));
}

/// The change tree's rows as paths.
pub fn compare_paths(app: &CompareApp) -> Vec<String> {
    app.model
        .rows()
        .iter()
        .map(|r| String::from_utf8_lossy(&app.model.path(r.node)).into_owned())
        .collect()
}
