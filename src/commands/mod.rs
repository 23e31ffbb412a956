//! The CLI's subcommands: each loads the image through [`crate::load`] and renders plain
//! data to stdout. Progress and errors go to stderr.

mod cache;
mod ci;
pub(crate) mod context;
pub mod diff;
pub mod explain;
pub mod fleet;
pub mod fleet_db;
pub mod generated;
mod inspect;
mod listing;
pub mod ncdu;
mod packages;
mod progress;
mod report;
mod secrets;

use crate::analysis::secrets::{redact_history, Scan};
use crate::cli::{Cli, Command, GlobalArgs};
use crate::error::{Error, Result};
use crate::escape::escape_str;
use crate::image::OpenOptions;
use crate::layer::ParseControl;
use crate::load::{load_spec, LoadOptions, LoadedImage};
use crate::open::Opening;
use crate::source::registry::deadlines::TimeLimits;
use crate::source::registry::RegistryOptions;
use crate::source::spec::ImageSpec;
use std::io::{self, Write};

/// Run a subcommand that writes text (or, without one, the CI checks in place of the
/// explorer, as dive does with `CI=true`). The explorer and the comparison view are
/// [`crate::dispatch`]'s.
pub fn run(cli: &Cli) -> Result<i32> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let global = &cli.global;
    let stdout_error = |e| Error::io("stdout", e);
    let code = match &cli.command {
        Some(Command::Inspect(args)) => {
            let mut loaded = load_image(&args.image, global)?;
            let dockerfile = args
                .dockerfile
                .as_deref()
                .map(|path| context::DockerfileContext::load(path, &loaded))
                .transpose()?;
            redact_history(&mut loaded.image.history);
            inspect::run(&loaded, args.format, dockerfile.as_ref(), &mut out)
                .map_err(stdout_error)?
        }
        Some(Command::Ls(args)) => {
            if args.long && args.format != crate::cli::LsFormat::Text {
                return Err(Error::Usage(
                    "--long is a text listing; leave it out with --format ncdu".into(),
                ));
            }
            let loaded = load_image(&args.image, global)?;
            listing::ls(&loaded, args, global.quiet, &mut out).map_err(stdout_error)?
        }
        Some(Command::Changes(args)) => {
            let loaded = load_image(&args.image, global)?;
            listing::changes(&loaded, args, &mut out).map_err(stdout_error)?
        }
        Some(Command::Ci(args)) => ci::run(args, global, &mut out)?,
        Some(Command::Diff(args)) => diff::run(args, global, &mut out)?,
        Some(Command::Fleet(args)) => fleet::run(args, global, &mut out)?,
        Some(Command::Secrets(args)) => {
            let loaded = load_image_with(&args.image, global, Some(Scan::hook()))?;
            secrets::run(args, &loaded, &mut out)?
        }
        Some(Command::Packages(args)) => {
            let hook = crate::analysis::packages::Reader::hook();
            let loaded = load_image_with(&args.image, global, Some(hook))?;
            packages::run(args, &loaded, &mut out)?
        }
        Some(Command::Demo(args)) => {
            demo_image(args)?;
            let Some(dir) = &args.export else {
                return Err(Error::Usage(
                    "demo opens in the explorer; give --export DIR to write the images instead"
                        .into(),
                ));
            };
            for path in crate::demo::export(dir)? {
                writeln!(out, "{}", escape_str(&path.display().to_string()))
                    .map_err(stdout_error)?;
            }
            0
        }
        Some(Command::Explain(args)) => explain::run(args, global, &mut out)?,
        Some(Command::Report(args)) => report::run(args, global, &mut out)?,
        Some(Command::Cache(args)) => cache::run(args, &mut out)?,
        Some(Command::Completions(args)) => generated::completions(args, &mut out)?,
        Some(Command::Man(args)) => generated::man(args, &mut out)?,
        None => {
            let args = crate::cli::CiArgs {
                image: image_argument(cli)?,
                ..Default::default()
            };
            ci::run(&args, global, &mut out)?
        }
    };
    out.flush().map_err(stdout_error)?;
    Ok(code)
}

/// The IMAGE given without a subcommand (for the explorer, or the CI checks in its place),
/// and its one `--image` choice.
pub fn image_argument(cli: &Cli) -> Result<String> {
    let Some(image) = cli.image.clone() else {
        return Err(Error::Usage(
            "give an image to explore, or a subcommand (inspect, ls, changes, ci, diff, secrets, explain, report, demo); see --help"
                .into(),
        ));
    };
    cli.global.image_choice()?;
    Ok(image)
}

/// Whether `CI=true` asks for the CI checks in place of the explorer, as in dive.
pub fn ci_instead_of_explorer() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The demo image `demo NAME` names: without a name, the image the tour's first step is on.
pub fn demo_image(args: &crate::cli::DemoArgs) -> Result<&'static crate::demo::DemoImage> {
    let name = args
        .name
        .as_deref()
        .unwrap_or(crate::explore::tour::LESSON[0].0);
    crate::demo::find(name).ok_or_else(|| {
        Error::Usage(format!(
            "no demo image {:?}; choose one of: {}",
            escape_str(name),
            crate::demo::names()
        ))
    })
}

/// Print an error on one line (escaped: it may quote names from the image), and with
/// `--verbose` its chain of causes.
pub fn report_error(error: &Error, verbose: bool) {
    let mut stderr = io::stderr().lock();
    let _ = writeln!(
        stderr,
        "layerscope: error: {}",
        escape_str(&error.to_string())
    );
    if verbose {
        let mut cause = std::error::Error::source(error);
        while let Some(inner) = cause {
            let _ = writeln!(stderr, "  caused by: {}", escape_str(&inner.to_string()));
            cause = inner.source();
        }
    }
}

/// The load options the global flags ask for.
pub fn load_options(global: &GlobalArgs) -> LoadOptions {
    LoadOptions {
        open: OpenOptions {
            platform: global.platform.clone(),
            // More than one `--image` is refused by `GlobalArgs::image_choice` first.
            image: global.select_image.first().cloned(),
            verify: !global.no_verify,
        },
        verify: !global.no_verify,
        threads: 0,
        registry: RegistryOptions {
            creds: global.creds.clone(),
            insecure: global.insecure_registry.clone(),
            no_cache: global.no_cache,
            limits: time_limits(global),
        },
        content: None,
        expansion: global.expansion(),
        members: Default::default(),
        layers: None,
        watch: None,
    }
}

/// The registry time limits the flags (or their environment variables) set, else the
/// defaults.
fn time_limits(global: &GlobalArgs) -> TimeLimits {
    let default = TimeLimits::default();
    TimeLimits {
        document: global.registry_timeout.unwrap_or(default.document),
        speed_limit: global.speed_limit.unwrap_or(default.speed_limit),
        speed_time: global.speed_time.unwrap_or(default.speed_time),
        wait_budget: global.wait_budget.unwrap_or(default.wait_budget),
    }
}

/// How the views open images, as the global flags ask.
pub fn opening(global: &GlobalArgs) -> Opening {
    Opening {
        source: global.source,
        quiet: global.quiet,
        load: load_options(global),
    }
}

/// Load an image with the global options, showing progress on a terminal.
pub fn load_image(image: &str, global: &GlobalArgs) -> Result<LoadedImage> {
    load_image_with(image, global, None)
}

/// [`load_image`], with a look at every file's bytes during the parse (the secret rules,
/// the package databases) when one is given.
pub fn load_image_with(
    image: &str,
    global: &GlobalArgs,
    content: Option<std::sync::Arc<dyn crate::layer::ContentHook>>,
) -> Result<LoadedImage> {
    global.image_choice()?;
    let opening = opening(global);
    let mut options = opening.load.clone();
    if content.is_some() {
        options.content = content;
    }
    load_opening(image, &opening, &options)
}

/// Load IMAGE as `opening` resolves it, with `options`, showing progress on a terminal and
/// the load's warnings on stderr.
pub(crate) fn load_opening(
    image: &str,
    opening: &Opening,
    options: &LoadOptions,
) -> Result<LoadedImage> {
    let spec = opening.resolve(image)?;
    let control = ParseControl::default();
    let mut bar = progress::ProgressBar::new(opening.quiet, &control.transfers);
    // The commands read no file contents: stdin is parsed as it streams in, not spooled.
    let loaded = match &spec {
        ImageSpec::Path(path) if path == "-" => {
            crate::load::load_path(path, options, &control, &mut |p| bar.update(p))
        }
        _ => load_spec(&spec, options, &control, &mut |p| bar.update(p)).map(|o| o.loaded),
    };
    bar.finish();
    let loaded = loaded?;
    show_warnings(&loaded.warnings, opening.quiet);
    Ok(loaded)
}

/// A load's warnings on stderr, one line each, unless quiet.
pub(crate) fn show_warnings(warnings: &[String], quiet: bool) {
    if !quiet {
        let mut stderr = io::stderr().lock();
        for warning in warnings {
            let _ = writeln!(stderr, "layerscope: warning: {}", escape_str(warning));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::time::Duration;

    fn limits_of(args: &[&str]) -> std::result::Result<TimeLimits, clap::Error> {
        let cli = Cli::try_parse_from(
            ["layerscope", "inspect", "registry://r.invalid/x"]
                .iter()
                .chain(args),
        )?;
        Ok(load_options(&cli.global).registry.limits)
    }

    /// The explorer's tests open images with `Opening::default()`: it is what a command
    /// line without flags asks for.
    #[test]
    fn the_default_opening_is_the_command_line_without_flags() {
        let cli = Cli::try_parse_from(["layerscope", "inspect", "x.tar"]).unwrap();
        assert_eq!(
            format!("{:?}", opening(&cli.global)),
            format!("{:?}", Opening::default())
        );
    }

    /// Without flags (or their environment variables), a pull gets the documented limits;
    /// each flag sets its own, in seconds or humantime, and nonsense is a usage error.
    #[test]
    fn registry_time_limits_come_from_the_flags_else_the_defaults() {
        for name in [
            "LAYERSCOPE_REGISTRY_TIMEOUT",
            "LAYERSCOPE_SPEED_LIMIT",
            "LAYERSCOPE_SPEED_TIME",
            "LAYERSCOPE_WAIT_BUDGET",
        ] {
            if std::env::var_os(name).is_some() {
                eprintln!("note: {name} is set; the test of the defaults is skipped");
                return;
            }
        }
        assert_eq!(limits_of(&[]).unwrap(), TimeLimits::default());
        let set = limits_of(&[
            "--registry-timeout",
            "1500ms",
            "--speed-limit",
            "2KiB",
            "--speed-time",
            "7",
            "--wait-budget",
            "0",
        ])
        .unwrap();
        assert_eq!(
            set,
            TimeLimits {
                document: Duration::from_millis(1500),
                speed_limit: 2048,
                speed_time: Duration::from_secs(7),
                wait_budget: Duration::ZERO,
            }
        );
        for bad in [
            ["--registry-timeout", "0"],
            ["--speed-time", "soon"],
            ["--speed-limit", "fast"],
            ["--wait-budget", "-1"],
        ] {
            assert!(limits_of(&bad).is_err(), "{bad:?} was taken");
        }
    }
}
