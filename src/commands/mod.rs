//! The CLI's subcommands: each loads the image through [`crate::load`] and renders plain
//! data to stdout. Progress and errors go to stderr.

mod ci;
pub mod diff;
pub mod explain;
pub mod generated;
mod inspect;
mod listing;
pub mod ncdu;
mod progress;
mod report;
mod secrets;

use crate::analysis::secrets::{redact_history, redact_mapping, redact_secrets};
use crate::cli::{Cli, Command, GlobalArgs};
use crate::error::{Error, Result};
use crate::escape::escape_str;
use crate::image::OpenOptions;
use crate::layer::ParseControl;
use crate::load::{load_spec, LoadOptions, LoadedImage};
use crate::source::registry::deadlines::TimeLimits;
use crate::source::registry::RegistryOptions;
use crate::source::spec::ImageSpec;
use std::io::{self, Write};

/// Run the parsed command line and return the process exit code.
pub fn run(cli: Cli) -> i32 {
    let verbose = cli.global.verbose;
    match dispatch(cli) {
        Ok(code) => code,
        Err(error) => {
            report_error(&error, verbose);
            error.exit_code()
        }
    }
}

fn dispatch(cli: Cli) -> Result<i32> {
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
                .map(|path| DockerfileContext::load(path, &loaded))
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
        Some(Command::Diff(args)) if args.tui => {
            drop(out);
            let options = crate::tui::TuiOptions {
                theme: cli.theme.clone(),
                ascii: cli.ascii,
                ..Default::default()
            };
            return diff::run_tui(args, global, &options);
        }
        Some(Command::Diff(args)) => diff::run(args, global, &mut out)?,
        Some(Command::Secrets(args)) => {
            let loaded = load_image_with(&args.image, global, true)?;
            secrets::run(args, &loaded, &mut out)?
        }
        Some(Command::Demo(args)) => {
            // Without a name, the image the tour's first step is on.
            let name = args
                .name
                .as_deref()
                .unwrap_or(crate::explore::tour::LESSON[0].0);
            let Some(image) = crate::demo::find(name) else {
                return Err(Error::Usage(format!(
                    "no demo image {:?}; choose one of: {}",
                    escape_str(name),
                    crate::demo::names()
                )));
            };
            if let Some(dir) = &args.export {
                for path in crate::demo::export(dir)? {
                    writeln!(out, "{}", escape_str(&path.display().to_string()))
                        .map_err(stdout_error)?;
                }
                0
            } else {
                drop(out);
                return open_demo(image, &cli);
            }
        }
        Some(Command::Explain(args)) => explain::run(args, global, &mut out)?,
        Some(Command::Report(args)) => report::run(args, global, &mut out)?,
        Some(Command::Cache(args)) => crate::source::registry::cache::run_command(args, &mut out)?,
        Some(Command::Completions(args)) => generated::completions(args, &mut out)?,
        Some(Command::Man(args)) => generated::man(args, &mut out)?,
        None => {
            let Some(image) = cli.image.clone() else {
                return Err(Error::Usage(
                    "give an image to explore, or a subcommand (inspect, ls, changes, ci, diff, secrets, explain, report, demo); see --help"
                        .into(),
                ));
            };
            global.image_choice()?;
            // As in dive: CI=true runs the CI checks instead of the explorer.
            if std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true")) {
                let args = crate::cli::CiArgs {
                    image,
                    ..Default::default()
                };
                ci::run(&args, global, &mut out)?
            } else {
                drop(out);
                // Read and parsed here, so that a bad Dockerfile is refused before the
                // image loads (the explorer parses it again to map it).
                let dockerfile = match &cli.dockerfile {
                    Some(path) => {
                        let text = read_dockerfile_text(path)?;
                        read_dockerfile(path)?;
                        Some((path.display().to_string(), text))
                    }
                    None => None,
                };
                let options = crate::tui::TuiOptions {
                    theme: cli.theme.clone(),
                    ascii: cli.ascii,
                    analyze: Some(Box::new(tui_analysis)),
                    dockerfile,
                    tour: false,
                    demo: None,
                };
                return crate::tui::run_tui(&image, global, options);
            }
        }
    };
    out.flush().map_err(stdout_error)?;
    Ok(code)
}

/// Open the explorer on an embedded demo image, with its Dockerfile and the guided tour.
/// The archive is written to a temporary file (removed on exit) because the explorer reads
/// its source by offset.
fn open_demo(image: &'static crate::demo::DemoImage, cli: &Cli) -> Result<i32> {
    let file = crate::demo::temp_archive(image)?;
    let path = file.path().display().to_string();
    let options = crate::tui::TuiOptions {
        theme: cli.theme.clone(),
        ascii: cli.ascii,
        analyze: Some(Box::new(tui_analysis)),
        dockerfile: Some((
            image.dockerfile_name.to_string(),
            image.dockerfile.to_string(),
        )),
        tour: true,
        demo: Some(image.name),
    };
    let code = crate::tui::run_tui(&path, &cli.global, options);
    drop(file);
    code
}

/// Print an error on one line (escaped: it may quote names from the image), and with
/// `--verbose` its chain of causes.
fn report_error(error: &Error, verbose: bool) {
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

/// A Dockerfile given with `--dockerfile`, laid over the loaded image.
pub(crate) struct DockerfileContext {
    /// As the user gave it.
    pub path: String,
    pub dockerfile: crate::dockerfile::Dockerfile,
    pub mapping: crate::dockerfile::Mapping,
}

impl DockerfileContext {
    /// Read the Dockerfile at `path` and map it onto `loaded`.
    pub fn load(path: &std::path::Path, loaded: &LoadedImage) -> Result<DockerfileContext> {
        let shown = path.display().to_string();
        let dockerfile =
            crate::dockerfile::Dockerfile::read(path).map_err(|source| Error::Dockerfile {
                path: shown.clone(),
                source,
            })?;
        let mut mapping = crate::dockerfile::map(
            &dockerfile,
            &loaded.image.config.history,
            &loaded.image.history,
        );
        redact_mapping(&mut mapping);
        Ok(DockerfileContext {
            path: shown,
            dockerfile,
            mapping,
        })
    }

    /// The label of layer `index` for reports: `line 7: COPY …`, `FROM <base>` for a base
    /// layer, `None` for a layer no line explains.
    pub fn layer_label(&self, index: usize) -> Option<String> {
        let layer = self.mapping.layers.get(index)?;
        match (&layer.origin, &layer.line) {
            (crate::dockerfile::LayerOrigin::Base, _) => {
                Some(format!("FROM {}", self.mapping.base_image))
            }
            (_, Some(line)) => Some(format!(
                "{}: {}",
                line_range(line.line, line.end_line),
                line.instruction
            )),
            _ => None,
        }
    }
}

/// `line 7` or `lines 7-9`.
pub(crate) fn line_range(line: usize, end_line: usize) -> String {
    if end_line > line {
        format!("lines {line}-{end_line}")
    } else {
        format!("line {line}")
    }
}

/// The text of a Dockerfile named on the command line, within the parser's size limit.
pub(crate) fn read_dockerfile_text(path: &std::path::Path) -> Result<String> {
    use std::io::Read;
    let shown = path.display().to_string();
    let io_error = |e| Error::io(shown.clone(), e);
    let file = std::fs::File::open(path).map_err(io_error)?;
    let limit = crate::dockerfile::MAX_DOCKERFILE_BYTES;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > limit {
        return Err(Error::Dockerfile {
            path: shown,
            source: crate::dockerfile::DockerfileError::TooLarge {
                size: bytes.len() as u64,
                limit,
            },
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::Config(format!(
            "Dockerfile {shown}: not UTF-8 text (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Read and parse a Dockerfile named on the command line; errors name the file once.
pub(crate) fn read_dockerfile(path: &std::path::Path) -> Result<crate::dockerfile::Dockerfile> {
    crate::dockerfile::Dockerfile::read(path).map_err(|e| match e {
        // Already names the file.
        crate::dockerfile::DockerfileError::Read { .. } => Error::Config(format!("Dockerfile {e}")),
        other => Error::Config(format!("Dockerfile {}: {other}", path.display())),
    })
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
        secrets: false,
        expansion: global.expansion(),
        members: Default::default(),
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

/// Read IMAGE and `--source`, and choose the source of a bare reference, saying which on
/// stderr (one line).
pub fn resolve_image(image: &str, global: &GlobalArgs) -> Result<ImageSpec> {
    let (spec, note) = ImageSpec::parse(image, global.source)?.resolve();
    if let (Some(note), false) = (note, global.quiet) {
        eprintln!("layerscope: {}", escape_str(&note));
    }
    Ok(spec)
}

/// Load an image with the global options, showing progress on a terminal.
pub fn load_image(image: &str, global: &GlobalArgs) -> Result<LoadedImage> {
    load_image_with(image, global, false)
}

/// [`load_image`], running the secret rules over every file during the parse when asked.
pub fn load_image_with(image: &str, global: &GlobalArgs, secrets: bool) -> Result<LoadedImage> {
    global.image_choice()?;
    let spec = resolve_image(image, global)?;
    let mut options = load_options(global);
    options.secrets = secrets;
    let control = ParseControl::default();
    let mut bar = progress::ProgressBar::new(global.quiet, &control.transfers);
    // The commands read no file contents: stdin is parsed as it streams in, not spooled.
    let loaded = match &spec {
        ImageSpec::Path(path) if path == "-" => {
            crate::load::load_path(path, &options, &control, &mut |p| bar.update(p))
        }
        _ => load_spec(&spec, &options, &control, &mut |p| bar.update(p)).map(|o| o.loaded),
    };
    bar.finish();
    let loaded = loaded?;
    if !global.quiet {
        let mut stderr = io::stderr().lock();
        for warning in &loaded.warnings {
            let _ = writeln!(stderr, "layerscope: warning: {}", escape_str(warning));
        }
    }
    Ok(loaded)
}

/// The explorer's image-details pane: layerscope's score and its wasted paths explained.
pub(crate) fn tui_analysis(loaded: &LoadedImage) -> crate::tui::ImageAnalysis {
    let waste = crate::analysis::analyze(&loaded.tree, &Default::default());
    let instruction = |layer: usize| {
        loaded
            .image
            .history
            .layers
            .get(layer)
            .map_or_else(String::new, |h| redact_secrets(&h.instruction.display()))
    };
    crate::tui::ImageAnalysis {
        efficiency: waste.efficiency,
        wasted_bytes: waste.wasted_bytes,
        inefficient: waste
            .paths
            .iter()
            .map(|path| crate::tui::InefficientPath {
                path: path.path.clone(),
                wasted_bytes: path.wasted_bytes,
                explanation: path
                    .versions
                    .iter()
                    .map(|v| {
                        format!(
                            "layer {}: {} {} ({}){}",
                            v.layer,
                            v.action.as_str(),
                            crate::size::human(v.bytes),
                            instruction(v.layer),
                            if v.wasted { ", wasted" } else { ", kept" }
                        )
                    })
                    .collect(),
            })
            .collect(),
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
