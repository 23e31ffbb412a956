//! Where the base image ends, when the Dockerfile is known: the layers before the final
//! stage's own instructions.
//!
//! Every Dockerfile instruction of the final stage leaves one history entry (ARG excepted),
//! and those entries are the last ones of the image's history. Counting the non-empty ones
//! among them gives the final stage's own layers, whatever the builder decided about
//! `WORKDIR` or `COPY` of nothing: the image's `empty_layer` flags answer that, not guesses.

use crate::image::history::HistoryEntry;

/// The number of base layers, or why it cannot be told.
pub fn base_layers_from_dockerfile(
    dockerfile: &str,
    history: &[HistoryEntry],
    layer_count: usize,
) -> Result<usize, String> {
    let instructions = final_stage_instructions(dockerfile)?;
    if instructions > history.len() {
        return Err(format!(
            "the Dockerfile's final stage has {instructions} instructions but the image history only {} entries",
            history.len()
        ));
    }
    let own_layers = history[history.len() - instructions..]
        .iter()
        .filter(|entry| !entry.empty_layer)
        .count();
    Ok(layer_count.saturating_sub(own_layers))
}

/// Instructions after the last `FROM` that leave a history entry.
fn final_stage_instructions(dockerfile: &str) -> Result<usize, String> {
    let mut count = None;
    let mut continued = false;
    for line in dockerfile.lines() {
        let trimmed = line.trim();
        let is_continuation = continued;
        continued = trimmed.ends_with('\\');
        if is_continuation || trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let keyword = trimmed
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match keyword.as_str() {
            "FROM" => count = Some(0),
            // ARG leaves no history entry; parser directives and heredoc bodies are not
            // instructions (heredoc bodies are rare enough to accept the miscount).
            "ARG" => {}
            _ => {
                if let Some(n) = count.as_mut() {
                    *n += 1;
                }
            }
        }
    }
    count.ok_or_else(|| "the Dockerfile has no FROM".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(empty: bool) -> HistoryEntry {
        HistoryEntry {
            empty_layer: empty,
            ..Default::default()
        }
    }

    #[test]
    fn final_stage_layers_are_counted_from_the_history_flags() {
        let dockerfile = "\
# syntax=docker/dockerfile:1
FROM golang AS build
RUN go build -o /app \\
    ./cmd/app
FROM alpine:3.20
ARG VERSION
WORKDIR /srv
COPY --from=build /app /srv/app
RUN chmod +x /srv/app
CMD [\"/srv/app\"]
";
        // alpine: 1 layer (ADD) + CMD; then WORKDIR (empty here), COPY, RUN, CMD.
        let history = [
            entry(false),
            entry(true),
            entry(true),
            entry(false),
            entry(false),
            entry(true),
        ];
        assert_eq!(base_layers_from_dockerfile(dockerfile, &history, 3), Ok(1));
    }

    #[test]
    fn mismatches_are_explained() {
        assert!(base_layers_from_dockerfile("RUN x", &[], 1)
            .unwrap_err()
            .contains("FROM"));
        let error =
            base_layers_from_dockerfile("FROM a\nRUN x\nRUN y", &[entry(false)], 1).unwrap_err();
        assert!(error.contains("2 instructions"), "{error}");
    }
}
