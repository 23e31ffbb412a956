//! `explain`: the image in plain words ([`crate::analysis::explain`]), rendered as text,
//! GitHub-flavoured Markdown, or an HTML handout ([`crate::report::handout`]). Every name from the image goes through [`crate::escape`].

use crate::analysis::explain::{self, Block, Facts, Span};
use crate::cli::{ExplainArgs, ExplainFormat, GlobalArgs};
use crate::dockerfile::{Dockerfile, Mapping};
use crate::error::{Error, Result};
use crate::escape::{escape_bytes, escape_str};
use crate::model::LoadedImage;
use crate::size::human;
use std::io::Write;

pub fn run(args: &ExplainArgs, global: &GlobalArgs, out: &mut dyn Write) -> Result<i32> {
    let dockerfile = match &args.dockerfile {
        Some(path) => Some(super::context::read_dockerfile(path)?),
        None => None,
    };
    // The package databases are read on the way, for the layers' package sentences.
    let packages = crate::analysis::packages::Reader::hook();
    let loaded = super::load_image_with(&args.image, global, Some(packages))?;
    let blocks = explain_loaded(&loaded, dockerfile.as_ref(), args.base_layers);
    let rendered = match args.format {
        ExplainFormat::Text => render_text(&blocks),
        ExplainFormat::Markdown => render_markdown(&blocks),
        ExplainFormat::Html => {
            let context = args
                .dockerfile
                .as_deref()
                .map(|path| super::context::DockerfileContext::load(path, &loaded))
                .transpose()?;
            let base = args
                .base_layers
                .or(context.as_ref().map(|d| d.mapping.base_layers));
            let (stack, _) = super::context::stack(&loaded, context.as_ref(), base);
            let image = &loaded.image;
            let name = image.tags.first().unwrap_or(&image.source);
            crate::report::handout(name, &stack, &blocks)
        }
    };
    out.write_all(rendered.as_bytes())
        .map_err(|e| Error::io("stdout", e))?;
    Ok(0)
}

/// The whole explanation of a loaded image, with its Dockerfile when known.
pub fn explain_loaded(
    loaded: &LoadedImage,
    dockerfile: Option<&Dockerfile>,
    base_layers: Option<usize>,
) -> Vec<Block> {
    let image = &loaded.image;
    let mapping: Option<Mapping> =
        dockerfile.map(|d| crate::dockerfile::map(d, &image.config.history, &image.history));
    let facts = Facts::gather(loaded, dockerfile.zip(mapping.as_ref()), base_layers);
    explain::explain_image(&facts.context(&loaded.tree))
}

/// Plain text: headings underlined, lists with `-`, code in backticks, names escaped.
pub fn render_text(blocks: &[Block]) -> String {
    let spans = |spans: &[Span]| -> String {
        let mut s = String::new();
        for span in spans {
            match span {
                Span::Text(t) => s.push_str(&escape_str(t)),
                Span::Code(c) => {
                    s.push('`');
                    s.push_str(&escape_str(c));
                    s.push('`');
                }
                Span::Path(p) => s.push_str(&escape_bytes(p)),
                Span::Bytes(b) => s.push_str(&human(*b)),
            }
        }
        s
    };
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Heading(level, title) => {
                let title = spans(title);
                let rule = if *level == 1 { '=' } else { '-' };
                out.push_str(&title);
                out.push('\n');
                out.extend(std::iter::repeat_n(rule, title.chars().count()));
                out.push('\n');
            }
            Block::Paragraph(p) => {
                out.push_str(&spans(p));
                out.push_str("\n\n");
            }
            Block::List(items) => {
                for item in items {
                    out.push_str("  - ");
                    out.push_str(&spans(item));
                    out.push('\n');
                }
                out.push('\n');
            }
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// GitHub-flavoured Markdown. Names from the image are escaped for the terminal first,
/// then put in code spans whose backtick fence is longer than any run inside, so nothing
/// in a name can start emphasis, a link or HTML.
pub fn render_markdown(blocks: &[Block]) -> String {
    let spans = |spans: &[Span]| -> String {
        let mut s = String::new();
        for span in spans {
            match span {
                Span::Text(t) => s.push_str(&escape_str(t)),
                Span::Code(c) => s.push_str(&code_span(&escape_str(c))),
                Span::Path(p) => s.push_str(&code_span(&escape_bytes(p))),
                Span::Bytes(b) => s.push_str(&human(*b)),
            }
        }
        s
    };
    let mut out = String::new();
    let mut in_list = false;
    for block in blocks {
        if in_list && !matches!(block, Block::List(_)) {
            out.push('\n');
        }
        in_list = false;
        match block {
            Block::Heading(level, title) => {
                out.push_str(&"#".repeat(*level as usize));
                out.push(' ');
                out.push_str(&spans(title));
                out.push_str("\n\n");
            }
            Block::Paragraph(p) => {
                out.push_str(&spans(p));
                out.push_str("\n\n");
            }
            Block::List(items) => {
                for item in items {
                    out.push_str("- ");
                    out.push_str(&spans(item));
                    out.push('\n');
                }
                in_list = true;
            }
        }
    }
    if in_list {
        out.push('\n');
    }
    // One trailing newline.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// A Markdown code span for `text` (already terminal-escaped): the fence is one backtick
/// longer than the longest run inside, padded with spaces when the text starts or ends
/// with a backtick. An empty text shows as nothing.
fn code_span(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_outgrow_their_backticks() {
        assert_eq!(code_span("/a b"), "`/a b`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`x``"), "``` `x`` ```");
        assert_eq!(code_span(""), "");
    }

    #[test]
    fn hostile_names_stay_inert() {
        let blocks = vec![
            Block::Heading(2, vec![Span::Path(b"/x\x1b[31m<script>`".to_vec())]),
            Block::List(vec![vec![
                Span::Text("Added ".into()),
                Span::Path(b"/a\n# not a heading".to_vec()),
            ]]),
        ];
        let md = render_markdown(&blocks);
        assert!(!md.contains('\x1b'), "{md}");
        assert_eq!(
            md,
            "## `` /x\\x1b[31m<script>` ``\n\n- Added `/a\\x0a# not a heading`\n"
        );
        let text = render_text(&blocks);
        assert!(
            !text.contains('\x1b') && !text.contains("\n# not"),
            "{text}"
        );
    }
}
