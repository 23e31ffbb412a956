//! The terminal side: set-up and restore, background loading with a gauge, and the
//! event loop. Everything else in `tui` works without a terminal.

use super::app::{App, ImageAnalysis, Settings};
use super::widgets;
use crate::error::{Error, Result};
use crate::layer::ParseControl;
use crate::load::{self, LoadOptions, LoadedImage, Progress};
use crate::source::spec::ImageSpec;
use crate::source::Source;
use crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyCode, KeyModifiers,
};
use crossterm::execute;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Runs the analysis on the loaded image, off the UI thread.
pub type Analyze = Box<dyn FnOnce(&LoadedImage) -> ImageAnalysis + Send>;

type Loaded = (Option<Source>, LoadedImage, Option<ImageAnalysis>);

enum Message {
    Stage(&'static str),
    Progress(Progress),
    Done(Box<Result<Loaded>>),
}

/// Restores the terminal when dropped: on return, on error and on unwinding.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        ratatui::restore();
    }
}

fn io(e: std::io::Error) -> Error {
    Error::io("terminal", e)
}

fn is_ctrl_c(event: &Event) -> bool {
    matches!(event, Event::Key(key)
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL))
}

/// Load `path` in the background while showing progress, then run the explorer.
pub fn run(
    spec: ImageSpec,
    options: LoadOptions,
    settings: Settings,
    analyze: Option<Analyze>,
    notices: Vec<String>,
) -> Result<i32> {
    let path = spec.display();
    let control = Arc::new(ParseControl::default());
    let (sender, receiver) = mpsc::channel();
    {
        let control = Arc::clone(&control);
        // Not joined on cancel: indexing a huge archive does not poll the cancel flag, and
        // the process exits anyway.
        std::thread::spawn(move || {
            let send = |m| {
                let _ = sender.send(m);
            };
            let result = (|| {
                send(Message::Stage("reading the image description"));
                let opened = load::load_spec(&spec, &options, &control, &mut |p| {
                    send(Message::Progress(p))
                })?;
                let (source, loaded) = (opened.source, opened.loaded);
                let analysis = analyze.map(|analyze| {
                    send(Message::Stage("analysing"));
                    analyze(&loaded)
                });
                Ok((source, loaded, analysis))
            })();
            send(Message::Done(Box::new(result)));
        });
    }

    let mut terminal = ratatui::try_init().map_err(io)?;
    let _restore = Restore;
    execute!(std::io::stdout(), EnableMouseCapture).map_err(io)?;
    // ratatui's hook restores the screen; mouse capture must be released too.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        previous(info);
    }));

    let path = &path;
    let theme = settings.theme.clone();
    let mut progress: Option<Progress> = None;
    let mut stage = "starting";
    let (source, loaded, analysis) = loop {
        terminal
            .draw(|frame| widgets::render_loading(frame, &theme, path, progress.as_ref(), stage))
            .map_err(io)?;
        if event::poll(Duration::from_millis(80)).map_err(io)? {
            let event = event::read().map_err(io)?;
            let quit_key = matches!(&event, Event::Key(k) if k.code == KeyCode::Char('q'));
            if is_ctrl_c(&event) || quit_key {
                control.cancel.store(true, Ordering::Relaxed);
                return Err(Error::Interrupted);
            }
        }
        let mut finished = None;
        while let Ok(message) = receiver.try_recv() {
            match message {
                Message::Stage(s) => stage = s,
                Message::Progress(p) => progress = Some(p),
                Message::Done(result) => finished = Some((*result)?),
            }
        }
        if let Some(done) = finished {
            break done;
        }
    };

    let mut app = App::new(loaded, source, analysis, settings);
    if !notices.is_empty() {
        app.message = Some((notices.join("; "), true));
    }
    let size = terminal.size().map_err(io)?;
    app.resize(size.width, size.height);
    while !app.quit {
        terminal
            .draw(|frame| widgets::render(&app, frame))
            .map_err(io)?;
        match event::read().map_err(io)? {
            Event::Key(key) => app.handle_key(key),
            Event::Mouse(mouse) => app.handle_mouse(mouse),
            Event::Resize(width, height) => app.resize(width, height),
            _ => {}
        }
    }
    Ok(0)
}
