//! The terminal side: set-up and restore, background loading behind the first screen
//! (the layers as they are merged, and a gauge), and the event loop. The loop runs any [`Screen`] (the explorer, the comparison view) over any
//! ratatui backend and any [`EventSource`], so tests drive the real loop with a test
//! backend and a list of events.

use super::app::App;
use super::components::loading::LoadingScreen;
use super::settings::Settings;
use crate::error::{Error, Result};
use crate::escape::escape_str;
use crate::explore::{ImageAnalysis, Message as StatusMessage, Verification};
use crate::image::Image;
use crate::layer::ParseControl;
use crate::load::{self, LayerInfo, LoadOptions, LoadedImage, Progress};
use crate::source::spec::ImageSpec;
use crate::source::Source;
use crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyEvent, MouseEvent,
};
use crossterm::execute;
use ratatui::backend::Backend;
use ratatui::{DefaultTerminal, Frame, Terminal};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Runs the analysis on the loaded image, off the UI thread.
pub type Analyze = Box<dyn FnOnce(&LoadedImage) -> ImageAnalysis + Send>;

type Loaded = (Option<Source>, LoadedImage);

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

/// Where the loop's events come from: the terminal, or a test's list.
pub trait EventSource {
    /// The next event; `None` when there are no more (a test's list ran out).
    fn next_event(&mut self) -> std::io::Result<Option<Event>>;
}

/// The terminal's events, as crossterm reads them.
pub struct TerminalEvents;

impl EventSource for TerminalEvents {
    fn next_event(&mut self) -> std::io::Result<Option<Event>> {
        event::read().map(Some)
    }
}

/// Events from a list, for tests: the loop ends when the list does.
impl<I: Iterator<Item = Event>> EventSource for I {
    fn next_event(&mut self) -> std::io::Result<Option<Event>> {
        Ok(self.next())
    }
}

/// What the event loop drives: a router over components that draws the whole screen.
pub trait Screen {
    fn should_quit(&self) -> bool;
    fn handle_key(&mut self, key: KeyEvent);
    fn handle_mouse(&mut self, mouse: MouseEvent);
    fn resize(&mut self, width: u16, height: u16);
    fn draw(&self, frame: &mut Frame);
}

impl Screen for App {
    fn should_quit(&self) -> bool {
        App::should_quit(self)
    }
    fn handle_key(&mut self, key: KeyEvent) {
        App::handle_key(self, key)
    }
    fn handle_mouse(&mut self, mouse: MouseEvent) {
        App::handle_mouse(self, mouse)
    }
    fn resize(&mut self, width: u16, height: u16) {
        App::resize(self, width, height)
    }
    fn draw(&self, frame: &mut Frame) {
        super::app::render(self, frame)
    }
}

/// Draw, wait for an event, hand it to the app; until the app quits or the events end.
pub fn run_app<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut dyn Screen,
    events: &mut dyn EventSource,
) -> Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let backend = |e: B::Error| Error::io("terminal", std::io::Error::other(e));
    while !app.should_quit() {
        terminal.draw(|frame| app.draw(frame)).map_err(backend)?;
        match events.next_event().map_err(io)? {
            Some(event) => dispatch(app, event),
            None => break,
        }
    }
    Ok(())
}

/// Hand one terminal event to the screen.
fn dispatch(app: &mut dyn Screen, event: Event) {
    match event {
        Event::Key(key) => app.handle_key(key),
        Event::Mouse(mouse) => app.handle_mouse(mouse),
        Event::Resize(width, height) => app.resize(width, height),
        _ => {}
    }
}

/// Leave the layer digests of `spec` for after the explorer opens, when it is a file
/// loaded with [`LoadOptions::verify`] on: `options` then loads without them, and the
/// options returned check them ([`verify_in_background`]). They are most of the load's
/// CPU, and a file's blobs can be read again. Other sources verify in the load, as `ci`
/// does everywhere: a registry checks its blobs as they come, a stream cannot be read
/// twice.
pub fn verify_after_opening(spec: &ImageSpec, options: &mut LoadOptions) -> Option<LoadOptions> {
    if !options.verify || !matches!(spec, ImageSpec::Path(_)) {
        return None;
    }
    let later = LoadOptions {
        watch: None,
        ..options.clone()
    };
    options.verify = false;
    Some(later)
}

/// Check the layer digests that `loaded`'s load left for later (it ran with
/// [`LoadOptions::verify`] off), on a thread of its own at a lower priority than the
/// views, reading the blobs again from `source`. The receiver hears the check's progress
/// after each layer, then [`Verification::Verified`] or the first mismatch; the thread
/// stops at the next read once `control` is cancelled.
pub fn verify_in_background(
    source: Source,
    loaded: &LoadedImage,
    options: LoadOptions,
    control: Arc<ParseControl>,
) -> mpsc::Receiver<Verification> {
    let (sender, receiver) = mpsc::channel();
    let (image, layers) = (loaded.image.clone(), loaded.layers.clone());
    let total = layers.len();
    let _ = sender.send(Verification::Running { checked: 0, total });
    std::thread::spawn(move || {
        lower_priority();
        let result =
            load::verify_layers(&source, &image, &layers, &options, &control, &mut |k, n| {
                let _ = sender.send(Verification::Running {
                    checked: k,
                    total: n,
                });
            });
        let _ = sender.send(match result {
            Ok(()) => Verification::Verified,
            Err(error) => Verification::Failed(failure(&error)),
        });
    });
    receiver
}

/// A failed check in one status line: a mismatch names its layer and both digests,
/// shortened to fit (the image is the one on screen, so its path is left out); any other
/// error as it is, escaped.
fn failure(error: &Error) -> String {
    use super::compare::summary::short;
    match error {
        Error::DigestMismatch {
            what,
            expected,
            actual,
            ..
        } => format!(
            "{} digest mismatch: expected {}…, found {}…; the image is not what it declares",
            escape_str(what),
            short(expected),
            short(actual)
        ),
        other => escape_str(&other.to_string()).into_owned(),
    }
}

/// Make the calling thread (and the hashing threads it starts, which inherit it) yield
/// the cores to the views: the check and the explanations' facts are background work.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments; on Linux, PRIO_PROCESS with a
    // thread id renices that thread alone.
    unsafe {
        let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, thread, 10);
    }
}

/// Hand the pages malloc keeps free back to the system: the parse threads' layers,
/// freed as they were merged, stay in their threads' arenas otherwise, and the views
/// built next would add to them rather than reuse them.
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes an integer and only walks malloc's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Take over the terminal: the alternate screen, raw mode and mouse capture, given back
/// when the guard drops (and by ratatui's panic hook, with the mouse released too).
fn start_terminal() -> Result<(DefaultTerminal, Restore)> {
    let terminal = ratatui::try_init().map_err(io)?;
    let restore = Restore;
    execute!(std::io::stdout(), EnableMouseCapture).map_err(io)?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        previous(info);
    }));
    Ok((terminal, restore))
}

/// Run a screen whose data is already loaded (the comparison view) until the user quits.
pub fn run_loaded(screen: &mut dyn Screen) -> Result<i32> {
    let (mut terminal, _restore) = start_terminal()?;
    let size = terminal.size().map_err(io)?;
    screen.resize(size.width, size.height);
    run_app(&mut terminal, screen, &mut TerminalEvents)?;
    Ok(0)
}

/// What the loader thread tells the event loop.
enum Message {
    Stage(&'static str),
    Progress(Progress),
    /// The image's description, before any layer is parsed.
    Described(Box<Image>),
    /// A layer parsed and merged into the tree.
    Merged(LayerInfo),
    /// The tree the layers are merged into, before the first.
    Tree(Arc<load::MergedTree>),
    Done(Box<Result<Loaded>>),
}

/// Forwards what the load learns to the event loop, as it learns it.
#[derive(Debug)]
struct Forward(mpsc::Sender<Message>);

impl load::Watch for Forward {
    fn described(&self, image: &Image) {
        let _ = self.0.send(Message::Described(Box::new(image.clone())));
    }
    fn merged(&self, _image: usize, info: &LayerInfo) {
        let _ = self.0.send(Message::Merged(info.clone()));
    }
    fn merging(&self, _image: usize, tree: Arc<load::MergedTree>) {
        let _ = self.0.send(Message::Tree(tree));
    }
}

/// Load `path` in the background while showing its layers as they are parsed (the first
/// screen, [`LoadingScreen`]), then run the explorer on the same selection; with `back`,
/// esc with nothing to clear leaves it too (opened from the fleet view).
pub fn run(
    spec: ImageSpec,
    mut options: LoadOptions,
    settings: Settings,
    analyze: Option<Analyze>,
    notices: Vec<String>,
    start: super::Start,
    back: bool,
) -> Result<i32> {
    let path = spec.display();
    let control = Arc::new(ParseControl::default());
    let verify_later = verify_after_opening(&spec, &mut options);
    let (sender, receiver) = mpsc::channel();
    options.watch = Some(Arc::new(Forward(sender.clone())));
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
                Ok((opened.source, opened.loaded))
            })();
            send(Message::Done(Box::new(result)));
        });
    }

    let (mut terminal, _restore) = start_terminal()?;
    let mut screen = LoadingScreen::new(path, settings, Arc::clone(&control));
    let size = terminal.size().map_err(io)?;
    screen.resize(size.width, size.height);
    // Frames every 80 ms, or at once after a key; the loader's news is looked at every
    // 10 ms, so the explorer replaces this screen as soon as the load is done.
    let mut drawn: Option<Instant> = None;
    let (source, mut loaded) = loop {
        if drawn.is_none_or(|at| at.elapsed() >= Duration::from_millis(80)) {
            screen.model.refresh_files();
            terminal.draw(|frame| screen.draw(frame)).map_err(io)?;
            drawn = Some(Instant::now());
        }
        if event::poll(Duration::from_millis(10)).map_err(io)? {
            dispatch(&mut screen, event::read().map_err(io)?);
            if screen.should_quit() {
                control.cancel.store(true, Ordering::Relaxed);
                return Err(Error::Interrupted);
            }
            drawn = None;
        }
        let mut finished = None;
        while let Ok(message) = receiver.try_recv() {
            match message {
                Message::Stage(s) => screen.stage = s,
                Message::Progress(p) => screen.model.set_progress(p),
                Message::Described(image) => {
                    screen.model.describe(&image);
                    screen.relayout();
                }
                Message::Merged(info) => screen.model.applied(info),
                Message::Tree(tree) => screen.model.set_tree(tree),
                Message::Done(result) => finished = Some((*result)?),
            }
        }
        if let Some(done) = finished {
            break done;
        }
    };

    give_back_freed_memory();
    // The image pane's analysis on a core of its own while the explorer builds its panes;
    // the first frame waits for both.
    crate::explore::prepare_for_views(&mut loaded);
    let loaded = Arc::new(loaded);
    let analysis = analyze.map(|analyze| {
        let loaded = Arc::clone(&loaded);
        std::thread::spawn(move || analyze(&loaded))
    });
    let check_source = source.clone();
    let picked = screen.picked();
    let mut app = App::new_shared(loaded, source, None, screen.into_settings());
    if let Some(analysis) = analysis {
        match analysis.join() {
            Ok(analysis) => app.model.set_analysis(Some(analysis)),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    let size = terminal.size().map_err(io)?;
    app.resize(size.width, size.height);
    picked.apply(&mut app);
    start.apply(&mut app)?;
    if back {
        app.go_back_on_esc();
    }
    if !notices.is_empty() {
        app.model.message = Some(StatusMessage {
            text: notices.join("; "),
            error: true,
        });
    }
    // The first frame before the check and the facts start, so that it does not share
    // the cores with them; it already says the digests are being checked.
    let check = check_source.zip(verify_later);
    if check.is_some() {
        let total = app.model.image().layers.len();
        app.model
            .set_verification(Verification::Running { checked: 0, total });
    }
    terminal.draw(|frame| app.draw(frame)).map_err(io)?;
    let checks = match check {
        Some((source, options)) => Some(verify_in_background(
            source,
            app.model.image(),
            options,
            Arc::clone(&control),
        )),
        _ => None,
    };
    let Some(checks) = checks else {
        app.model.prepare_explanations_later(lower_priority);
        run_app(&mut terminal, &mut app, &mut TerminalEvents)?;
        return Ok(0);
    };
    // While the check runs, the loop wakes for its news as for keys.
    let mut checking = true;
    while !app.should_quit() {
        // Before each frame, the first included: no frame passes for a checked image.
        while let Ok(verification) = checks.try_recv() {
            checking = matches!(verification, Verification::Running { .. });
            app.model.set_verification(verification);
            if !checking {
                // Not beside the check: its reading and the facts' analysis each take a
                // core and tens of MB.
                app.model.prepare_explanations_later(lower_priority);
            }
        }
        terminal.draw(|frame| app.draw(frame)).map_err(io)?;
        if !checking || event::poll(Duration::from_millis(100)).map_err(io)? {
            dispatch(&mut app, event::read().map_err(io)?);
        }
    }
    control.cancel.store(true, Ordering::Relaxed);
    Ok(0)
}
