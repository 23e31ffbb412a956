//! `diff A B`: the comparison of two images ([`crate::analysis::compare`]) as text, JSON
//! or markdown; with `--tui`, [`crate::dispatch`] opens the same comparison in the
//! comparison view.

use super::progress::ProgressBar;
use crate::analysis::compare::{compare, Comparison, PathState};
use crate::analysis::glossary::capitalise;
use crate::analysis::packages::{self, Package};
use crate::cli::{DiffArgs, DiffFormat, GlobalArgs};
use crate::error::{Error, Result};
use crate::escape::{escape_bytes, escape_str};
use crate::explore::compare::CompareView;
use crate::image::{self, OpenOptions};
use crate::layer::ParseControl;
use crate::load::{load_all, LoadOptions, LoadedImage};
use crate::size::{human, signed};
use crate::source::Source;
use crate::tree::DiffKind;
use std::io::{self, Write};

/// The JSON schema's name and version.
pub const SCHEMA: &str = "layerscope.diff/v1";

/// Paths added or removed at or above this size are listed in the summary.
const LARGE: u64 = 1_000_000;
/// How many growers the summary names.
const GROWERS: usize = 10;
/// Markdown rows of changes before the table is cut (a PR comment has a size limit).
const MARKDOWN_ROWS: usize = 100;

pub fn run(args: &DiffArgs, global: &GlobalArgs, out: &mut dyn Write) -> Result<i32> {
    let growth_limit = args
        .fail_on_growth
        .as_deref()
        .map(|text| {
            crate::ci::rules::parse_bytes(text).map_err(|reason| {
                Error::Usage(format!("--fail-on-growth {}: {reason}", escape_str(text)))
            })
        })
        .transpose()?;
    let hook = Some(packages::Reader::hook());
    let (a, b) = load_pair(open_pair(&args.a, &args.b, global)?, global, hook)?;
    let comparison = compare(&a, &b);
    let package_changes = package_changes(&a, &b, global.quiet);
    let write_error = |e| Error::io("stdout", e);
    match args.format {
        DiffFormat::Text => write_text(&a, &b, &comparison, args.long, out)
            .and_then(|()| write_packages_text(&package_changes, out)),
        DiffFormat::Json => write_json(&a, &b, &comparison, &package_changes, out),
        DiffFormat::Markdown => write_markdown(&a, &b, &comparison, args.long, out),
    }
    .map_err(write_error)?;
    let grew_too_much = growth_limit.is_some_and(|limit| {
        comparison.totals.size_b > comparison.totals.size_a.saturating_add(limit)
    });
    if grew_too_much {
        eprintln!(
            "layerscope: B is {} larger than A, more than --fail-on-growth allows",
            human(comparison.totals.delta.unsigned_abs())
        );
    }
    Ok(if grew_too_much { 1 } else { 0 })
}

/// Open, load and compare A and B as `diff` does, into the comparison view's model.
pub fn compare_view(a: &str, b: &str, global: &GlobalArgs) -> Result<CompareView> {
    load_view(open_pair(a, b, global)?, a, b, global)
}

pub(crate) fn load_view(
    opened: [(Source, image::Image); 2],
    a: &str,
    b: &str,
    global: &GlobalArgs,
) -> Result<CompareView> {
    let (loaded_a, loaded_b) = load_pair(opened, global, None)?;
    let comparison = compare(&loaded_a, &loaded_b);
    CompareView::new(loaded_a, loaded_b, comparison).map_err(|source| Error::Limit {
        path: format!("{a} and {b}"),
        at: "the merged tree of both".into(),
        source,
    })
}

/// `--image A:NAME` / `--image B:NAME`; a bare `--image NAME` applies to both.
fn image_choices(global: &GlobalArgs) -> Result<(Option<String>, Option<String>)> {
    let (mut a, mut b) = (None, None);
    for choice in &global.select_image {
        let (slot, name) = if let Some(name) = choice.strip_prefix("A:") {
            (&mut a, name)
        } else if let Some(name) = choice.strip_prefix("B:") {
            (&mut b, name)
        } else {
            if global.select_image.len() > 1 {
                return Err(Error::Usage(format!(
                    "--image {}: with two --image options, say which side each is for: \
                     --image A:NAME --image B:NAME",
                    escape_str(choice)
                )));
            }
            a = Some(choice.clone());
            b = Some(choice.clone());
            continue;
        };
        if slot.is_some() {
            return Err(Error::Usage(format!(
                "--image {}: that side already has an image choice",
                escape_str(choice)
            )));
        }
        *slot = Some(name.to_string());
    }
    Ok((a, b))
}

/// Open both images: their descriptions are read (a missing file, a bad archive or an
/// image choice that matches nothing fails here), their layers are not parsed yet.
pub(crate) fn open_pair(
    a: &str,
    b: &str,
    global: &GlobalArgs,
) -> Result<[(Source, image::Image); 2]> {
    let (image_a, image_b) = image_choices(global)?;
    if a == "-" && b == "-" {
        return Err(Error::Usage(
            "diff: only one of A and B can be read from stdin".into(),
        ));
    }
    let open = |path: &str, choice: Option<String>| -> Result<(Source, image::Image)> {
        let source = Source::open(path)?;
        let options = OpenOptions {
            platform: global.platform.clone(),
            image: choice,
            verify: !global.no_verify,
        };
        let image = image::open(&source, &options)?;
        Ok((source, image))
    };
    Ok([open(a, image_a)?, open(b, image_b)?])
}

/// Load both opened images together: one pool of parser threads, and layers the two share
/// (same diff_id) parsed once.
fn load_pair(
    opened: [(Source, image::Image); 2],
    global: &GlobalArgs,
    content: Option<std::sync::Arc<dyn crate::layer::ContentHook>>,
) -> Result<(LoadedImage, LoadedImage)> {
    let [(source_a, opened_a), (source_b, opened_b)] = opened;
    let options = LoadOptions {
        verify: !global.no_verify,
        threads: 0,
        expansion: global.expansion(),
        content,
        ..Default::default()
    };
    let control = ParseControl::default();
    let mut bar = ProgressBar::new(global.quiet, &control.transfers);
    let loaded = load_all(
        vec![(&source_a, opened_a), (&source_b, opened_b)],
        &options,
        &control,
        &mut |p| bar.update(p),
    );
    bar.finish();
    let mut loaded = loaded?;
    let b = loaded.pop().expect("two images were loaded");
    let a = loaded.pop().expect("two images were loaded");
    if !global.quiet {
        let mut stderr = io::stderr().lock();
        for (side, image) in [("A", &a), ("B", &b)] {
            for warning in &image.warnings {
                let _ = writeln!(
                    stderr,
                    "layerscope: warning: {side}: {}",
                    escape_str(warning)
                );
            }
        }
    }
    Ok((a, b))
}

/// The package changes from A to B ([`packages::compare`]); `None` when neither image has
/// a package database. Databases that could not be read are warned about on stderr.
fn package_changes(a: &LoadedImage, b: &LoadedImage, quiet: bool) -> Option<packages::Changes> {
    let (found_a, found_b) = (packages::analyze(a), packages::analyze(b));
    if !quiet {
        let mut stderr = io::stderr().lock();
        for (side, found) in [("A", &found_a), ("B", &found_b)] {
            for warning in &found.warnings {
                let _ = writeln!(stderr, "layerscope: warning: {side}: {warning}");
            }
        }
    }
    (!found_a.packages.is_empty() || !found_b.packages.is_empty())
        .then(|| packages::compare(&found_a, &found_b))
}

/// B's bytes minus A's, for an upgraded package.
fn package_delta(old: &Package, new: &Package) -> i64 {
    i64::try_from(new.bytes)
        .unwrap_or(i64::MAX)
        .saturating_sub(i64::try_from(old.bytes).unwrap_or(i64::MAX))
}

/// The package changes, as dredge and Docker Scout list them, with the bytes each package
/// measures in the image that has it.
fn write_packages_text(changes: &Option<packages::Changes>, out: &mut dyn Write) -> io::Result<()> {
    let Some(changes) = changes else {
        return Ok(());
    };
    let sum = |list: &[Package]| list.iter().map(|p| p.bytes).fold(0, u64::saturating_add);
    let upgraded: i64 = changes
        .upgraded
        .iter()
        .map(|(old, new)| package_delta(old, new))
        .fold(0, i64::saturating_add);
    writeln!(out)?;
    writeln!(
        out,
        "Packages: {} added ({}), {} removed ({}), {} upgraded ({})",
        changes.added.len(),
        human(sum(&changes.added)),
        changes.removed.len(),
        human(sum(&changes.removed)),
        changes.upgraded.len(),
        signed(upgraded)
    )?;
    let line = |sign: char, p: &Package| {
        format!(
            "{sign} {:>9}  {} {} ({})",
            human(p.bytes),
            escape_str(&p.name),
            escape_str(&p.version),
            p.manager.name()
        )
    };
    for p in &changes.added {
        writeln!(out, "{}", line('+', p))?;
    }
    for p in &changes.removed {
        writeln!(out, "{}", line('-', p))?;
    }
    for (old, new) in &changes.upgraded {
        writeln!(
            out,
            "^ {:>9}  {} {} -> {} ({}, {} -> {})",
            signed(package_delta(old, new)),
            escape_str(&new.name),
            escape_str(&old.version),
            escape_str(&new.version),
            new.manager.name(),
            human(old.bytes),
            human(new.bytes)
        )?;
    }
    Ok(())
}

fn paths(count: usize) -> String {
    if count == 1 {
        "1 path".into()
    } else {
        format!("{count} paths")
    }
}

fn describe(image: &LoadedImage) -> String {
    let platform = image
        .image
        .platform
        .as_ref()
        .map_or_else(|| "unknown platform".to_string(), |p| p.to_string());
    format!(
        "{} ({}, {}, {} layers)",
        escape_str(&image.image.source),
        image.image.format.name(),
        platform,
        image.layers.len()
    )
}

fn short_digest(digest: &str) -> &str {
    let end = digest.len().min("sha256:".len() + 12);
    &digest[..end]
}

fn write_text(
    a: &LoadedImage,
    b: &LoadedImage,
    comparison: &Comparison,
    long: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let totals = &comparison.totals;
    writeln!(out, "A: {}", describe(a))?;
    writeln!(out, "B: {}", describe(b))?;
    writeln!(out)?;
    let shared_bytes: u64 = comparison
        .shared
        .iter()
        .map(|s| s.content_bytes)
        .fold(0, u64::saturating_add);
    writeln!(
        out,
        "Shared layers: {} ({} of content, uncompressed)",
        comparison.shared.len(),
        human(shared_bytes)
    )?;
    writeln!(
        out,
        "  {}",
        comparison.divergence_sentence(&|t| format!("`{}`", escape_str(t)))
    )?;
    if !comparison.shared.is_empty() {
        writeln!(
            out,
            "  {:>3} {:>3}  {:<19} {:>9} {:>9} {:>9} {:>9}",
            "A", "B", "DIFF_ID", "CONTENT", "TAR", "STORED A", "STORED B"
        )?;
        for shared in &comparison.shared {
            writeln!(
                out,
                "  {:>3} {:>3}  {:<19} {:>9} {:>9} {:>9} {:>9}",
                shared.index_a,
                shared.index_b,
                short_digest(&shared.diff_id),
                human(shared.content_bytes),
                human(shared.uncompressed_bytes),
                human(shared.compressed_bytes_a),
                human(shared.compressed_bytes_b)
            )?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "Changes (paths, directories included): {} added, {} changed, {} deleted",
        totals.added, totals.modified, totals.removed
    )?;
    for change in &comparison.changes {
        write!(
            out,
            "{} {:>9}  {}",
            change.kind.letter(),
            signed(change.delta()),
            escape_bytes(&change.path)
        )?;
        if long {
            write!(out, "  ({})", change.detail())?;
        }
        writeln!(out)?;
    }
    writeln!(out)?;
    writeln!(out, "Summary:")?;
    for q in comparison.quantities() {
        writeln!(
            out,
            "  {:<20} {}: {} ({} -> {} bytes)",
            format!("{}:", q.name),
            q.change("->"),
            q.means,
            q.a,
            q.b
        )?;
    }
    if totals.listed_delta != totals.delta {
        writeln!(
            out,
            "  as listed: {} (a hardlink counts at every path, as `ls -l` adds them)",
            signed(totals.listed_delta)
        )?;
    }
    writeln!(
        out,
        "  B adds {} in {} and drops {} in {}",
        human(totals.bytes_added),
        paths(totals.added),
        human(totals.bytes_removed),
        paths(totals.removed)
    )?;
    let dirs = comparison.largest_growing_directories(GROWERS);
    if !dirs.is_empty() {
        writeln!(out, "  directories that grew most:")?;
        for (path, delta) in dirs {
            writeln!(out, "    {:>9}  {}", signed(*delta), escape_bytes(path))?;
        }
    }
    let growers = comparison.largest_growers(GROWERS);
    if !growers.is_empty() {
        writeln!(out, "  paths that grew most:")?;
        for change in growers {
            writeln!(
                out,
                "    {:>9}  {}",
                signed(change.delta()),
                escape_bytes(&change.path)
            )?;
        }
    }
    let large = comparison.large_additions_and_removals(LARGE);
    if !large.is_empty() {
        writeln!(out, "  added or removed, {} or more:", human(LARGE))?;
        for change in large {
            writeln!(
                out,
                "    {} {:>9}  {}",
                change.kind.letter(),
                signed(change.delta()),
                escape_bytes(&change.path)
            )?;
        }
    }
    Ok(())
}

fn write_json(
    a: &LoadedImage,
    b: &LoadedImage,
    comparison: &Comparison,
    package_changes: &Option<packages::Changes>,
    out: &mut dyn Write,
) -> io::Result<()> {
    use serde_json::{json, Value};
    let package = |p: &Package| {
        json!({
            "manager": p.manager,
            "name": escape_str(&p.name),
            "version": escape_str(&p.version),
            "bytes": p.bytes,
            "files": p.files,
        })
    };
    let packages = package_changes.as_ref().map(|c| {
        json!({
            "added": c.added.iter().map(package).collect::<Vec<_>>(),
            "removed": c.removed.iter().map(package).collect::<Vec<_>>(),
            "upgraded": c.upgraded.iter().map(|(old, new)| json!({
                "manager": new.manager,
                "name": escape_str(&new.name),
                "from": escape_str(&old.version),
                "to": escape_str(&new.version),
                "bytes_a": old.bytes,
                "bytes_b": new.bytes,
                "delta": package_delta(old, new),
            })).collect::<Vec<_>>(),
        })
    });
    let image = |image: &LoadedImage, size: u64| {
        json!({
            "source": escape_str(&image.image.source),
            "format": image.image.format.name(),
            "tags": image.image.tags.iter().map(|t| escape_str(t)).collect::<Vec<_>>(),
            "platform": image.image.platform.as_ref().map(|p| p.to_string()),
            "layers": image.layers.len(),
            "size": size,
        })
    };
    let state = |s: &Option<PathState>| -> Value {
        match s {
            None => Value::Null,
            Some(s) => json!({
                "mode": s.mode,
                "uid": s.uid,
                "gid": s.gid,
                "size": s.size,
                "link": if s.link.is_empty() { Value::Null } else { Value::from(escape_bytes(&s.link)) },
            }),
        }
    };
    let kind = |k: DiffKind| match k {
        DiffKind::Added => "added",
        DiffKind::Modified => "modified",
        DiffKind::Removed => "removed",
        DiffKind::Unchanged => "unchanged",
    };
    let totals = &comparison.totals;
    let document = json!({
        "schema": SCHEMA,
        "a": image(a, totals.size_a),
        "b": image(b, totals.size_b),
        "shared_layers": comparison.shared.iter().map(|s| json!({
            "diff_id": s.diff_id,
            "index_a": s.index_a,
            "index_b": s.index_b,
            "uncompressed_bytes": s.uncompressed_bytes,
            "content_bytes": s.content_bytes,
            "compressed_bytes_a": s.compressed_bytes_a,
            "compressed_bytes_b": s.compressed_bytes_b,
        })).collect::<Vec<_>>(),
        "common_base_layers": comparison.common_base,
        "common_base_bytes": comparison.common_base_bytes(),
        "common_base_content_bytes": comparison.common_base_content_bytes(),
        "diverge_at": comparison.diverge.as_ref().map(|d| json!({
            "layer": d.layer,
            "a_instruction": d.a_instruction.as_deref().map(escape_str),
            "b_instruction": d.b_instruction.as_deref().map(escape_str),
        })),
        "changes": comparison.changes.iter().map(|c| json!({
            "path": escape_bytes(&c.path),
            "change": kind(c.kind),
            "delta": c.delta(),
            "a": state(&c.a),
            "b": state(&c.b),
        })).collect::<Vec<_>>(),
        "directories": comparison.directories.iter().map(|(path, delta)| json!({
            "path": escape_bytes(path),
            "delta": delta,
        })).collect::<Vec<_>>(),
        "totals": totals,
        "packages": packages,
    });
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

/// Markdown table cells: no raw `|` or newlines.
pub(crate) fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn write_markdown(
    a: &LoadedImage,
    b: &LoadedImage,
    comparison: &Comparison,
    long: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let totals = &comparison.totals;
    writeln!(out, "## layerscope diff")?;
    writeln!(out)?;
    let quantities = comparison.quantities();
    write!(out, "| | Image | Layers |")?;
    for q in &quantities {
        write!(out, " {} |", capitalise(q.name))?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "| --- | --- | ---: |{}",
        " ---: |".repeat(quantities.len())
    )?;
    for (side, image) in [("A", a), ("B", b)] {
        write!(
            out,
            "| {side} | `{}` | {} |",
            cell(&escape_str(&image.image.source)),
            image.layers.len(),
        )?;
        for q in &quantities {
            write!(out, " {} |", human(if side == "A" { q.a } else { q.b }))?;
        }
        writeln!(out)?;
    }
    writeln!(out)?;
    for q in &quantities {
        writeln!(
            out,
            "- **{}** ({}): {} ({} → {} bytes).",
            capitalise(q.name),
            q.means,
            q.change("→"),
            q.a,
            q.b
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "**Changes** (paths, directories included): {} added, {} changed, {} deleted.",
        totals.added, totals.modified, totals.removed
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "**Shared layers:** {}: {}.",
        comparison.shared.len(),
        comparison.divergence_sentence(&|t| format!("`{}`", cell(&escape_str(t))))
    )?;
    writeln!(out)?;
    if !comparison.changes.is_empty() {
        writeln!(
            out,
            "| | Path | Delta |{}",
            if long { " Details |" } else { "" }
        )?;
        writeln!(
            out,
            "| --- | --- | ---: |{}",
            if long { " --- |" } else { "" }
        )?;
        for change in comparison.changes.iter().take(MARKDOWN_ROWS) {
            write!(
                out,
                "| {} | `{}` | {} |",
                change.kind.letter(),
                cell(&escape_bytes(&change.path)),
                signed(change.delta())
            )?;
            if long {
                write!(out, " {} |", cell(&change.detail()))?;
            }
            writeln!(out)?;
        }
        if comparison.changes.len() > MARKDOWN_ROWS {
            writeln!(out)?;
            writeln!(
                out,
                "…and {} more changed paths (see `layerscope diff` for all).",
                comparison.changes.len() - MARKDOWN_ROWS
            )?;
        }
        writeln!(out)?;
    }
    let growers = comparison.largest_growing_directories(GROWERS);
    if !growers.is_empty() {
        writeln!(
            out,
            "<details><summary>Directories that grew most</summary>"
        )?;
        writeln!(out)?;
        writeln!(out, "| Directory | Delta |")?;
        writeln!(out, "| --- | ---: |")?;
        for (path, delta) in growers {
            writeln!(
                out,
                "| `{}` | {} |",
                cell(&escape_bytes(path)),
                signed(*delta)
            )?;
        }
        writeln!(out)?;
        writeln!(out, "</details>")?;
    }
    Ok(())
}
