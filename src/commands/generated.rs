//! `completions` and `man`: shell completion scripts (clap_complete) and man pages
//! (clap_mangen), generated from the clap definitions in [`crate::cli`], so that they say
//! what `--help` says.

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::error::{Error, Result};
use clap::CommandFactory;
use clap_mangen::roff::{bold, roman, Roff};
use std::io::Write;
use std::path::Path;

const BIN: &str = "layerscope";

/// Print the completion script for `args.shell`.
pub fn completions(args: &CompletionsArgs, out: &mut dyn Write) -> Result<i32> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), BIN, &mut script);
    out.write_all(&script).map_err(|e| Error::io("stdout", e))?;
    Ok(0)
}

/// One man page: its file name (`layerscope-ci.1`) and roff text.
pub struct ManPage {
    pub file_name: String,
    pub roff: Vec<u8>,
}

/// Every man page: layerscope.1 first, then one per subcommand, depth first
/// (`layerscope-cache.1`, `layerscope-cache-prune.1`), without clap's `help` subcommand.
pub fn man_pages() -> Vec<ManPage> {
    fn walk(cmd: &clap::Command, pages: &mut Vec<ManPage>) {
        pages.push(render(cmd));
        for sub in cmd.get_subcommands().filter(|sub| !sub.is_hide_set()) {
            walk(sub, pages);
        }
    }
    let mut pages = Vec::new();
    walk(&man_command(), &mut pages);
    pages
}

/// The page of the subcommand at `path` (`["cache", "prune"]`), or layerscope.1 for `[]`.
pub fn man_page(path: &[String]) -> Result<ManPage> {
    let root = man_command();
    let mut cmd = &root;
    for (depth, name) in path.iter().enumerate() {
        let found = cmd
            .get_subcommands()
            .filter(|sub| !sub.is_hide_set())
            .find(|sub| sub.get_name() == name || sub.get_all_aliases().any(|a| a == name));
        match found {
            Some(sub) => cmd = sub,
            None => {
                let parent = std::iter::once(BIN)
                    .chain(path[..depth].iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(" ");
                let names = cmd
                    .get_subcommands()
                    .filter(|sub| !sub.is_hide_set())
                    .map(|sub| sub.get_name())
                    .collect::<Vec<_>>();
                let choices = if names.is_empty() {
                    format!("`{parent}` has no subcommands")
                } else {
                    format!("`{parent}` has: {}", names.join(", "))
                };
                return Err(Error::Usage(format!(
                    "no man page for `{parent} {}`; {choices}",
                    crate::escape::escape_str(name)
                )));
            }
        }
    }
    Ok(render(cmd))
}

/// Run `layerscope man`.
pub fn man(args: &ManArgs, out: &mut dyn Write) -> Result<i32> {
    let stdout_error = |e| Error::io("stdout", e);
    match &args.dir {
        Some(dir) => {
            for path in write_man_pages(dir)? {
                writeln!(
                    out,
                    "{}",
                    crate::escape::escape_str(&path.display().to_string())
                )
                .map_err(stdout_error)?;
            }
        }
        None => out
            .write_all(&man_page(&args.subcommand)?.roff)
            .map_err(stdout_error)?,
    }
    Ok(0)
}

/// Write every page into `dir` (created if missing); returns their paths.
pub fn write_man_pages(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let shown = dir.display().to_string();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(shown, e))?;
    man_pages()
        .into_iter()
        .map(|page| {
            let path = dir.join(&page.file_name);
            std::fs::write(&path, &page.roff)
                .map_err(|e| Error::io(path.display().to_string(), e))?;
            Ok(path)
        })
        .collect()
}

/// The command tree the pages are rendered from: built (so subcommands are named
/// `layerscope-ci` and carry their usage), without the `help` subcommand, and with the
/// plain package version, so that a page does not depend on the inflater this build chose.
fn man_command() -> clap::Command {
    let mut cmd = Cli::command()
        .version(env!("CARGO_PKG_VERSION"))
        .disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Render one page. clap_mangen writes the title, NAME, SYNOPSIS, OPTIONS, SUBCOMMANDS
/// and VERSION sections; the DESCRIPTION and the `after_help` texts (examples, install
/// steps) are laid out here, because they hold aligned two-column lists that roff would
/// otherwise fill into one ragged paragraph.
fn render(cmd: &clap::Command) -> ManPage {
    let man = clap_mangen::Man::new(cmd.clone())
        .source(format!("{BIN} {}", env!("CARGO_PKG_VERSION")))
        .manual("layerscope manual");
    let mut page = PageWriter::default();
    page.section(|w| man.render_title(w));
    // No hyphenation and a ragged right margin: the pages are full of paths and commands
    // to copy, which a hyphen or stretched spaces would garble.
    let mut roff = Roff::new();
    roff.control("nh", []).control("ad", ["l"]);
    page.roff(&roff);
    page.section(|w| man.render_name_section(w));
    page.section(|w| man.render_synopsis_section(w));

    let mut roff = Roff::new();
    roff.control("SH", ["DESCRIPTION"]);
    if let Some(text) = cmd.get_long_about().or_else(|| cmd.get_about()) {
        help_text(&mut roff, &text.to_string());
    }
    page.roff(&roff);

    if cmd.get_arguments().any(|arg| !arg.is_hide_set()) {
        page.section(|w| man.render_options_section(w));
    }
    if cmd.get_subcommands().any(|sub| !sub.is_hide_set()) {
        page.section(|w| man.render_subcommands_section(w));
    }
    if let Some(text) = cmd.get_after_long_help().or_else(|| cmd.get_after_help()) {
        page.roff(&after_help(&text.to_string()));
    }
    if cmd.get_version().is_some() {
        page.section(|w| man.render_version_section(w));
    }
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    if name != BIN {
        let mut roff = Roff::new();
        roff.control("SH", ["SEE ALSO"]);
        roff.text([bold(BIN), roman("(1)")]);
        page.roff(&roff);
    }
    ManPage {
        file_name: man.get_filename(),
        roff: page.bytes,
    }
}

/// Concatenates rendered pieces, keeping roff's apostrophe preamble only once.
#[derive(Default)]
struct PageWriter {
    bytes: Vec<u8>,
}

impl PageWriter {
    fn section(&mut self, render: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
        let mut piece = Vec::new();
        render(&mut piece).expect("rendering into a Vec does not fail");
        let preamble = Roff::new().render();
        let piece = match piece.strip_prefix(preamble.as_bytes()) {
            Some(rest) if !self.bytes.is_empty() => rest,
            _ => &piece[..],
        };
        self.bytes.extend_from_slice(piece);
    }

    fn roff(&mut self, roff: &Roff) {
        self.section(|w| roff.to_writer(w));
    }
}

/// The `after_help` text as sections: a paragraph that opens with a short heading line
/// (`Examples:`, `Install:`) becomes a section of that name; the other paragraphs (exit
/// codes, where credentials come from) go under NOTES.
fn after_help(text: &str) -> Roff {
    let mut named = Vec::new();
    let mut notes = Vec::new();
    for paragraph in text.split("\n\n") {
        let (first, rest) = paragraph.split_once('\n').unwrap_or((paragraph, ""));
        let heading = first
            .strip_suffix(':')
            .filter(|h| !h.starts_with(' ') && h.split_whitespace().count() <= 3);
        match heading {
            Some(heading) => named.push((heading.to_uppercase(), rest)),
            None => notes.push(paragraph),
        }
    }
    let mut roff = Roff::new();
    for (heading, body) in named {
        roff.control("SH", [heading.as_str()]);
        help_text(&mut roff, body);
    }
    if !notes.is_empty() {
        roff.control("SH", ["NOTES"]);
        help_text(&mut roff, &notes.join("\n\n"));
    }
    roff
}

/// Help text as man markup. Unindented lines are prose (roff fills them); a blank line
/// starts a paragraph. A run of indented lines is a list as `--help` aligns it: `TERM  text`
/// on the first indent, continuation lines indented further. It becomes `.TP` entries,
/// the term in bold and each continuation on its own line (they may be commands); a run
/// with no text column (commands alone) is kept as it is, unfilled.
fn help_text(roff: &mut Roff, text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |line: &str| line.len() - line.trim_start().len();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() {
            roff.control("PP", []);
            i += 1;
        } else if indent(line) == 0 {
            roff.text([roman(line)]);
            i += 1;
        } else {
            let start = i;
            while i < lines.len() && !lines[i].trim().is_empty() && indent(lines[i]) > 0 {
                i += 1;
            }
            list(roff, &lines[start..i]);
        }
    }
}

fn list(roff: &mut Roff, lines: &[&str]) {
    let base = lines[0].len() - lines[0].trim_start().len();
    // (term, text lines)
    let mut entries: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in lines {
        let indent = line.len() - line.trim_start().len();
        let body = line.trim();
        match entries.last_mut() {
            Some((_, text)) if indent > base => text.push(body),
            _ => match body.split_once("  ") {
                Some((term, text)) => entries.push((term, vec![text.trim()])),
                None => entries.push((body, Vec::new())),
            },
        }
    }
    if entries.iter().all(|(_, text)| text.is_empty()) {
        roff.control("RS", ["4"]);
        roff.control("nf", []);
        for (term, _) in &entries {
            roff.text([roman(*term)]);
        }
        roff.control("fi", []);
        roff.control("RE", []);
        return;
    }
    for (term, text) in entries {
        roff.control("TP", []);
        roff.text([bold(term)]);
        for (n, line) in text.into_iter().enumerate() {
            if n > 0 {
                roff.control("br", []);
            }
            roff.text([roman(line)]);
        }
    }
    roff.control("PP", []);
}
