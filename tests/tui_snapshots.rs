//! Snapshots of the explorer's screen (text only) on a small image built by the test.

mod tui_support;

use crossterm::event::KeyCode;
use layerscope::analysis::PathEvent;
use layerscope::tui::{ImageAnalysis, InefficientPath, InefficientVersion};
use tui_support::*;

fn app(width: u16, height: u16) -> (tempfile::TempDir, layerscope::tui::App) {
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path());
    let app = app_for(image.to_str().unwrap(), width, height);
    (dir, app)
}

#[test]
fn layer_view() {
    let (_dir, mut app) = app(120, 32);
    press(&mut app, key(KeyCode::Down));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn aggregated_view() {
    let (_dir, mut app) = app(120, 32);
    press(&mut app, key(KeyCode::End));
    press(&mut app, ctrl('a'));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn range_view() {
    let (_dir, mut app) = app(120, 32);
    press(&mut app, key(KeyCode::Char('m')));
    press(&mut app, key(KeyCode::End));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn filter_active() {
    let (_dir, mut app) = app(120, 32);
    press(&mut app, key(KeyCode::Down));
    press(&mut app, ctrl('f'));
    type_text(&mut app, "conf");
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn help_overlay() {
    let (_dir, mut app) = app(120, 50);
    press(&mut app, key(KeyCode::Char('?')));
    insta::assert_snapshot!(screen(&app));
}

fn select(app: &mut layerscope::tui::App, path: &str) {
    press(app, key(KeyCode::Tab));
    let at = visible_paths(app).iter().position(|p| p == path).unwrap();
    press(app, key(KeyCode::Home));
    for _ in 0..at {
        press(app, key(KeyCode::Down));
    }
}

#[test]
fn path_history() {
    let (_dir, mut app) = app(120, 32);
    press(&mut app, key(KeyCode::Down));
    select(&mut app, "/etc/app.conf");
    press(&mut app, key(KeyCode::Enter));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn file_view_text_and_diff() {
    let (_dir, mut app) = app(100, 16);
    press(&mut app, key(KeyCode::Down));
    select(&mut app, "/etc/app.conf");
    press(&mut app, key(KeyCode::Char('v')));
    insta::assert_snapshot!("file_view_text", screen(&app));
    press(&mut app, key(KeyCode::Esc));
    press(&mut app, key(KeyCode::Char('D')));
    insta::assert_snapshot!("file_view_diff", screen(&app));
}

#[test]
fn file_view_binary() {
    let (_dir, mut app) = app(100, 12);
    select(&mut app, "/bin/tool");
    press(&mut app, key(KeyCode::Char('v')));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn narrow_terminal() {
    let (_dir, mut app) = app(60, 20);
    press(&mut app, key(KeyCode::Down));
    insta::assert_snapshot!("narrow_60", screen(&app));
    app.resize(36, 14);
    insta::assert_snapshot!("narrow_36", screen(&app));
}

#[test]
fn image_details_with_analysis() {
    let (_dir, mut app) = app(120, 32);
    app.model.set_analysis(Some(ImageAnalysis {
        efficiency: 0.875,
        wasted_bytes: 620,
        inefficient: vec![InefficientPath {
            path: b"/bin/tool".to_vec(),
            wasted_bytes: 600,
            versions: vec![
                InefficientVersion {
                    layer: 0,
                    action: PathEvent::Added,
                    bytes: 600,
                    wasted: true,
                },
                InefficientVersion {
                    layer: 1,
                    action: PathEvent::Deleted,
                    bytes: 0,
                    wasted: false,
                },
            ],
        }],
        instructions: vec!["COPY tool /bin/tool".into(), "RUN rm /bin/tool".into()],
    }));
    press(&mut app, key(KeyCode::Tab));
    press(&mut app, key(KeyCode::Tab));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn real_fixture_overwritten_file() {
    let mut app = app_for(&fixture("ggcr-overwritten-file.tar"), 100, 20);
    press(&mut app, key(KeyCode::End));
    insta::assert_snapshot!(screen(&app));
}

/// The style of the first cell of `text` in the file pane (right of column 48).
fn style_of(app: &layerscope::tui::App, text: &str) -> ratatui::style::Style {
    let terminal = terminal(app);
    let buffer = terminal.backend().buffer();
    for y in 0..buffer.area.height {
        let line: String = (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol().to_string())
            .collect();
        for (byte, _) in line.match_indices(text) {
            let x = line[..byte].chars().count() as u16;
            if x > 48 {
                return buffer[(x, y)].style();
            }
        }
    }
    panic!("{text} not on screen");
}

#[test]
fn changes_are_coloured_and_no_color_uses_none() {
    use layerscope::tui::theme::Theme;
    use ratatui::style::Color;
    let (_dir, mut app) = app(120, 32);
    press(&mut app, key(KeyCode::Down));
    assert_eq!(style_of(&app, "app.conf").fg, Some(Color::Yellow));
    assert_eq!(style_of(&app, "readme.txt").fg, Some(Color::Green));
    assert_eq!(style_of(&app, "tool").fg, Some(Color::Red));
    app.settings.theme = Theme::pick(Some("dark"), true).unwrap();
    for name in ["app.conf", "readme.txt", "tool", "Files"] {
        let fg = style_of(&app, name).fg;
        assert!(matches!(fg, None | Some(Color::Reset)), "{name}: {fg:?}");
    }
}

#[test]
fn ascii_glyphs() {
    let (_dir, mut app) = app(100, 16);
    app.settings.glyphs = layerscope::tui::theme::Glyphs::ASCII;
    let text = screen(&app);
    assert!(
        text.contains("|-- - bin") && text.contains("link -> etc/app.conf"),
        "{text}"
    );
}

/// The wasteful demo with its Dockerfile pane open on `RUN rm /tmp/scratch.bin`.
#[test]
fn dockerfile_pane() {
    let image = layerscope::demo::find("wasteful").unwrap();
    let file = layerscope::demo::temp_archive(image).unwrap();
    let mut app = app_for(file.path().to_str().unwrap(), 140, 40);
    layerscope::tui::Start {
        dockerfile: Some((image.dockerfile_name.into(), image.dockerfile.into())),
        tour: false,
        demo: None,
    }
    .apply(&mut app)
    .unwrap();
    for _ in 0..8 {
        press(&mut app, key(KeyCode::Down));
    }
    press(&mut app, key(KeyCode::Char('f')));
    insta::assert_snapshot!(screen(&app));
}

/// The explorer's layer details list the layer's package changes, biggest first: the
/// fixtures' Alpine minirootfs, whose apk database Alpine's `apk` wrote (tests/packages.rs
/// checks every package's bytes against `tar -tv`).
#[test]
fn layer_details_list_package_changes_biggest_first() {
    let Some(fixture) = shared_fixture("alpine-base.tar") else {
        return;
    };
    let app = app_for(fixture.to_str().unwrap(), 160, 60);
    let screen = screen(&app);
    assert!(
        screen.contains("Packages: 14 installed (3.8 MB), 0 upgraded, 0 removed"),
        "{screen}"
    );
    let rows: Vec<&str> = screen
        .lines()
        .filter_map(|l| l.split(" + ").nth(1))
        .map(|rest| rest.split(' ').next().unwrap())
        .collect();
    assert_eq!(&rows[..3], ["libcrypto1.1", "busybox", "musl"], "{screen}");
}

/// `pkg:NAME` in the filter shows only that package's files: on the fixtures' Alpine
/// minirootfs, the files are those apk's own database lists for musl (its `F:`/`R:` lines,
/// read from the layer with tar).
#[test]
fn filter_by_package() {
    let Some(fixture) = shared_fixture("alpine-base.tar") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let tar = |args: &[&str]| {
        let out = std::process::Command::new("tar")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "tar {args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let dir = work.path().to_str().unwrap();
    tar(&["-xf", fixture.to_str().unwrap(), "-C", dir]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.path().join("manifest.json")).unwrap()).unwrap();
    let layer = work.path().join(manifest[0]["Layers"][0].as_str().unwrap());
    let db = tar(&["-xOf", layer.to_str().unwrap(), "lib/apk/db/installed"]);
    let mut expected = std::collections::BTreeSet::new();
    let (mut package, mut dir) = ("", "");
    for line in db.lines() {
        match line.split_at(line.len().min(2)) {
            ("P:", name) => package = name,
            ("F:", d) => dir = d,
            ("R:", file) if package == "musl" => {
                expected.insert(format!("/{dir}/{file}"));
            }
            _ => {}
        }
    }
    assert!(!expected.is_empty());

    let mut app = app_for(fixture.to_str().unwrap(), 120, 32);
    press(&mut app, ctrl('f'));
    type_text(&mut app, "pkg:musl");
    press(&mut app, key(KeyCode::Enter));
    let shown: std::collections::BTreeSet<String> = visible_paths(&app)
        .into_iter()
        .filter(|p| !expected.iter().any(|e| e.starts_with(&format!("{p}/"))))
        .collect();
    assert_eq!(shown, expected);
    insta::assert_snapshot!(screen(&app));
}

/// A real tool's image from the shared fixtures (`LAYERSCOPE_FIXTURES`); `None`, with a
/// note, where they are missing.
fn shared_fixture(name: &str) -> Option<std::path::PathBuf> {
    let fixtures = std::env::var_os("LAYERSCOPE_FIXTURES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures")
        });
    let fixture = fixtures.join(name);
    if !fixture.is_file() {
        eprintln!(
            "note: {} not found; set LAYERSCOPE_FIXTURES",
            fixture.display()
        );
        return None;
    }
    Some(fixture)
}
