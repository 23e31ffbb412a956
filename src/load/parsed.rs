//! The layers already parsed in a run of several loads, by diff_id, so that loading many
//! images (`fleet`) parses each distinct layer once: a later image's layer with a diff_id
//! seen before is taken from here, and its blob is neither read nor downloaded.

use crate::image::LayerRef;
use crate::layer::ParsedLayer;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Parsed layers by diff_id, shared by the loads of one run ([`super::LoadOptions::layers`]).
/// It holds each distinct layer's records, so its memory grows with the distinct layers of
/// the run, not with the images.
#[derive(Default)]
pub struct ParsedLayers {
    by_diff_id: Mutex<HashMap<String, Arc<ParsedLayer>>>,
    /// Layer blobs parsed by the loads that used this set (kept or not).
    parsed: AtomicUsize,
    /// Layers taken from here instead of being parsed.
    reused: AtomicUsize,
}

impl std::fmt::Debug for ParsedLayers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedLayers")
            .field("parsed", &self.parsed())
            .field("reused", &self.reused())
            .finish()
    }
}

/// The key a layer is known by: its declared diff_id, when it is a sha256 one.
fn key(layer: &LayerRef) -> Option<&str> {
    layer
        .diff_id
        .as_deref()
        .filter(|d| d.starts_with("sha256:"))
}

impl ParsedLayers {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many layer blobs were parsed.
    pub fn parsed(&self) -> usize {
        self.parsed.load(Ordering::Relaxed)
    }

    /// How many layers were taken from an earlier parse.
    pub fn reused(&self) -> usize {
        self.reused.load(Ordering::Relaxed)
    }

    /// Count a parse that is not kept (a stream's layer).
    pub(crate) fn count_parse(&self) {
        self.parsed.fetch_add(1, Ordering::Relaxed);
    }

    /// The earlier parse of a layer with this layer's diff_id.
    pub(crate) fn get(&self, layer: &LayerRef) -> Option<Arc<ParsedLayer>> {
        let found = self
            .by_diff_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key(layer)?)
            .cloned();
        if found.is_some() {
            self.reused.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// Count a parse of `layer` and keep it for later loads when it is whole and its
    /// content is the one its diff_id names (when the parse computed the diff_id, it must
    /// match: a layer that fails verification is never handed to another image).
    pub(crate) fn keep(&self, layer: &LayerRef, parsed: ParsedLayer) -> Arc<ParsedLayer> {
        self.parsed.fetch_add(1, Ordering::Relaxed);
        let parsed = Arc::new(parsed);
        let Some(diff_id) = key(layer) else {
            return parsed;
        };
        let matches = parsed.diff_id.as_deref().is_none_or(|d| d == diff_id);
        if !parsed.truncated && matches {
            self.by_diff_id
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(diff_id.to_string(), parsed.clone());
        }
        parsed
    }
}
