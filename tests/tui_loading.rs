//! The explorer's first screen while the image loads: what the load tells as it goes, the
//! screen drawn from it at each step, and that nothing it shows for a layer already merged
//! disagrees with the explorer once the load has finished.

mod tui_support;

use crossterm::event::KeyCode;
use layerscope::explore::Verification;
use layerscope::image::Image;
use layerscope::layer::ParseControl;
use layerscope::load::{LayerInfo, Progress, Watch};
use layerscope::open::Opening;
use layerscope::tui::components::loading::LoadingScreen;
use layerscope::tui::{
    explorer_opening, verify_after_opening, verify_in_background, App, Screen, Settings,
};
use std::sync::{Arc, Mutex};
use tui_support::*;

const WIDTH: u16 = 120;
const HEIGHT: u16 = 32;

#[derive(Debug)]
enum Heard {
    Described(Box<Image>),
    Merged(usize, LayerInfo),
}

/// Keeps what a load tells, in order.
#[derive(Debug, Default)]
struct Record(Mutex<Vec<Heard>>);

impl Watch for Record {
    fn described(&self, image: &Image) {
        let heard = Heard::Described(Box::new(image.clone()));
        self.0.lock().unwrap().push(heard);
    }
    fn merged(&self, image: usize, info: &LayerInfo) {
        self.0
            .lock()
            .unwrap()
            .push(Heard::Merged(image, info.clone()));
    }
}

/// The test image loaded as the explorer loads it, with what the load told on the way,
/// and the explorer opened on the result.
fn load_watched() -> (tempfile::TempDir, Vec<Heard>, App) {
    let dir = tempfile::tempdir().unwrap();
    let path = build_image(dir.path());
    let record = Arc::new(Record::default());
    let mut opening = explorer_opening(&Opening::default());
    opening.load.watch = Some(record.clone());
    let (source, loaded) = opening.open(path.to_str().unwrap()).unwrap();
    let mut app = App::new(loaded, source, None, Settings::default());
    app.resize(WIDTH, HEIGHT);
    let heard = std::mem::take(&mut *record.0.lock().unwrap());
    (dir, heard, app)
}

/// The first screen after the description and the first `merged` layers have arrived.
fn loading_screen(heard: &[Heard], merged: usize) -> LoadingScreen {
    let control = Arc::new(ParseControl::default());
    let mut screen = LoadingScreen::new("image.tar".into(), Settings::default(), control);
    screen.resize(WIDTH, HEIGHT);
    let mut count = 0;
    for event in heard {
        match event {
            Heard::Described(image) => {
                screen.model.describe(image);
                screen.relayout();
            }
            Heard::Merged(_, info) if count < merged => {
                screen.model.applied(info.clone());
                count += 1;
            }
            Heard::Merged(..) => {}
        }
    }
    let total = screen.model.layers().len();
    screen.model.set_progress(Progress {
        layers_done: merged,
        layers_total: total,
        bytes_done: 1000 * merged as u64,
        bytes_total: 1000 * total as u64,
    });
    screen
}

#[test]
fn the_load_describes_the_image_first_then_each_layer_as_it_is_merged_in_order() {
    let (_dir, heard, app) = load_watched();
    let final_layers = &app.model.image().layers;
    assert_eq!(final_layers.len(), 3);
    let Heard::Described(image) = &heard[0] else {
        panic!("the description comes first: {heard:?}");
    };
    assert_eq!(image.layers.len(), 3);
    assert_eq!(heard.len(), 4, "{heard:?}");
    for (i, event) in heard[1..].iter().enumerate() {
        let Heard::Merged(image, info) = event else {
            panic!("one description only: {heard:?}");
        };
        assert_eq!(*image, 0);
        assert_eq!(info.index, i, "layers are merged in order");
        // What was told mid-load is what the loaded image holds in the end.
        assert_eq!(format!("{info:?}"), format!("{:?}", final_layers[i]));
    }
}

#[test]
fn mid_load_screen() {
    let (_dir, heard, _app) = load_watched();
    let mut screen = loading_screen(&heard, 1);
    let text = screen_of(&screen, WIDTH, HEIGHT);
    // The first layer is merged: its own facts show. The tree needs all three.
    assert!(text.contains("Content: "), "{text}");
    assert!(text.contains("loading layer 2 of 3"), "{text}");
    insta::assert_snapshot!(text);
    // A layer not yet parsed says so, and shows none of the facts it has not got.
    press_on(&mut screen, KeyCode::End);
    let text = screen_of(&screen, WIDTH, HEIGHT);
    assert!(
        text.contains("not parsed yet (loading layer 2 of 3)"),
        "{text}"
    );
    assert!(!text.contains("Content: "), "{text}");
}

#[test]
fn before_the_description_the_screen_says_what_it_is_reading() {
    let mut screen = loading_screen(&[], 0);
    // Keys before there is a list move nothing, and break nothing.
    press_on(&mut screen, KeyCode::End);
    press_on(&mut screen, KeyCode::Up);
    assert_eq!(screen.model.cursor(), 0);
    let text = screen_of(&screen, WIDTH, HEIGHT);
    assert!(text.contains("reading the image description"), "{text}");
    assert!(
        text.contains("The file tree opens once every layer is merged."),
        "{text}"
    );
}

/// Rows of the layer pane (top left, inside its border) without the first column, where
/// the explorer marks the compared layers.
fn layer_rows(text: &str, count: usize) -> Vec<String> {
    let width = (WIDTH * 2 / 5).clamp(36, 72) as usize;
    text.lines()
        .skip(1)
        .take(count)
        .map(|line| line.chars().take(width - 1).skip(2).collect())
        .collect()
}

#[test]
fn nothing_shown_mid_load_disagrees_with_the_explorer_once_loaded() {
    let (_dir, heard, app) = load_watched();
    let count = app.model.layer_count();
    let loaded = layer_rows(&screen(&app), count);
    for merged in 0..=count {
        let screen = loading_screen(&heard, merged);
        let rows = layer_rows(&screen_of(&screen, WIDTH, HEIGHT), count);
        for layer in 0..merged {
            assert_eq!(rows[layer], loaded[layer], "layer {layer} after {merged}");
        }
        for layer in merged..count {
            // Not merged: the content size is not claimed, the instruction is shown.
            assert_ne!(rows[layer], loaded[layer], "layer {layer} after {merged}");
        }
    }
}

fn press_on(screen: &mut LoadingScreen, code: KeyCode) {
    screen.handle_key(key(code));
}

#[test]
fn keys_move_the_selection_while_loading_and_quit_stops() {
    let (_dir, heard, _app) = load_watched();
    let mut screen = loading_screen(&heard, 0);
    press_on(&mut screen, KeyCode::Down);
    assert_eq!(screen.model.cursor(), 1);
    press_on(&mut screen, KeyCode::End);
    assert_eq!(screen.model.cursor(), 2);
    press_on(&mut screen, KeyCode::Down);
    assert_eq!(screen.model.cursor(), 2, "the selection stays in the list");
    press_on(&mut screen, KeyCode::Home);
    assert_eq!(screen.model.cursor(), 0);
    assert!(!screen.should_quit());
    press_on(&mut screen, KeyCode::Char('q'));
    assert!(screen.should_quit());
}

/// The explorer loads a file without its layer digests and checks them after it opens
/// (`verify_after_opening`, then `verify_in_background`, as `layerscope IMAGE` does): a
/// layer whose tar was changed after the image was built (same length, so the tar still
/// parses) ends with the mismatch on the status bar, naming the layer and both digests,
/// and no key clears it. Never silently wrong.
#[test]
fn a_layer_changed_after_the_build_is_shown_once_the_check_after_opening_ends() {
    let dir = tempfile::tempdir().unwrap();
    let path = build_image(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(9)
        .position(|w| w == b"port=9090")
        .expect("layer 1's config file is in the archive");
    // The layer as built, and as changed, by what a real hash of the tar says.
    let original = sha256_of_layer(&bytes, at);
    bytes[at + 8] = b'1';
    let changed = sha256_of_layer(&bytes, at);
    std::fs::write(&path, &bytes).unwrap();
    // Without the check, the changed image opens.
    let (source, loaded, checks) = opened_then_checked(&path);
    let mut app = App::new(loaded, source, None, Settings::default());
    app.resize(WIDTH, HEIGHT);
    let mut outcomes = Vec::new();
    for verification in checks {
        app.model.set_verification(verification.clone());
        outcomes.push((verification, screen(&app)));
    }
    let (first, first_screen) = &outcomes[0];
    assert_eq!(
        *first,
        Verification::Running {
            checked: 0,
            total: 3
        }
    );
    assert!(first_screen.contains("verifying digests: 0 of 3 layers"));
    let (last, _) = outcomes.last().unwrap();
    assert!(matches!(last, Verification::Failed(_)), "{last:?}");
    // Layer 0 passed before layer 1 failed; layer 2 was never reached.
    assert!(outcomes.iter().any(|(v, _)| *v
        == Verification::Running {
            checked: 1,
            total: 3
        }));
    assert!(!outcomes.iter().any(|(v, _)| *v
        == Verification::Running {
            checked: 2,
            total: 3
        }));
    press(&mut app, key(KeyCode::Down));
    let bar = screen(&app).lines().last().unwrap().to_string();
    assert!(bar.contains("layer 1 diff_id digest mismatch"), "{bar}");
    assert!(bar.contains(&original[..19]), "{bar}");
    assert!(bar.contains(&changed[..19]), "{bar}");
}

/// `sha256:` of the (uncompressed) layer member holding byte `at` of the archive, found by
/// walking the outer tar.
fn sha256_of_layer(archive: &[u8], at: usize) -> String {
    let mut outer = tar::Archive::new(archive);
    for entry in outer.entries().unwrap() {
        let entry = entry.unwrap();
        let begin = entry.raw_file_position() as usize;
        let size = entry.size() as usize;
        if (begin..begin + size).contains(&at) {
            return tui_support::support::sha256_digest(&archive[begin..begin + size]);
        }
    }
    panic!("byte {at} is in no member");
}

/// Open `path` as `layerscope IMAGE` does: loaded without its digests (a file is checked
/// later, never in the load), then checked after opening on the background thread. The
/// source, the image as opened, and the check's reports as they come.
fn opened_then_checked(
    path: &std::path::Path,
) -> (
    Option<layerscope::source::Source>,
    layerscope::model::LoadedImage,
    std::sync::mpsc::Receiver<Verification>,
) {
    let path = path.to_str().unwrap();
    let mut opening = explorer_opening(&Opening::default());
    let spec = layerscope::source::spec::ImageSpec::parse(path, None).unwrap();
    let later = verify_after_opening(&spec, &mut opening.load).expect("a file is checked later");
    assert!(!opening.load.verify && later.verify);
    let (source, loaded) = opening.open(path).unwrap();
    let control = Arc::new(ParseControl::default());
    let checks = verify_in_background(source.clone().unwrap(), &loaded, later, control);
    (source, loaded, checks)
}

/// The intact image passes the check after opening, and the bar goes back to its hints.
#[test]
fn an_intact_image_passes_the_check_after_opening() {
    let dir = tempfile::tempdir().unwrap();
    let path = build_image(dir.path());
    let (source, loaded, checks) = opened_then_checked(&path);
    let heard: Vec<Verification> = checks.into_iter().collect();
    assert_eq!(heard.last(), Some(&Verification::Verified));
    assert_eq!(heard.len(), 5, "0..=3 of 3, then verified: {heard:?}");
    let mut app = App::new(loaded, source, None, Settings::default());
    app.resize(WIDTH, HEIGHT);
    app.model.set_verification(Verification::Verified);
    let bar = screen(&app).lines().last().unwrap().to_string();
    assert!(!bar.contains("digest"), "{bar}");
    assert!(bar.contains("help"), "{bar}");
}

/// The load the explorer makes skips the config's digest too: the check after opening reads
/// it again. A config changed after the build (same length) opens, then fails the check
/// before any layer is read.
#[test]
fn a_config_changed_after_the_build_fails_the_check_after_opening() {
    let dir = tempfile::tempdir().unwrap();
    let path = build_image(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(7)
        .position(|w| w == b"tester\"")
        .expect("the config's author is in the archive");
    bytes[at] = b'T';
    std::fs::write(&path, &bytes).unwrap();
    let (_, _, checks) = opened_then_checked(&path);
    let heard: Vec<Verification> = checks.into_iter().collect();
    assert_eq!(heard.len(), 2, "{heard:?}");
    let Some(Verification::Failed(error)) = heard.last() else {
        panic!("{heard:?}");
    };
    assert!(error.contains("digest mismatch"), "{error}");
    assert!(error.contains(".json"), "names the config: {error}");
}
