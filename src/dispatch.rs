//! The command line, run: a subcommand that writes text goes to [`crate::commands`], the
//! explorer and the comparison view to [`crate::tui`]. The two views meet only here (and
//! in [`crate::open`], where both open images); neither imports the other.

use crate::cli::{Cli, Command, DiffArgs, FleetArgs};
use crate::commands::{self, context, opening};
use crate::demo::DemoImage;
use crate::error::{Error, Result};
use crate::tui::{self, TuiOptions};
use std::io::IsTerminal;

/// Run the parsed command line and return the process exit code.
pub fn run(cli: Cli) -> i32 {
    let verbose = cli.global.verbose;
    match dispatch(&cli) {
        Ok(code) => code,
        Err(error) => {
            commands::report_error(&error, verbose);
            error.exit_code()
        }
    }
}

fn dispatch(cli: &Cli) -> Result<i32> {
    match &cli.command {
        Some(Command::Diff(args)) if args.tui => compare(args, cli),
        Some(Command::Fleet(args)) if args.tui => fleet(args, cli),
        Some(Command::Demo(args)) if args.export.is_none() => {
            open_demo(commands::demo_image(args)?, cli)
        }
        None if !commands::ci_instead_of_explorer() => explore(cli),
        _ => commands::run(cli),
    }
}

/// The explorer's options from the command line: theme and glyphs.
fn options(cli: &Cli) -> TuiOptions {
    TuiOptions {
        theme: cli.theme.clone(),
        ascii: cli.ascii,
        ..Default::default()
    }
}

/// `layerscope IMAGE`: the explorer, with the Dockerfile given with `--dockerfile`.
fn explore(cli: &Cli) -> Result<i32> {
    let image = commands::image_argument(cli)?;
    // Read and parsed here, so that a bad Dockerfile is refused before the image loads
    // (the explorer parses it again to map it).
    let dockerfile = match &cli.dockerfile {
        Some(path) => {
            let text = context::read_dockerfile_text(path)?;
            context::read_dockerfile(path)?;
            Some((path.display().to_string(), text))
        }
        None => None,
    };
    let options = TuiOptions {
        analyze: Some(Box::new(crate::explore::image_analysis)),
        dockerfile,
        ..options(cli)
    };
    tui::run_tui(&image, &opening(&cli.global), options)
}

/// Open the explorer on an embedded demo image, with its Dockerfile and the guided tour.
/// The archive is written to a temporary file (removed on exit) because the explorer reads
/// its source by offset.
fn open_demo(image: &'static DemoImage, cli: &Cli) -> Result<i32> {
    let file = crate::demo::temp_archive(image)?;
    let path = file.path().display().to_string();
    let options = TuiOptions {
        analyze: Some(Box::new(crate::explore::image_analysis)),
        dockerfile: Some((
            image.dockerfile_name.to_string(),
            image.dockerfile.to_string(),
        )),
        tour: true,
        demo: Some(image.name),
        ..options(cli)
    };
    let code = tui::run_tui(&path, &opening(&cli.global), options);
    drop(file);
    code
}

/// `diff A B --tui`: the comparison `diff` makes, in the comparison view. Bad input and a
/// missing terminal are refused before the layers load.
fn compare(args: &DiffArgs, cli: &Cli) -> Result<i32> {
    let global = &cli.global;
    let opened = commands::diff::open_pair(&args.a, &args.b, global)?;
    if !std::io::stdout().is_terminal() {
        return Err(Error::Usage(
            "diff --tui needs a terminal; without --tui, diff prints text, json or markdown".into(),
        ));
    }
    let (settings, notices) = tui::settings(&options(cli))?;
    let view = commands::diff::load_view(opened, &args.a, &args.b, global)?;
    tui::run_compare(view, settings, notices)
}

/// `fleet IMAGE… --tui`: the set `fleet` measures, in the fleet view. A missing terminal
/// and a bad config file are refused before the images load; with `--keep-going`, an
/// image that failed is listed in the view and the exit code is 2, as `fleet` says it.
fn fleet(args: &FleetArgs, cli: &Cli) -> Result<i32> {
    if !std::io::stdout().is_terminal() {
        return Err(Error::Usage(
            "fleet --tui needs a terminal; without --tui, fleet prints text, json or markdown"
                .into(),
        ));
    }
    let (settings, notices) = tui::settings(&options(cli))?;
    let measured = commands::fleet::measure(args, &cli.global)?;
    let failed = measured.failed();
    let left_out = measured.left_out();
    let view = crate::explore::fleet::FleetView::new(measured.set, measured.opened, left_out);
    let code = tui::run_fleet(view, &opening(&cli.global), settings, notices)?;
    Ok(if failed { 2 } else { code })
}
