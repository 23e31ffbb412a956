//! `fleet IMAGE…`: a set of images measured together ([`crate::analysis::fleet`]) as text,
//! JSON or markdown. The images load on every core through one [`ParsedLayers`]
//! ([`crate::load::load_set`]), so a layer several images have is parsed once, and each
//! image's tree is dropped as soon as it is measured.

use super::diff::cell;
use super::fleet_db::{self, Db, Scan};
use crate::analysis::fleet::{fleet, repeated, Branch, Fleet, ImageFacts};
use crate::analysis::glossary::{COMPRESSED_NAME, FINAL_FILESYSTEM_NAME, LAYER_CONTENT_NAME};
use crate::cli::{FleetAction, FleetArgs, FleetFormat, FleetReportArgs, GlobalArgs};
use crate::error::{Error, Result};
use crate::escape::escape_str;
use crate::load::ParsedLayers;
use crate::open::Opening;
use crate::size::human;
use crate::source::spec::ImageSpec;
use std::io::{self, Write};
use std::sync::Arc;

/// The JSON schema's name and version.
pub const SCHEMA: &str = "layerscope.fleet/v1";

/// Most images in one set: each costs a row, a load and its facts, and a `--from-file`
/// list is untrusted input.
pub const MAX_IMAGES: usize = 10_000;

/// Longest `--from-file` list read, in bytes.
const MAX_LIST_BYTES: u64 = 4 << 20;

/// Layers a text or markdown row of the sharing tree names before it says "and N more".
const NAMED_LAYERS: usize = 3;

/// An image that failed to open, and why (escaped, one line).
struct Failure {
    image: String,
    error: String,
}

/// A Compose service with no image to read, and why (escaped).
#[derive(Debug, PartialEq, Eq)]
struct Skipped {
    service: String,
    reason: String,
}

/// What the report lists besides the images: the ones that failed, the services skipped.
struct LeftOut {
    failures: Vec<Failure>,
    skipped: Vec<Skipped>,
}

pub fn run(args: &FleetArgs, global: &GlobalArgs, out: &mut dyn Write) -> Result<i32> {
    if let Some(FleetAction::Report(report)) = &args.action {
        return run_report(report, global, out);
    }
    let size_flag = |flag: &str, text: &Option<String>| {
        text.as_deref()
            .map(|text| {
                crate::ci::rules::parse_bytes(text).map_err(|reason| {
                    Error::Usage(format!("{flag} {}: {reason}", escape_str(text)))
                })
            })
            .transpose()
    };
    let cwd = std::env::current_dir().map_err(|e| Error::io("current directory", e))?;
    let config = crate::ci::config::CiConfig::load(args.config.as_deref(), &cwd)?;
    if !global.quiet {
        for warning in &config.warnings {
            eprintln!("layerscope: warning: {}", escape_str(warning));
        }
    }
    // The flags win over the config file's `fleet:` section.
    let max_pull = size_flag("--max-pull", &args.max_pull)?.or(config.fleet.max_pull);
    let max_unique = size_flag("--max-unique", &args.max_unique)?.or(config.fleet.max_unique);
    let Measured {
        set, parsed, left, ..
    } = measure(args, global)?;
    write_report(
        &set,
        parsed,
        &left,
        args.format,
        args.output.as_deref(),
        out,
    )?;

    let mut over = false;
    if let Some(limit) = max_pull.filter(|&l| set.totals.pull_bytes > l) {
        eprintln!(
            "layerscope: a fresh node pulls {} for the set, more than max-pull {}",
            human(set.totals.pull_bytes),
            human(limit)
        );
        over = true;
    }
    if let Some(limit) = max_unique {
        for image in set
            .images
            .iter()
            .filter(|i| i.unique.compressed_download > limit)
        {
            eprintln!(
                "layerscope: {} adds {} of its own, more than max-unique {}",
                image.name,
                human(image.unique.compressed_download),
                human(limit)
            );
            over = true;
        }
    }
    Ok(match (left.failures.is_empty(), over) {
        (false, _) => 2,
        (true, true) => 1,
        (true, false) => 0,
    })
}

/// Write the report of `set` in `format` to `output` (else `out`).
fn write_report(
    set: &Fleet,
    parsed: usize,
    left: &LeftOut,
    format: FleetFormat,
    output: Option<&std::path::Path>,
    out: &mut dyn Write,
) -> Result<()> {
    let (target, mut file) = match output {
        Some(path) => {
            let display = path.display().to_string();
            let file = std::fs::File::create(path).map_err(|e| Error::io(&display, e))?;
            (display, Some(io::BufWriter::new(file)))
        }
        None => ("stdout".to_string(), None),
    };
    let out: &mut dyn Write = match &mut file {
        Some(file) => file,
        None => out,
    };
    let write_error = |e| Error::io(&target, e);
    match format {
        FleetFormat::Text => write_text(set, parsed, left, out),
        FleetFormat::Json => write_json(set, parsed, left, out),
        FleetFormat::Markdown => write_markdown(set, parsed, left, out),
        FleetFormat::Html => write_html(set, parsed, left, out),
    }
    .map_err(write_error)?;
    out.flush().map_err(write_error)
}

/// `fleet report`: the stored scan's report, from the database alone. The parsed count is
/// the scan's distinct layers: what one `fleet` run over the set parses.
fn run_report(args: &FleetReportArgs, global: &GlobalArgs, out: &mut dyn Write) -> Result<i32> {
    let listed = !args.images.is_empty() || args.from_file.is_some() || args.compose.is_some();
    let names = if listed {
        Some(
            list_names(
                &args.images,
                args.from_file.as_deref(),
                args.compose.as_deref(),
            )?
            .0,
        )
    } else {
        None
    };
    let db = Db::open(args.db.as_str(), fleet_db::worker_id(None))?;
    let super::fleet_db::StoredScan { images, skipped } = db.read_scan(names.as_deref())?;
    let mut facts = Vec::new();
    let mut failures = Vec::new();
    for image in images {
        match image.facts {
            Some(image) => facts.push(image),
            None => failures.push(Failure {
                image: escape_str(&image.name).into_owned(),
                error: image.error,
            }),
        }
    }
    let set = fleet(&facts);
    let parsed = set.totals.distinct_layers;
    let left = LeftOut {
        failures,
        skipped: skipped
            .into_iter()
            .map(|(service, reason)| Skipped { service, reason })
            .collect(),
    };
    if !global.quiet {
        for s in &left.skipped {
            eprintln!(
                "layerscope: compose service {} skipped: {}",
                s.service, s.reason
            );
        }
    }
    write_report(
        &set,
        parsed,
        &left,
        args.format,
        args.output.as_deref(),
        out,
    )?;
    Ok(if left.failures.is_empty() { 0 } else { 2 })
}

/// `--shard I/N`, or `--shard N` with I from JOB_COMPLETION_INDEX: (I, N).
fn shard(text: &str) -> Result<(usize, usize)> {
    let bad = |why: String| Error::Usage(format!("--shard {}: {why}", escape_str(text)));
    let number = |part: &str, what: &str| {
        part.trim()
            .parse::<usize>()
            .map_err(|_| bad(format!("{what} is not a whole number")))
    };
    let (index, count) = match text.split_once('/') {
        Some((index, count)) => (number(index, "I")?, number(count, "N")?),
        None => {
            let count = number(text, "N")?;
            let index = std::env::var("JOB_COMPLETION_INDEX")
                .map_err(|_| bad("JOB_COMPLETION_INDEX is not set (give I/N)".into()))?;
            let index = index.trim().parse::<usize>().map_err(|_| {
                bad(format!(
                    "JOB_COMPLETION_INDEX {} is not a whole number",
                    escape_str(&index)
                ))
            })?;
            (index, count)
        }
    };
    if count == 0 {
        return Err(bad("N must be at least 1".into()));
    }
    if index >= count {
        return Err(bad(format!("I ({index}) must be less than N ({count})")));
    }
    Ok((index, count))
}

/// A set loaded and measured, with what was left out of it.
pub struct Measured {
    pub set: Fleet,
    /// The names the images opened under, as given (not escaped), in the order of
    /// `set.images`: what opens one of them again.
    pub opened: Vec<String>,
    /// Distinct layers parsed.
    pub parsed: usize,
    left: LeftOut,
}

impl Measured {
    /// One escaped line per image that failed to open and per Compose service skipped.
    pub fn left_out(&self) -> Vec<String> {
        let failed = self.left.failures.iter().map(|f| f.error.clone());
        let skipped = self
            .left
            .skipped
            .iter()
            .map(|s| format!("compose service {} skipped: {}", s.service, s.reason));
        failed.chain(skipped).collect()
    }

    /// Whether an image failed to open (with `--keep-going`): the exit code is then 2.
    pub fn failed(&self) -> bool {
        !self.left.failures.is_empty()
    }
}

/// Load and measure the set the arguments name (`IMAGE…`, `--from-file`, `--compose`,
/// `--all-tags`, `--keep-going`): the one way both the report and `fleet --tui` load it.
pub fn measure(args: &FleetArgs, global: &GlobalArgs) -> Result<Measured> {
    let (names, skipped) = image_names(args)?;
    if !global.quiet {
        for s in &skipped {
            eprintln!(
                "layerscope: compose service {} skipped: {}",
                s.service, s.reason
            );
        }
    }
    global.image_choice()?;

    let opening = super::opening(global);
    let names = if args.all_tags {
        every_tag(&names, &opening, args.tag_page)?
    } else {
        names
    };
    let shard = args.shard.as_deref().map(shard).transpose()?;
    let db = match &args.db {
        Some(url) => Some(Arc::new(Db::open(url, fleet_db::worker_id(shard))?)),
        None => None,
    };
    let scan = Scan::of(&names);
    if let Some(db) = &db {
        Db::keep_leases(db);
        let skipped: Vec<(String, String)> = skipped
            .iter()
            .map(|s| (s.service.clone(), s.reason.clone()))
            .collect();
        db.start_scan(&scan, &skipped)?;
    }
    // This worker's images, by their position in the whole list.
    let positions: Vec<usize> = match shard {
        Some((index, count)) => (0..names.len()).filter(|p| p % count == index).collect(),
        None => (0..names.len()).collect(),
    };
    let names: Vec<String> = positions.iter().map(|&p| names[p].clone()).collect();
    let layers = Arc::new(match &db {
        Some(db) => ParsedLayers::with_store(fleet_db::store(db)),
        None => ParsedLayers::new(),
    });
    let mut options = opening.load.clone();
    options.layers = Some(layers.clone());
    // Scanned in the parse, so once per distinct layer too; with a database, the package
    // databases are read in the same pass, and each image's packages stored.
    let secrets = crate::analysis::secrets::Scan::hook();
    options.content = Some(match db {
        Some(_) => Arc::new(crate::layer::Hooks(vec![
            secrets,
            crate::analysis::packages::Reader::hook(),
        ])),
        None => secrets,
    });
    let specs = names.iter().map(|name| opening.resolve(name)).collect();
    // The tree lives only while it is measured, on the thread that loaded it: the set
    // keeps per-layer facts. The warnings are shown in input order, as the facts are.
    let measure = |index: usize, loaded: Result<crate::load::LoadedImage>| {
        loaded.map(|loaded| {
            let facts = ImageFacts::of(&names[index], &loaded);
            let image = &loaded.image;
            let platform = image.platform.as_ref().map(|p| p.to_string());
            let described = (platform.unwrap_or_default(), image.config_digest.clone());
            let packages = match db {
                Some(_) => crate::analysis::packages::analyze(&loaded).packages,
                None => Vec::new(),
            };
            (facts, loaded.warnings, described, packages)
        })
    };
    let mut facts = Vec::with_capacity(names.len());
    let mut failures = Vec::new();
    let mut stopped = None;
    crate::load::load_set(specs, &options, &measure, &mut |index, loaded| {
        let name = &names[index];
        let stored = |loaded: std::result::Result<(&ImageFacts, String, String), &str>,
                      packages: &[crate::analysis::packages::Package]| {
            db.as_ref().map_or(Ok(()), |db| {
                db.store_image(&scan, positions[index], name, loaded, packages)
            })
        };
        match loaded {
            Ok((image, warnings, (platform, config), packages)) => {
                super::show_warnings(&warnings, opening.quiet);
                let described = (&image, platform, config.unwrap_or_default());
                if let Err(error) = stored(Ok(described), &packages) {
                    stopped = Some(error);
                    return false;
                }
                facts.push(image);
            }
            Err(Error::Interrupted) => {
                stopped = Some(Error::Interrupted);
                return false;
            }
            Err(error) => {
                let error = naming(name, error);
                if !args.keep_going {
                    stopped = Some(error);
                    return false;
                }
                super::report_error(&error, global.verbose);
                let error = escape_str(&error.to_string()).into_owned();
                if let Err(error) = stored(Err(&error), &[]) {
                    stopped = Some(error);
                    return false;
                }
                failures.push(Failure {
                    image: escape_str(name).into_owned(),
                    error,
                });
            }
        }
        true
    });
    if let Some(error) = stopped {
        return Err(error);
    }
    if let Some(db) = &db {
        db.check()?;
    }
    // The images that opened, as named: every name but the failures (which keep it escaped).
    let failed: std::collections::HashSet<&str> =
        failures.iter().map(|f| f.image.as_str()).collect();
    let opened = names
        .iter()
        .filter(|name| !failed.contains(escape_str(name).as_ref()))
        .cloned()
        .collect();
    Ok(Measured {
        set: fleet(&facts),
        opened,
        parsed: layers.parsed(),
        left: LeftOut { failures, skipped },
    })
}

/// An error that names the image it came from: prefixed with the image unless its message
/// already starts with it (a file's errors name the file).
fn naming(name: &str, error: Error) -> Error {
    if error.to_string().starts_with(name) {
        error
    } else {
        Error::InImage {
            image: name.to_string(),
            source: Box::new(error),
        }
    }
}

/// The images of the set: the arguments, then `--from-file`'s lines, then `--compose`'s
/// images (with the services skipped). A name given twice, stdin twice, an empty set or
/// one past [`MAX_IMAGES`] is a usage error.
fn image_names(args: &FleetArgs) -> Result<(Vec<String>, Vec<Skipped>)> {
    list_names(
        &args.images,
        args.from_file.as_deref(),
        args.compose.as_deref(),
    )
}

/// [`image_names`] from its three parts, which `fleet report` names too.
fn list_names(
    images: &[String],
    from_file: Option<&std::path::Path>,
    compose: Option<&std::path::Path>,
) -> Result<(Vec<String>, Vec<Skipped>)> {
    let mut names = images.to_vec();
    if let Some(path) = from_file {
        let text = read_list(path)?;
        names.extend(
            text.lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .map(String::from),
        );
    }
    let mut skipped = Vec::new();
    if let Some(path) = compose {
        let display = path.display().to_string();
        let text = read_list(path)?;
        let (images, left_out) = compose_images(&text).map_err(|reason| {
            Error::Usage(format!("--compose {}: {reason}", escape_str(&display)))
        })?;
        names.extend(images);
        skipped = left_out;
    }
    if names.is_empty() {
        return Err(Error::Usage(
            "fleet: name at least one image (IMAGE…, --from-file LIST or --compose FILE)".into(),
        ));
    }
    if names.len() > MAX_IMAGES {
        return Err(Error::Usage(format!(
            "fleet: {} images, more than the limit of {MAX_IMAGES}",
            names.len()
        )));
    }
    if let Some(name) = repeated(&names).first() {
        let what = if *name == "-" {
            "stdin can be read only once".to_string()
        } else {
            format!("{} is named twice", escape_str(name))
        };
        return Err(Error::Usage(format!("fleet: {what}")));
    }
    Ok((names, skipped))
}

/// A Compose file, as much of it as names images: `services.NAME.image` and whether the
/// service has a `build:` (the Compose specification, "services").
#[derive(serde::Deserialize)]
struct ComposeFile {
    #[serde(default)]
    services: std::collections::BTreeMap<String, Option<ComposeService>>,
}

#[derive(serde::Deserialize)]
struct ComposeService {
    image: Option<String>,
    build: Option<serde::de::IgnoredAny>,
}

/// The images a Compose file's services name, in service-name order, and the services
/// with none (escaped).
fn compose_images(text: &str) -> std::result::Result<(Vec<String>, Vec<Skipped>), String> {
    let file: ComposeFile =
        serde_saphyr::from_str(text).map_err(|e| crate::ci::config::one_line_yaml_error(&e))?;
    let mut images = Vec::new();
    let mut skipped = Vec::new();
    for (service, definition) in file.services {
        let (image, build) = match definition {
            Some(ComposeService { image, build }) => (image, build.is_some()),
            None => (None, false),
        };
        let reason = match image {
            // Compose interpolates these from the environment and `.env` when it runs.
            Some(image) if image.contains('$') => format!(
                "its image {} uses ${{…}} variables, which fleet does not expand",
                escape_str(&image)
            ),
            Some(image) => {
                images.push(image);
                continue;
            }
            None if build => {
                "it has only build:, no image: to read (build it, then name its tag)".into()
            }
            None => "it names no image".into(),
        };
        skipped.push(Skipped {
            service: escape_str(&service).into_owned(),
            reason,
        });
    }
    Ok((images, skipped))
}

/// `--all-tags`: each registry image replaced by every tag of its repository. Another
/// kind of image is a usage error; a set past [`MAX_IMAGES`] too.
fn every_tag(names: &[String], opening: &Opening, page: usize) -> Result<Vec<String>> {
    let mut all = Vec::new();
    for name in names {
        let reference = match opening.resolve(name)? {
            ImageSpec::Registry(reference) => reference,
            _ => {
                return Err(Error::Usage(format!(
                    "--all-tags: {} is not a registry image (registry://HOST/REPO)",
                    escape_str(name)
                )))
            }
        };
        let tags = crate::source::registry::tags(&reference, &opening.load.registry, page)?;
        let repository = format!("{}/{}", reference.registry(), reference.repository());
        all.extend(
            tags.iter()
                .map(|tag| format!("registry://{repository}:{tag}")),
        );
        if all.len() > MAX_IMAGES {
            return Err(Error::Usage(format!(
                "fleet: more than the limit of {MAX_IMAGES} images with --all-tags"
            )));
        }
    }
    Ok(all)
}

/// A `--from-file` list or a `--compose` file, at most [`MAX_LIST_BYTES`].
fn read_list(path: &std::path::Path) -> Result<String> {
    let display = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::io(&display, e))?;
    let mut text = String::new();
    io::Read::read_to_string(&mut io::Read::take(file, MAX_LIST_BYTES + 1), &mut text)
        .map_err(|e| Error::io(&display, e))?;
    if text.len() as u64 > MAX_LIST_BYTES {
        return Err(Error::Usage(format!(
            "{}: longer than {MAX_LIST_BYTES} bytes",
            escape_str(&display)
        )));
    }
    Ok(text)
}

/// At most [`NAMED_LAYERS`] short keys, then how many more.
fn layer_list(keys: &[String]) -> String {
    let mut text: Vec<&str> = keys.iter().take(NAMED_LAYERS).map(|k| short(k)).collect();
    let more;
    if keys.len() > NAMED_LAYERS {
        more = format!("and {} more", keys.len() - NAMED_LAYERS);
        text.push(&more);
    }
    text.join(", ")
}

/// A diff_id's first 12 hex digits.
fn short(key: &str) -> &str {
    let hex = key.strip_prefix("sha256:").unwrap_or(key);
    hex.get(..12).unwrap_or(hex)
}

fn percent(efficiency: f64) -> String {
    format!("{:.1} %", efficiency * 100.0)
}

/// `1 layer`, `2 layers`; `1 image`, `3 images`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn layers(n: usize) -> String {
    count(n, "layer")
}

fn write_text(set: &Fleet, parsed: usize, left: &LeftOut, out: &mut dyn Write) -> io::Result<()> {
    let t = &set.totals;
    writeln!(
        out,
        "{} images, {} layer references, {} distinct layers ({} parsed), {} shared by two or more",
        t.images, t.layer_references, t.distinct_layers, parsed, t.shared_layers
    )?;
    writeln!(
        out,
        "pull for a fresh node: {} (each distinct layer once), against {} pulling each image alone",
        human(t.pull_bytes),
        human(t.naive_pull_bytes)
    )?;
    writeln!(
        out,
        "stored: {} (each distinct blob once, what a registry keeps)",
        human(t.stored_bytes)
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "images ({COMPRESSED_NAME}; unique: in no other image of the set):"
    )?;
    for image in &set.images {
        writeln!(out, "  {}", image.name)?;
        writeln!(
            out,
            "    {}, {COMPRESSED_NAME} {}, {LAYER_CONTENT_NAME} {}, {FINAL_FILESYSTEM_NAME} {}",
            layers(image.layers.len()),
            human(image.size.compressed_download),
            human(image.size.layer_content),
            human(image.final_filesystem)
        )?;
        writeln!(
            out,
            "    unique {}, shared {}, efficiency {}, wasted {}, {}",
            human(image.unique.compressed_download),
            human(image.shared.compressed_download),
            percent(image.efficiency),
            human(image.wasted_bytes),
            count(image.secret_findings, "secret finding")
        )?;
        match &image.base {
            Some(base) => writeln!(
                out,
                "    base: {} ({}) shared with {}",
                layers(base.layers),
                human(base.bytes.compressed_download),
                base.image
            )?,
            None => writeln!(out, "    base: shares no bottom layer with another image")?,
        }
    }
    let shared: Vec<_> = set
        .layers
        .iter()
        .filter(|(_, row)| row.images.len() > 1)
        .collect();
    if !shared.is_empty() {
        writeln!(out)?;
        writeln!(out, "shared layers:")?;
        for (key, row) in shared {
            writeln!(
                out,
                "  {}  {}  {} images: {}",
                short(key),
                human(row.compressed_download),
                row.images.len(),
                row.images.join(", ")
            )?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "sharing tree ({COMPRESSED_NAME} of each run of layers):"
    )?;
    walk(&set.tree, 0, &mut |b, depth| {
        let ends = if b.ends.is_empty() {
            String::new()
        } else {
            format!("  = {}", b.ends.join(", "))
        };
        writeln!(
            out,
            "{:indent$}{} {} ({}), {}{ends}",
            "",
            human(b.bytes.compressed_download),
            layers(b.layers.len()),
            layer_list(&b.layers),
            count(b.images.len(), "image"),
            indent = 2 + depth * 2
        )
    })?;
    if !left.failures.is_empty() {
        writeln!(out)?;
        writeln!(out, "left out, failed to open:")?;
        for failure in &left.failures {
            writeln!(out, "  {}", failure.error)?;
        }
    }
    if !left.skipped.is_empty() {
        writeln!(out)?;
        writeln!(out, "compose services skipped:")?;
        for s in &left.skipped {
            writeln!(out, "  {}: {}", s.service, s.reason)?;
        }
    }
    Ok(())
}

/// Each branch of the sharing tree with its depth, parents before children.
fn walk(
    branches: &[Branch],
    depth: usize,
    line: &mut dyn FnMut(&Branch, usize) -> io::Result<()>,
) -> io::Result<()> {
    for branch in branches {
        line(branch, depth)?;
        walk(&branch.children, depth + 1, line)?;
    }
    Ok(())
}

fn write_json(set: &Fleet, parsed: usize, left: &LeftOut, out: &mut dyn Write) -> io::Result<()> {
    let mut totals = serde_json::to_value(&set.totals)?;
    totals["layers_parsed"] = parsed.into();
    let value = serde_json::json!({
        "schema": SCHEMA,
        "totals": totals,
        "images": set.images,
        "layers": set.layers,
        "tree": set.tree,
        "failed": left.failures
            .iter()
            .map(|f| serde_json::json!({"image": f.image, "error": f.error}))
            .collect::<Vec<_>>(),
        "skipped": left.skipped
            .iter()
            .map(|s| serde_json::json!({"service": s.service, "reason": s.reason}))
            .collect::<Vec<_>>(),
    });
    serde_json::to_writer_pretty(&mut *out, &value)?;
    writeln!(out)
}

fn write_html(set: &Fleet, parsed: usize, left: &LeftOut, out: &mut dyn Write) -> io::Result<()> {
    let left = crate::report::fleet::LeftOut {
        failed: left
            .failures
            .iter()
            .map(|f| (f.image.as_str(), f.error.as_str()))
            .collect(),
        skipped: left
            .skipped
            .iter()
            .map(|s| (s.service.as_str(), s.reason.as_str()))
            .collect(),
    };
    out.write_all(crate::report::fleet::page(set, parsed, &left).as_bytes())
}

fn write_markdown(
    set: &Fleet,
    parsed: usize,
    left: &LeftOut,
    out: &mut dyn Write,
) -> io::Result<()> {
    let t = &set.totals;
    writeln!(out, "## layerscope fleet")?;
    writeln!(out)?;
    writeln!(
        out,
        "{} images, {} distinct layers ({} parsed), {} shared. A fresh node pulls **{}** \
         (each layer once) against {} image by image; a registry stores {}.",
        t.images,
        t.distinct_layers,
        parsed,
        t.shared_layers,
        human(t.pull_bytes),
        human(t.naive_pull_bytes),
        human(t.stored_bytes)
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "| Image | Layers | {} | {} | {} | Unique | Shared | Efficiency | Wasted | Secrets | Base |",
        crate::analysis::glossary::capitalise(COMPRESSED_NAME),
        crate::analysis::glossary::capitalise(LAYER_CONTENT_NAME),
        crate::analysis::glossary::capitalise(FINAL_FILESYSTEM_NAME),
    )?;
    writeln!(
        out,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    )?;
    for image in &set.images {
        let base = match &image.base {
            Some(b) => format!("{} with `{}`", layers(b.layers), cell(&b.image)),
            None => "none".into(),
        };
        writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&image.name),
            image.layers.len(),
            human(image.size.compressed_download),
            human(image.size.layer_content),
            human(image.final_filesystem),
            human(image.unique.compressed_download),
            human(image.shared.compressed_download),
            percent(image.efficiency),
            human(image.wasted_bytes),
            image.secret_findings,
            base
        )?;
    }
    writeln!(out)?;
    writeln!(out, "### Sharing tree")?;
    writeln!(out)?;
    walk(&set.tree, 0, &mut |b, depth| {
        let ends = if b.ends.is_empty() {
            String::new()
        } else {
            let ends: Vec<String> = b.ends.iter().map(|e| format!("`{}`", cell(e))).collect();
            format!(": {}", ends.join(", "))
        };
        writeln!(
            out,
            "{:indent$}- {} in {}, {}{ends}",
            "",
            human(b.bytes.compressed_download),
            layers(b.layers.len()),
            count(b.images.len(), "image"),
            indent = depth * 2
        )
    })?;
    if !left.failures.is_empty() {
        writeln!(out)?;
        writeln!(out, "Left out, failed to open:")?;
        writeln!(out)?;
        for failure in &left.failures {
            writeln!(out, "- {}", cell(&failure.error))?;
        }
    }
    if !left.skipped.is_empty() {
        writeln!(out)?;
        writeln!(out, "Compose services skipped:")?;
        writeln!(out)?;
        for s in &left.skipped {
            writeln!(out, "- `{}`: {}", cell(&s.service), cell(&s.reason))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_services_give_their_images_and_the_rest_are_skipped_with_a_reason() {
        let text = "name: shop\nservices:\n  web:\n    image: registry.example/web:1.2\n    ports: [\"80:80\"]\n  api:\n    build: ./api\n  worker:\n    image: registry.example/worker:3\n    build:\n      context: ./worker\n  db:\n    image: postgres:${PG_VERSION:-16}\n  empty:\nx-common:\n  labels: {a: b}\n";
        let (images, skipped) = compose_images(text).unwrap();
        assert_eq!(
            images,
            ["registry.example/web:1.2", "registry.example/worker:3"]
        );
        let services: Vec<&str> = skipped.iter().map(|s| s.service.as_str()).collect();
        assert_eq!(services, ["api", "db", "empty"]);
        assert!(skipped[0].reason.contains("only build:"));
        assert!(skipped[1].reason.contains("variables"));
        assert!(compose_images("services: [1, 2]").is_err());
    }
}
