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
/// the run, not with the images; told which layers the run's images hold
/// ([`ParsedLayers::expect`]), it drops each one after its last use.
#[derive(Default)]
pub struct ParsedLayers {
    by_diff_id: Mutex<HashMap<String, Arc<ParsedLayer>>>,
    /// Uses still to come, by diff_id, when the run said ([`ParsedLayers::expect`]); a
    /// layer not in it is kept to the end.
    uses: Mutex<HashMap<String, usize>>,
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

    /// Say that the run will load a layer of this diff_id once more (call it for every
    /// layer of every image known beforehand): a layer is then dropped after its last use.
    /// Only memory depends on it: a layer used more often than said is parsed again.
    pub fn expect(&self, diff_id: &str) {
        *self
            .uses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(diff_id.to_string())
            .or_default() += 1;
    }

    /// Count one use of `diff_id`: whether more are to come (always, when not expected).
    fn use_once(&self, diff_id: &str) -> bool {
        let mut uses = self.uses.lock().unwrap_or_else(|p| p.into_inner());
        match uses.get_mut(diff_id) {
            None => true,
            Some(left) => {
                *left = left.saturating_sub(1);
                if *left == 0 {
                    uses.remove(diff_id);
                    false
                } else {
                    true
                }
            }
        }
    }

    /// How many parsed layers are held now.
    pub fn held(&self) -> usize {
        self.by_diff_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
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
        let diff_id = key(layer)?;
        let mut held = self.by_diff_id.lock().unwrap_or_else(|p| p.into_inner());
        let found = held.get(diff_id).cloned()?;
        self.reused.fetch_add(1, Ordering::Relaxed);
        if !self.use_once(diff_id) {
            held.remove(diff_id);
        }
        Some(found)
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
        if self.use_once(diff_id) && !parsed.truncated && matches {
            self.by_diff_id
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(diff_id.to_string(), parsed.clone());
        }
        parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(diff_id: &str) -> LayerRef {
        LayerRef {
            index: 0,
            member: Some("blob".into()),
            media_type: None,
            digest: None,
            diff_id: Some(diff_id.into()),
            size: None,
            unavailable: None,
            writable: None,
        }
    }

    #[test]
    fn a_layer_is_held_until_its_last_expected_use() {
        let (a, b) = (layer("sha256:aa"), layer("sha256:bb"));
        let layers = ParsedLayers::new();
        // Three images hold a; one holds b.
        for diff_id in ["sha256:aa", "sha256:aa", "sha256:aa", "sha256:bb"] {
            layers.expect(diff_id);
        }
        layers.keep(&a, ParsedLayer::default());
        layers.keep(&b, ParsedLayer::default());
        assert_eq!(layers.held(), 1, "b has no later use: not held");
        assert!(layers.get(&b).is_none());
        assert!(layers.get(&a).is_some());
        assert_eq!(layers.held(), 1);
        assert!(layers.get(&a).is_some());
        assert_eq!(layers.held(), 0, "dropped after its third use");
        assert_eq!((layers.parsed(), layers.reused()), (2, 2));
    }

    #[test]
    fn without_expectations_every_whole_layer_is_held_and_a_damaged_one_never() {
        let layers = ParsedLayers::new();
        layers.keep(&layer("sha256:aa"), ParsedLayer::default());
        let truncated = ParsedLayer {
            truncated: true,
            ..Default::default()
        };
        layers.keep(&layer("sha256:bb"), truncated);
        // A parse whose computed diff_id is not the declared one is not handed on.
        let other = ParsedLayer {
            diff_id: Some("sha256:cc".into()),
            ..Default::default()
        };
        layers.keep(&layer("sha256:dd"), other);
        assert_eq!(layers.held(), 1);
        for _ in 0..3 {
            assert!(layers.get(&layer("sha256:aa")).is_some());
        }
        assert!(layers.get(&layer("sha256:dd")).is_none());
    }
}
