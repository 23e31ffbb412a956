//! Bytes as a Dockerfile and a history: the first line-delimited part up to a NUL is the
//! Dockerfile, each line after it one history entry's `created_by` (a leading `!` marks it
//! `empty_layer`). The Dockerfile is parsed, and if it parses, mapped onto that history
//! paired with as many layers as it has producing entries, then one fewer and one more.
#![no_main]

use layerscope::dockerfile::{map, Dockerfile};
use layerscope::image::history::{pair_history, HistoryEntry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (dockerfile, history) = text.split_once('\0').unwrap_or((&text, ""));
    let Ok(parsed) = Dockerfile::parse(dockerfile) else {
        return;
    };
    let entries: Vec<HistoryEntry> = history
        .lines()
        .take(512)
        .map(|line| {
            let (empty, created_by) = match line.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            HistoryEntry {
                created_by: Some(created_by.to_string()),
                empty_layer: empty,
                ..Default::default()
            }
        })
        .collect();
    let producing = entries.iter().filter(|e| !e.empty_layer).count();
    for layers in [producing, producing.saturating_sub(1), producing + 1] {
        let pairing = pair_history(&entries, layers);
        let mapping = map(&parsed, &entries, &pairing);
        assert_eq!(mapping.layers.len(), layers);
        assert_eq!(mapping.history.len(), entries.len());
        assert!(mapping.base_entries <= entries.len());
        for m in &mapping.matches {
            assert!(m.history >= mapping.base_entries);
            assert_eq!(mapping.history[m.history], Some(m.step));
        }
        for line in mapping.layers.iter().filter_map(|l| l.line.as_ref()) {
            assert!(line.line >= 1 && line.line <= line.end_line);
        }
    }
});
