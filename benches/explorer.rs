//! Keypress-to-frame latency of the explorer on 1,000,000 paths over 50 layers: each
//! iteration runs the explorer's event loop over one key event, which handles it and draws
//! a full 160x50 frame into ratatui's test backend. Run with `cargo bench --bench explorer`.

mod common;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers};
use divan::Bencher;
use layerscope::tui::{run_app, App, Settings};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn main() {
    divan::main();
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent {
        code,
        modifiers,
        kind: KeyEventKind::Press,
        state: KeyEventState::NONE,
    }
}

struct Explorer {
    app: App,
    terminal: Terminal<TestBackend>,
}

impl Explorer {
    fn new() -> Self {
        let mut app = App::new(
            common::loaded_image(1_000_000, 50),
            None,
            None,
            Settings::default(),
        );
        app.resize(160, 50);
        let terminal = Terminal::new(TestBackend::new(160, 50)).unwrap();
        Explorer { app, terminal }
    }

    /// One keypress, then one frame: the loop handles the event, draws, and stops when
    /// the events run out.
    fn press(&mut self, event: KeyEvent) {
        self.app.handle_key(event);
        run_app(
            &mut self.terminal,
            &mut self.app,
            &mut std::iter::empty::<Event>(),
        )
        .unwrap();
    }
}

#[divan::bench(sample_count = 30)]
fn move_selection(bencher: Bencher) {
    let mut explorer = Explorer::new();
    explorer.press(key(KeyCode::Tab, KeyModifiers::NONE)); // focus the file tree
    let mut down = true;
    bencher.bench_local(|| {
        down = !down;
        explorer.press(key(
            if down { KeyCode::Down } else { KeyCode::Up },
            KeyModifiers::NONE,
        ));
    });
}

#[divan::bench(sample_count = 30)]
fn switch_layer(bencher: Bencher) {
    let mut explorer = Explorer::new();
    let mut down = true;
    bencher.bench_local(|| {
        down = !down;
        explorer.press(key(
            if down { KeyCode::Down } else { KeyCode::Up },
            KeyModifiers::NONE,
        ));
    });
}

#[divan::bench(sample_count = 30)]
fn toggle_aggregated(bencher: Bencher) {
    let mut explorer = Explorer::new();
    for _ in 0..30 {
        explorer.press(key(KeyCode::Down, KeyModifiers::NONE));
    }
    let mut aggregated = false;
    bencher.bench_local(|| {
        aggregated = !aggregated;
        let letter = if aggregated { 'a' } else { 'l' };
        explorer.press(key(KeyCode::Char(letter), KeyModifiers::CONTROL));
    });
}

#[divan::bench(sample_count = 30)]
fn type_filter_character(bencher: Bencher) {
    let mut explorer = Explorer::new();
    explorer.press(key(KeyCode::Char('f'), KeyModifiers::CONTROL));
    for ch in "file1234".chars() {
        explorer.press(key(KeyCode::Char(ch), KeyModifiers::NONE));
    }
    let mut typed = false;
    bencher.bench_local(|| {
        typed = !typed;
        let event = if typed {
            key(KeyCode::Char('5'), KeyModifiers::NONE)
        } else {
            key(KeyCode::Backspace, KeyModifiers::NONE)
        };
        explorer.press(event);
    });
}

/// Each switch goes to a layer whose directory sizes are not cached yet.
#[divan::bench(sample_count = 30)]
fn switch_to_uncached_layer(bencher: Bencher) {
    let mut explorer = Explorer::new();
    let mut down = 0;
    bencher.bench_local(|| {
        down += 1;
        let code = if down % 98 < 49 {
            KeyCode::Down
        } else {
            KeyCode::Up
        };
        explorer.press(key(code, KeyModifiers::NONE));
    });
}

/// The first `e` of a session when nothing gathered the explanation's facts (waste,
/// hints over the whole tree) before: what pressing `e` at once would cost. Each sample is
/// a fresh explorer.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn first_explain_gathered_on_the_key(bencher: Bencher) {
    bencher
        .with_inputs(Explorer::new)
        .bench_local_values(|mut explorer| {
            explorer.press(key(KeyCode::Char('e'), KeyModifiers::NONE));
            explorer
        });
}

/// The first `e` as the explorer runs it: the facts were gathered on their own thread
/// while the explorer was open (`prepare_explanations`, as the event loop starts it).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn first_explain_prepared(bencher: Bencher) {
    bencher
        .with_inputs(|| {
            let mut explorer = Explorer::new();
            explorer.app.model.prepare_explanations();
            while !explorer.app.model.explanations_ready() {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            explorer
        })
        .bench_local_values(|mut explorer| {
            explorer.press(key(KeyCode::Char('e'), KeyModifiers::NONE));
            explorer
        });
}
