//! Which Dockerfile line made which history entry and layer.
//!
//! The final image's history is the base image's entries followed by one entry per
//! instruction of the final stage (and of the stages it is built `FROM`). Builders write
//! those entries differently, so lines and entries are compared after normalising both:
//!
//! - buildah and the legacy builder write `COPY file:<digest> in <dest>`: such a `COPY`
//!   or `ADD` matches by its destination;
//! - exec-form `RUN ["a","b"]` becomes `/bin/sh -c ["a", "b"]` (buildah) or `a b`
//!   (BuildKit, legacy): both sides are reduced to the joined words, shell prefix removed;
//! - `ARG` values are dropped (buildah): an `ARG` matches by name, and BuildKit writes no
//!   entry for it at all, so a missing `ARG` entry is no mismatch;
//! - `--mount` and other flags may or may not be kept in the `RUN` text: they are ignored;
//! - a heredoc `RUN` is recorded (buildah 1.39) as its first line and the heredoc's body,
//!   without the closing delimiter: `/bin/sh -c <<EOF\nset -e\n…`. The line is compared
//!   by its first line followed by its bodies;
//! - BuildKit's `buildkit.exporter.image.v0` entries stand for base layers that had no
//!   history: they are always base.
//!
//! The pairing is an alignment, by order, that maximises agreement: identical normalised
//! text scores most, the same destination less, the same keyword least; a line or an entry
//! of the final stage left unpaired costs one. The entries before the first paired one
//! belong to the base image. Unpaired lines and entries are reported, never dropped.

use super::{Dockerfile, Form, Step};
use crate::image::history::{
    strip_shell, HistoryEntry, HistoryPairing, InstructionKind, BUILDKIT_EXPORTER_COMMENT,
};
use serde::Serialize;

/// At most this many of the final chain's instructions are aligned (the last ones); any
/// before them are reported unmatched. It bounds the alignment's memory (steps × entries).
pub const MAX_MAPPED_STEPS: usize = 2_000;

/// How a line and a history entry agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchQuality {
    /// The same instruction text, once normalised.
    Text,
    /// A `COPY`/`ADD` with the same destination (the builder replaced the sources by a
    /// digest).
    Destination,
    /// Only the keyword agrees and the order decided (never for `RUN`: a command is
    /// recorded as written).
    Keyword,
}

impl MatchQuality {
    fn weight(self) -> i32 {
        match self {
            MatchQuality::Text => 4,
            MatchQuality::Destination => 2,
            MatchQuality::Keyword => 1,
        }
    }
}

/// One Dockerfile instruction paired with one history entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepMatch {
    /// Index into [`Dockerfile::steps`].
    pub step: usize,
    /// Index into the image's history.
    pub history: usize,
    pub quality: MatchQuality,
}

/// Where a layer comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum LayerOrigin {
    /// A layer of the base image (`FROM <image>`).
    Base,
    /// Made by the Dockerfile instruction `step` (index into [`Dockerfile::steps`]).
    Step { step: usize },
    /// A layer of the final stage that no line explains (its entry is in
    /// [`Mapping::unmatched_history`]), or a layer without any history entry.
    Unmatched,
}

/// The Dockerfile line that made a layer, as the views show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerLine {
    /// Index into [`Dockerfile::steps`].
    #[serde(skip)]
    pub step: usize,
    pub line: usize,
    pub end_line: usize,
    /// The stage's name, or its number when unnamed.
    pub stage: Option<String>,
    /// The instruction on one line (raw text: escape before display).
    pub instruction: String,
}

/// One layer's place in the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerMapping {
    pub origin: LayerOrigin,
    /// The line of [`LayerOrigin::Step`].
    pub line: Option<LayerLine>,
    /// Instructions that made no layer of their own (ENV, WORKDIR, CMD, …) and were
    /// recorded just before this layer: indices into [`Dockerfile::steps`].
    pub metadata_steps: Vec<usize>,
}

/// The Dockerfile laid over an image's history and layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mapping {
    /// The final image's base, as written after `FROM`.
    pub base_image: String,
    /// The instructions aligned with the history, in order (indices into
    /// [`Dockerfile::steps`]): the final stage's and those of the stages it is built on.
    pub final_steps: Vec<usize>,
    /// Every pair, in history order.
    pub matches: Vec<StepMatch>,
    /// Per history entry: the step that wrote it.
    pub history: Vec<Option<usize>>,
    /// History entries `0..base_entries` are the base image's.
    pub base_entries: usize,
    /// One per layer, bottom first.
    pub layers: Vec<LayerMapping>,
    /// Layers `0..base_layers` are the base image's.
    pub base_layers: usize,
    /// Steps of `final_steps` that no entry matched (an `ARG` without an entry excepted:
    /// BuildKit never writes one). Indices into [`Dockerfile::steps`].
    pub unmatched_steps: Vec<usize>,
    /// The same, as 1-based line numbers.
    pub unmatched_lines: Vec<usize>,
    /// History entries after the base that no line matched.
    pub unmatched_history: Vec<usize>,
}

impl Mapping {
    /// The line of layer `index`, if a Dockerfile line made it.
    pub fn layer_line(&self, index: usize) -> Option<&LayerLine> {
        self.layers.get(index).and_then(|l| l.line.as_ref())
    }

    /// Whether layer `index` comes from the base image.
    pub fn is_base_layer(&self, index: usize) -> bool {
        self.layers
            .get(index)
            .is_some_and(|l| l.origin == LayerOrigin::Base)
    }
}

/// Pair the Dockerfile's final stage with `history` and the layers in `pairing`.
pub fn map(dockerfile: &Dockerfile, history: &[HistoryEntry], pairing: &HistoryPairing) -> Mapping {
    let chain = dockerfile.final_chain();
    let final_steps: Vec<usize> = chain
        .iter()
        .flat_map(|&stage| dockerfile.stages[stage].steps.iter().copied())
        .collect();
    let aligned_from = final_steps.len().saturating_sub(MAX_MAPPED_STEPS);
    let steps = &final_steps[aligned_from..];

    // Exporter padding stands for base layers: never the Dockerfile's.
    let window_start = history
        .iter()
        .rposition(|e| e.comment.as_deref() == Some(BUILDKIT_EXPORTER_COMMENT))
        .map_or(0, |at| at + 1);
    // The final stage's entries are the last ones: a window a little longer than the
    // steps keeps the alignment bounded on a huge history.
    let window_start = window_start.max(history.len().saturating_sub(steps.len() * 2 + 256));
    let entries: Vec<EntryKey> = history[window_start..].iter().map(EntryKey::new).collect();
    let keys: Vec<StepKey> = steps
        .iter()
        .map(|&s| StepKey::new(&dockerfile.steps[s]))
        .collect();

    let (pairs, region_start) = align(&keys, &entries);

    let mut history_steps = vec![None; history.len()];
    let mut matches = Vec::with_capacity(pairs.len());
    for &(step, entry, quality) in &pairs {
        let step = steps[step];
        let entry = window_start + entry;
        history_steps[entry] = Some(step);
        matches.push(StepMatch {
            step,
            history: entry,
            quality,
        });
    }
    let base_entries = window_start + region_start;
    let unmatched_history: Vec<usize> = (base_entries..history.len())
        .filter(|&i| history_steps[i].is_none())
        .collect();
    let matched: std::collections::HashSet<usize> = matches.iter().map(|m| m.step).collect();
    let unmatched_steps: Vec<usize> = final_steps
        .iter()
        .copied()
        .filter(|s| !matched.contains(s) && dockerfile.steps[*s].kind != InstructionKind::Arg)
        .collect();
    let unmatched_lines = unmatched_steps
        .iter()
        .map(|&s| dockerfile.steps[s].line)
        .collect();

    let layer_line = |step: usize| {
        let s: &Step = &dockerfile.steps[step];
        LayerLine {
            step,
            line: s.line,
            end_line: s.end_line,
            stage: s.stage.map(|i| dockerfile.stage_label(i)),
            instruction: s.text.clone(),
        }
    };
    let mut base_layers = 0;
    let layers: Vec<LayerMapping> = pairing
        .layers
        .iter()
        .enumerate()
        .map(|(index, layer)| {
            let own = layer.entries.last().copied();
            let origin = match own {
                Some(entry) if entry < base_entries => LayerOrigin::Base,
                Some(entry) => match history_steps.get(entry).copied().flatten() {
                    Some(step) => LayerOrigin::Step { step },
                    None => LayerOrigin::Unmatched,
                },
                None => LayerOrigin::Unmatched,
            };
            if origin == LayerOrigin::Base && base_layers == index {
                base_layers += 1;
            }
            let metadata_steps = layer
                .entries
                .iter()
                .take(layer.entries.len().saturating_sub(1))
                .filter_map(|&e| history_steps.get(e).copied().flatten())
                .collect();
            LayerMapping {
                line: match origin {
                    LayerOrigin::Step { step } => Some(layer_line(step)),
                    _ => None,
                },
                origin,
                metadata_steps,
            }
        })
        .collect();

    Mapping {
        base_image: dockerfile.base_image().to_string(),
        final_steps,
        matches,
        history: history_steps,
        base_entries,
        layers,
        base_layers,
        unmatched_steps,
        unmatched_lines,
        unmatched_history,
    }
}

/// Align steps with entries. Returns the pairs `(step, entry, quality)` (indices into the
/// slices) and where the final stage's entries start.
fn align(steps: &[StepKey], entries: &[EntryKey]) -> (Vec<(usize, usize, MatchQuality)>, usize) {
    let (m, n) = (steps.len(), entries.len());
    let width = n + 1;
    // best[i][j]: the best score for steps[i..] against entries[j..], all of them in the
    // final stage's region.
    let mut best = vec![0i32; (m + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for j in (0..n).rev() {
        best[at(m, j)] = best[at(m, j + 1)] - 1;
    }
    for i in (0..m).rev() {
        best[at(i, n)] = best[at(i + 1, n)] - steps[i].skip_cost();
        for j in (0..n).rev() {
            let mut score = (best[at(i + 1, j)] - steps[i].skip_cost()).max(best[at(i, j + 1)] - 1);
            if let Some(quality) = compare(&steps[i], &entries[j]) {
                score = score.max(best[at(i + 1, j + 1)] + quality.weight());
            }
            best[at(i, j)] = score;
        }
    }
    // Entries before the region are the base's and cost nothing. On a tie the larger
    // start wins: claim no more of the history than the lines explain.
    // (`max_by_key` keeps the last of equal maxima.)
    let start = (0..=n).max_by_key(|&j| best[at(0, j)]).unwrap_or(n);

    let mut pairs = Vec::new();
    let (mut i, mut j) = (0, start);
    while i < m || j < n {
        let here = best[at(i, j)];
        if i < m && j < n {
            if let Some(quality) = compare(&steps[i], &entries[j]) {
                if here == best[at(i + 1, j + 1)] + quality.weight() {
                    pairs.push((i, j, quality));
                    i += 1;
                    j += 1;
                    continue;
                }
            }
        }
        if j < n && (i == m || here == best[at(i, j + 1)] - 1) {
            j += 1;
        } else {
            i += 1;
        }
    }
    (pairs, start)
}

/// What a Dockerfile step is compared by.
struct StepKey {
    kind: InstructionKind,
    /// Normalised text (see [`normalise`]).
    text: String,
    /// `COPY`/`ADD` destination, normalised.
    destination: Option<String>,
}

impl StepKey {
    fn new(step: &Step) -> StepKey {
        let text = match step.kind {
            InstructionKind::Run if !step.heredocs.is_empty() => {
                let mut command = step.arguments.clone();
                for body in &step.heredocs {
                    command.push('\n');
                    command.push_str(body);
                }
                normalise_command(&command)
            }
            InstructionKind::Run => normalise_command(&step.arguments),
            InstructionKind::Arg => arg_name(&step.arguments),
            InstructionKind::Cmd | InstructionKind::Entrypoint if step.form == Some(Form::Exec) => {
                normalise_command(&step.arguments)
            }
            _ => normalise(&step.arguments),
        };
        let destination = matches!(step.kind, InstructionKind::Copy | InstructionKind::Add)
            .then(|| step.arguments.split_whitespace().last().map(normalise_path))
            .flatten();
        StepKey {
            kind: step.kind,
            text,
            destination,
        }
    }

    /// An `ARG` may leave no entry (BuildKit); any other line should leave one.
    fn skip_cost(&self) -> i32 {
        if self.kind == InstructionKind::Arg {
            0
        } else {
            1
        }
    }
}

/// What a history entry is compared by.
struct EntryKey {
    kind: InstructionKind,
    text: String,
    destination: Option<String>,
    /// BuildKit exporter padding: never a Dockerfile line's.
    padding: bool,
}

impl EntryKey {
    fn new(entry: &HistoryEntry) -> EntryKey {
        let instruction = entry.instruction();
        let body = strip_flags(&instruction.text);
        let text = match instruction.kind {
            InstructionKind::Run | InstructionKind::Other => normalise_command(body),
            InstructionKind::Cmd | InstructionKind::Entrypoint if body.starts_with('[') => {
                normalise_command(body)
            }
            InstructionKind::Arg => arg_name(body),
            _ => normalise(body),
        };
        let destination = matches!(
            instruction.kind,
            InstructionKind::Copy | InstructionKind::Add
        )
        .then(|| {
            // `file:<digest> in <dest>` (buildah, legacy) or `<src>… <dest>`.
            match body.rfind(" in ") {
                Some(at)
                    if body.starts_with(|c: char| c.is_ascii_lowercase())
                        && body[..at].contains(':') =>
                {
                    Some(normalise_path(body[at + 4..].trim()))
                }
                _ => body.split_whitespace().last().map(normalise_path),
            }
        })
        .flatten();
        EntryKey {
            kind: instruction.kind,
            text,
            destination,
            padding: entry.comment.as_deref() == Some(BUILDKIT_EXPORTER_COMMENT),
        }
    }
}

fn compare(step: &StepKey, entry: &EntryKey) -> Option<MatchQuality> {
    if entry.padding {
        return None;
    }
    // Exec-form RUN without build args has no shell to recognise it by (legacy builder).
    let same_kind = step.kind == entry.kind
        || (step.kind == InstructionKind::Run && entry.kind == InstructionKind::Other);
    if !same_kind {
        return None;
    }
    if !step.text.is_empty() && step.text == entry.text
        || step.text.is_empty() && entry.text.is_empty()
    {
        return Some(MatchQuality::Text);
    }
    if matches!(entry.kind, InstructionKind::Other | InstructionKind::Run) {
        // A command is recorded as written (shell and build args aside): different text
        // is a different command, reported rather than paired by its keyword.
        return None;
    }
    if step.destination.is_some() && step.destination == entry.destination {
        return Some(MatchQuality::Destination);
    }
    Some(MatchQuality::Keyword)
}

/// Whitespace, quotes and `=` carry no meaning across builders' spellings
/// (`ENV A 1` is recorded `ENV A=1`, JSON arrays gain or lose spaces).
fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | '='))
        .collect()
}

/// A command as its words: a JSON array is joined, a shell prefix is removed.
fn normalise_command(text: &str) -> String {
    let text = strip_flags(text.trim());
    let joined;
    let mut command = text;
    if command.starts_with('[') {
        if let Ok(words) = serde_json::from_str::<Vec<String>>(command) {
            joined = words.join(" ");
            command = &joined;
        }
    }
    let command = strip_shell(command).unwrap_or(command);
    command.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Leading `--name[=value]` flags, which some builders keep and others drop.
fn strip_flags(mut text: &str) -> &str {
    loop {
        let trimmed = text.trim_start();
        match trimmed.strip_prefix("--") {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_alphabetic()) => {
                let end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
                text = &trimmed[end..];
            }
            _ => return trimmed,
        }
    }
}

fn arg_name(text: &str) -> String {
    let text = text.trim();
    text.split('=').next().unwrap_or(text).trim().to_string()
}

fn normalise_path(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::history::pair_history;

    fn entry(created_by: &str, empty: bool) -> HistoryEntry {
        HistoryEntry {
            created_by: Some(created_by.to_string()),
            empty_layer: empty,
            ..Default::default()
        }
    }

    fn lines(mapping: &Mapping) -> Vec<Option<usize>> {
        mapping
            .layers
            .iter()
            .map(|l| l.line.as_ref().map(|l| l.line))
            .collect()
    }

    const DOCKERFILE: &str = "\
FROM golang AS build
RUN go build -o /app .
FROM alpine:3.20
ARG VERSION=1
WORKDIR /srv
COPY --from=build /app /srv/app
RUN [\"/bin/busybox\", \"touch\", \"/srv/t\"]
RUN --mount=type=cache,target=/c echo $VERSION \\
    && echo done
CMD [\"/srv/app\"]
";

    #[test]
    fn buildah_history() {
        let df = Dockerfile::parse(DOCKERFILE).unwrap();
        let history = [
            entry("/bin/sh -c #(nop) ADD file:abc in / ", false),
            entry("/bin/sh -c #(nop)  CMD [\"/bin/sh\"]", true),
            entry("/bin/sh -c #(nop) ARG VERSION", true),
            entry("/bin/sh -c #(nop) WORKDIR /srv", true),
            entry("/bin/sh -c #(nop) COPY file:0123 in /srv/app ", false),
            entry("|1 VERSION=1 /bin/sh -c [\"/bin/busybox\", \"touch\", \"/srv/t\"]", false),
            entry(
                "|1 VERSION=1 /bin/sh -c --mount=type=cache,target=/c echo $VERSION     && echo done",
                false,
            ),
            entry("/bin/sh -c #(nop) CMD [\"/srv/app\"]", true),
        ];
        let pairing = pair_history(&history, 4);
        let mapping = map(&df, &history, &pairing);
        assert_eq!(lines(&mapping), [None, Some(6), Some(7), Some(8)]);
        assert_eq!(mapping.base_layers, 1);
        assert_eq!(mapping.base_entries, 2);
        assert!(mapping.unmatched_lines.is_empty(), "{mapping:?}");
        assert!(mapping.unmatched_history.is_empty(), "{mapping:?}");
        assert_eq!(mapping.layers[1].line.as_ref().unwrap().end_line, 6);
        assert_eq!(mapping.layers[3].line.as_ref().unwrap().end_line, 9);
        // ARG and WORKDIR are metadata of the COPY's layer.
        assert_eq!(mapping.layers[1].metadata_steps, [3, 4]);
        assert_eq!(mapping.matches[2].quality, MatchQuality::Destination);
        assert_eq!(mapping.base_image, "alpine:3.20");
    }

    #[test]
    fn buildkit_history() {
        let df = Dockerfile::parse(DOCKERFILE).unwrap();
        let mut padding = entry("pulled from docker.io/library/alpine:3.20", false);
        padding.comment = Some(BUILDKIT_EXPORTER_COMMENT.to_string());
        let bk = |text: &str, empty| {
            let mut e = entry(text, empty);
            e.comment = Some("buildkit.dockerfile.v0".to_string());
            e
        };
        let history = [
            padding,
            bk("WORKDIR /srv", false),
            bk("COPY /app /srv/app # buildkit", false),
            bk(
                "RUN |1 VERSION=1 /bin/busybox touch /srv/t # buildkit",
                false,
            ),
            bk(
                "RUN |1 VERSION=1 /bin/sh -c echo $VERSION     && echo done # buildkit",
                false,
            ),
            bk("CMD [\"/srv/app\"]", true),
        ];
        let pairing = pair_history(&history, 5);
        let mapping = map(&df, &history, &pairing);
        assert_eq!(lines(&mapping), [None, Some(5), Some(6), Some(7), Some(8)]);
        assert_eq!(mapping.base_layers, 1);
        assert!(mapping.unmatched_lines.is_empty() && mapping.unmatched_history.is_empty());
        assert_eq!(mapping.matches[1].quality, MatchQuality::Text);
    }

    /// The entries as Debian trixie's buildah 1.39.3 wrote them for
    /// tests/fixtures/dockerfile/buildah-heredoc (its first RUN and COPY lines).
    #[test]
    fn buildah_heredoc_history() {
        let df = Dockerfile::parse(
            "FROM base\nRUN <<EOF\nset -e\necho \"$A one\" > /one\nEOF\n\
             RUN <<'EOF' cat > /lit\nnot expanded: $A\nEOF\n\
             RUN <<-EOF\n\techo tabs > /tabs\n\tEOF\n\
             COPY <<EOF /config.ini\n[app]\nEOF\n",
        )
        .unwrap();
        let history = [
            entry("/bin/sh -c #(nop) ADD file:abc in / ", false),
            entry("/bin/sh -c <<EOF\nset -e\necho \"$A one\" > /one", false),
            entry("/bin/sh -c <<'EOF' cat > /lit\nnot expanded: $A", false),
            entry("/bin/sh -c <<-EOF\necho tabs > /tabs", false),
            entry("/bin/sh -c #(nop) COPY file:7fe2 in /config.ini ", false),
        ];
        let pairing = pair_history(&history, 5);
        let mapping = map(&df, &history, &pairing);
        assert_eq!(lines(&mapping), [None, Some(2), Some(6), Some(9), Some(12)]);
        assert!(mapping.unmatched_lines.is_empty(), "{mapping:?}");
        assert!(mapping.unmatched_history.is_empty(), "{mapping:?}");
        let qualities: Vec<MatchQuality> = mapping.matches.iter().map(|m| m.quality).collect();
        use MatchQuality::{Destination, Text};
        assert_eq!(qualities, [Text, Text, Text, Destination]);

        // The body is compared, not only the first line: another script is reported
        // (after a paired RUN, so that the entry is the final stage's, not the base's).
        let changed = [
            entry("/bin/sh -c #(nop) ADD file:abc in / ", false),
            entry("/bin/sh -c make", false),
            entry("/bin/sh -c <<EOF\nset -e\necho \"$A two\" > /one", false),
        ];
        let df = Dockerfile::parse(
            "FROM base\nRUN make\nRUN <<EOF\nset -e\necho \"$A one\" > /one\nEOF\n",
        )
        .unwrap();
        let mapping = map(&df, &changed, &pair_history(&changed, 3));
        assert_eq!(lines(&mapping), [None, Some(2), None]);
        assert_eq!(mapping.unmatched_lines, [3]);
        assert_eq!(mapping.unmatched_history, [2]);
    }

    #[test]
    fn mismatches_are_reported_on_both_sides() {
        let df = Dockerfile::parse("FROM base\nRUN make\nRUN make install\n").unwrap();
        let history = [
            entry("/bin/sh -c #(nop) ADD file:abc in / ", false),
            entry("/bin/sh -c make", false),
            entry("/bin/sh -c strip /usr/bin/tool", false),
        ];
        let pairing = pair_history(&history, 3);
        let mapping = map(&df, &history, &pairing);
        assert_eq!(lines(&mapping), [None, Some(2), None]);
        // A RUN never pairs by its keyword alone.
        assert_eq!(mapping.unmatched_lines, [3]);
        assert_eq!(mapping.unmatched_history, [2]);
        assert!(mapping.is_base_layer(0));
    }

    #[test]
    fn an_entry_no_line_explains_is_listed() {
        let df = Dockerfile::parse("FROM base\nRUN make\n").unwrap();
        let history = [
            entry("/bin/sh -c #(nop) ADD file:abc in / ", false),
            entry("/bin/sh -c make", false),
            entry("/bin/sh -c #(nop) COPY file:1 in /x ", false),
        ];
        let pairing = pair_history(&history, 3);
        let mapping = map(&df, &history, &pairing);
        assert_eq!(lines(&mapping), [None, Some(2), None]);
        assert_eq!(mapping.unmatched_history, [2]);
        assert_eq!(mapping.layers[2].origin, LayerOrigin::Unmatched);
        assert!(mapping.unmatched_lines.is_empty());
    }

    #[test]
    fn a_line_without_entry_is_listed() {
        let df = Dockerfile::parse("FROM base\nRUN make\nUSER app\n").unwrap();
        let history = [
            entry("/bin/sh -c #(nop) ADD file:abc in / ", false),
            entry("/bin/sh -c make", false),
        ];
        let pairing = pair_history(&history, 2);
        let mapping = map(&df, &history, &pairing);
        assert_eq!(mapping.unmatched_lines, [3]);
        assert_eq!(lines(&mapping), [None, Some(2)]);
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalise_command("[\"/bin/sh\", \"-c\", \"a  b\"]"), "ab");
        assert_eq!(
            normalise_command("--mount=type=cache,target=/x make all"),
            "makeall"
        );
        assert_eq!(normalise("A 1"), normalise("A=1"));
        assert_eq!(arg_name("VERSION=1.0"), "VERSION");
        assert_eq!(normalise_path("/srv/"), "/srv");
        assert_eq!(normalise_path("/"), "/");
    }
}
