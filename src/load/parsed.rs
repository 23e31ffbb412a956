//! The layers already parsed in a run of several loads, by diff_id, so that loading many
//! images (`fleet`) parses each distinct layer once: a later image's layer with a diff_id
//! seen before is taken from here, and its blob is neither read nor downloaded. Loads that
//! run at once share it too: a layer another load (or the run's parse-ahead) is parsing is
//! waited for, not parsed a second time.
//!
//! Beyond the process, a [`LayerStore`] (fleet's database, which the load does not know)
//! is asked for a layer before it is parsed and given each whole parse: a layer another
//! run or another machine parsed is then taken from it, not parsed again.

use crate::image::LayerRef;
use crate::layer::ParsedLayer;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Parsed layers kept beyond the run (the caller's store: `fleet --db`'s database). It is
/// asked for a layer nobody in the process holds or parses, and given each whole parse
/// made under the claim it granted. A store that fails answers as if it had nothing, and
/// reports its error to its own caller afterwards: the load goes on as without it.
pub trait LayerStore: Send + Sync {
    /// The stored parse of `diff_id`; else `None`, once the right to parse it is taken
    /// (waiting, within the store's bound, while another worker holds that right).
    fn fetch_or_claim(&self, diff_id: &str) -> Option<ParsedLayer>;
    /// Keep the parse made under the claim of [`LayerStore::fetch_or_claim`].
    fn store(&self, diff_id: &str, parsed: &ParsedLayer);
    /// The parse under the claim failed or was not whole: free the layer for others.
    fn release(&self, diff_id: &str);
}

/// Parsed layers by diff_id, shared by the loads of one run ([`super::LoadOptions::layers`]).
/// It holds each distinct layer's records, so its memory grows with the distinct layers of
/// the run, not with the images; told which layers the run's images hold
/// ([`ParsedLayers::expect`]), it drops each one after its last use.
#[derive(Default)]
pub struct ParsedLayers {
    state: Mutex<State>,
    /// Signalled when a parse in progress ends (kept or not).
    ended: Condvar,
    /// Layer blobs parsed by the loads that used this set (kept or not).
    parsed: AtomicUsize,
    /// Layers taken from here instead of being parsed.
    reused: AtomicUsize,
    /// Where layers are looked for before they are parsed, and kept after.
    store: Option<Arc<dyn LayerStore>>,
    /// Layers taken from the store instead of being parsed.
    fetched: AtomicUsize,
}

#[derive(Default)]
struct State {
    slots: HashMap<String, Slot>,
    /// Uses still to come, by diff_id, when the run said ([`ParsedLayers::expect`]); a
    /// layer not in it is kept to the end.
    uses: HashMap<String, usize>,
    /// Memory of the layers held ([`ParsedLayer::heap_bytes`]).
    bytes: usize,
    /// The part of it parsed ahead and not used by a load yet: what parsing ahead is
    /// bounded by.
    ahead_bytes: usize,
}

enum Slot {
    /// Someone holds a [`Claim`] and is parsing it.
    Parsing,
    /// A parse, and whether it was parsed ahead and no load has used it yet.
    Held(Arc<ParsedLayer>, bool),
}

/// What a load finds for one of its layers ([`ParsedLayers::take`]).
pub(crate) enum Taken<'a> {
    /// An earlier parse, to apply as it is.
    Held(Arc<ParsedLayer>),
    /// Nobody has it: the load parses it and hands it over with [`Claim::keep`].
    Claimed(Claim<'a>),
    /// A layer without a sha256 diff_id is never shared.
    Unkeyed,
}

/// The right to parse one layer for the run; others asking for it wait. Dropped without
/// [`Claim::keep`] (the parse failed), the layer is free again and a waiter parses it.
pub(crate) struct Claim<'a> {
    layers: &'a ParsedLayers,
    diff_id: String,
    /// Taken by the parse-ahead, which is not one of the layer's uses.
    ahead: bool,
    done: bool,
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

impl State {
    /// Count one use of `diff_id`: whether more are to come (always, when not expected).
    fn use_once(&mut self, diff_id: &str) -> bool {
        match self.uses.get_mut(diff_id) {
            None => true,
            Some(left) => {
                *left = left.saturating_sub(1);
                if *left == 0 {
                    self.uses.remove(diff_id);
                    false
                } else {
                    true
                }
            }
        }
    }

    fn hold(&mut self, diff_id: &str, parsed: Arc<ParsedLayer>, ahead: bool) {
        self.bytes += parsed.heap_bytes();
        if ahead {
            self.ahead_bytes += parsed.heap_bytes();
        }
        self.slots
            .insert(diff_id.to_string(), Slot::Held(parsed, ahead));
    }

    /// A load takes the held parse of `diff_id` (once more).
    fn used(&mut self, diff_id: &str) -> Option<Arc<ParsedLayer>> {
        let Some(Slot::Held(parsed, ahead)) = self.slots.get_mut(diff_id) else {
            return None;
        };
        let parsed = parsed.clone();
        if std::mem::take(ahead) {
            self.ahead_bytes -= parsed.heap_bytes();
        }
        if !self.use_once(diff_id) {
            self.slots.remove(diff_id);
            self.bytes -= parsed.heap_bytes();
        }
        Some(parsed)
    }
}

impl ParsedLayers {
    pub fn new() -> Self {
        Self::default()
    }

    /// A set that looks for each layer in `store` before parsing it, and keeps each whole
    /// parse there.
    pub fn with_store(store: Arc<dyn LayerStore>) -> Self {
        ParsedLayers {
            store: Some(store),
            ..Self::default()
        }
    }

    /// How many layers were taken from the store instead of being parsed.
    pub fn fetched(&self) -> usize {
        self.fetched.load(Ordering::Relaxed)
    }

    /// The stored parse of `diff_id` (claimed here as [`Slot::Parsing`]), held for later
    /// uses as a parse would be; `None` when the store has none (the claim goes on to a
    /// parse) or there is no store.
    fn fetch(&self, diff_id: &str, ahead: bool) -> Option<Arc<ParsedLayer>> {
        let parsed = Arc::new(self.store.as_ref()?.fetch_or_claim(diff_id)?);
        self.fetched.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        state.slots.remove(diff_id);
        if ahead || state.use_once(diff_id) {
            state.hold(diff_id, parsed.clone(), ahead);
        }
        drop(state);
        self.ended.notify_all();
        Some(parsed)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Say that the run will load a layer of this diff_id once more (call it for every
    /// layer of every image known beforehand): a layer is then dropped after its last use.
    /// Only memory depends on it: a layer used more often than said is parsed again.
    pub fn expect(&self, diff_id: &str) {
        *self.lock().uses.entry(diff_id.to_string()).or_default() += 1;
    }

    /// How many parsed layers are held now.
    pub fn held(&self) -> usize {
        self.lock()
            .slots
            .values()
            .filter(|s| matches!(s, Slot::Held(..)))
            .count()
    }

    /// Bytes the held layers' records and names take (what parsing ahead is bounded by).
    pub fn held_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Bytes of layers parsed ahead that no load has used yet.
    pub fn ahead_bytes(&self) -> usize {
        self.lock().ahead_bytes
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

    /// One use of `layer` by a load: the parse held for it, or the claim to parse it. A
    /// layer being parsed elsewhere is waited for (the one parsing it never waits while
    /// it holds its claim, so this cannot deadlock).
    pub(crate) fn take(&self, layer: &LayerRef) -> Taken<'_> {
        let Some(diff_id) = key(layer) else {
            return Taken::Unkeyed;
        };
        let mut state = self.lock();
        loop {
            match state.slots.get(diff_id) {
                Some(Slot::Held(..)) => {
                    self.reused.fetch_add(1, Ordering::Relaxed);
                    let found = state.used(diff_id).expect("the layer is held");
                    return Taken::Held(found);
                }
                Some(Slot::Parsing) => {
                    state = self.ended.wait(state).unwrap_or_else(|p| p.into_inner());
                }
                None => {
                    state.slots.insert(diff_id.to_string(), Slot::Parsing);
                    drop(state);
                    // Others of the process wait on the slot while the store is asked.
                    let mut claim = self.claim(diff_id, false);
                    return match self.fetch(diff_id, false) {
                        Some(parsed) => {
                            claim.done = true;
                            Taken::Held(parsed)
                        }
                        None => Taken::Claimed(claim),
                    };
                }
            }
        }
    }

    /// The claim to parse `layer` ahead of the loads that will use it: only when a use is
    /// still expected ([`ParsedLayers::expect`], so that it is dropped after the last one)
    /// and nobody holds or parses it. Taking it counts no use.
    pub(crate) fn claim_ahead(&self, layer: &LayerRef) -> Option<Claim<'_>> {
        let diff_id = key(layer)?;
        let mut state = self.lock();
        if !state.uses.contains_key(diff_id) || state.slots.contains_key(diff_id) {
            return None;
        }
        state.slots.insert(diff_id.to_string(), Slot::Parsing);
        drop(state);
        let mut claim = self.claim(diff_id, true);
        if self.fetch(diff_id, true).is_some() {
            claim.done = true;
            return None;
        }
        Some(claim)
    }

    fn claim(&self, diff_id: &str, ahead: bool) -> Claim<'_> {
        Claim {
            layers: self,
            diff_id: diff_id.to_string(),
            ahead,
            done: false,
        }
    }
}

impl Claim<'_> {
    /// Count the parse and hold it for later uses when it is whole and its content is the
    /// one its diff_id names (when the parse computed the diff_id, it must match: a layer
    /// that fails verification is never handed to another image). A load's own parse is
    /// one use; a parse ahead is none.
    pub(crate) fn keep(mut self, parsed: ParsedLayer) -> Arc<ParsedLayer> {
        let layers = self.layers;
        layers.parsed.fetch_add(1, Ordering::Relaxed);
        let parsed = Arc::new(parsed);
        let matches = parsed.diff_id.as_deref().is_none_or(|d| d == self.diff_id);
        let mut state = layers.lock();
        state.slots.remove(&self.diff_id);
        let more = self.ahead || state.use_once(&self.diff_id);
        let whole = !parsed.truncated && matches;
        if more && whole {
            state.hold(&self.diff_id, parsed.clone(), self.ahead);
        }
        self.done = true;
        drop(state);
        layers.ended.notify_all();
        if let Some(store) = &layers.store {
            if whole {
                store.store(&self.diff_id, &parsed);
            } else {
                store.release(&self.diff_id);
            }
        }
        parsed
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.layers.lock().slots.remove(&self.diff_id);
        self.layers.ended.notify_all();
        if let Some(store) = &self.layers.store {
            store.release(&self.diff_id);
        }
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

    /// A load's use of `layer`: parses `parsed` when it holds the claim, returns whether
    /// it found the layer held.
    fn load(layers: &ParsedLayers, layer: &LayerRef, parsed: ParsedLayer) -> bool {
        match layers.take(layer) {
            Taken::Held(_) => true,
            Taken::Claimed(claim) => {
                claim.keep(parsed);
                false
            }
            Taken::Unkeyed => panic!("every test layer has a diff_id"),
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
        assert!(!load(&layers, &a, ParsedLayer::default()));
        assert!(!load(&layers, &b, ParsedLayer::default()));
        assert_eq!(layers.held(), 1, "b has no later use: not held");
        assert!(load(&layers, &a, ParsedLayer::default()));
        assert_eq!(layers.held(), 1);
        assert!(load(&layers, &a, ParsedLayer::default()));
        assert_eq!(layers.held(), 0, "dropped after its third use");
        assert_eq!((layers.parsed(), layers.reused()), (2, 2));
    }

    #[test]
    fn without_expectations_every_whole_layer_is_held_and_a_damaged_one_never() {
        let layers = ParsedLayers::new();
        load(&layers, &layer("sha256:aa"), ParsedLayer::default());
        let truncated = ParsedLayer {
            truncated: true,
            ..Default::default()
        };
        load(&layers, &layer("sha256:bb"), truncated);
        // A parse whose computed diff_id is not the declared one is not handed on.
        let other = ParsedLayer {
            diff_id: Some("sha256:cc".into()),
            ..Default::default()
        };
        load(&layers, &layer("sha256:dd"), other);
        assert_eq!(layers.held(), 1);
        for _ in 0..3 {
            assert!(load(&layers, &layer("sha256:aa"), ParsedLayer::default()));
        }
        assert!(!load(&layers, &layer("sha256:dd"), ParsedLayer::default()));
    }

    #[test]
    fn a_layer_being_parsed_is_waited_for_and_a_failed_parse_is_taken_over() {
        let a = layer("sha256:aa");
        let layers = ParsedLayers::new();
        for _ in 0..3 {
            layers.expect("sha256:aa");
        }
        let mut named = ParsedLayer::default();
        named.push(b"etc/hostname", b"", crate::tree::IMPLIED_DIR);
        let named_bytes = named.heap_bytes();
        assert!(named_bytes >= std::mem::size_of::<crate::layer::Record>() + b"etc/hostname".len());
        let Taken::Claimed(first) = layers.take(&a) else {
            panic!("nobody parsed a yet");
        };
        std::thread::scope(|scope| {
            // A second load asks while the first parses: it waits, and gets the parse.
            let waiter =
                scope.spawn(|| matches!(layers.take(&a), Taken::Held(p) if p.records.len() == 1));
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert!(!waiter.is_finished(), "the second load waits for the parse");
            first.keep(named);
            assert!(waiter.join().unwrap());
        });
        assert_eq!((layers.parsed(), layers.reused()), (1, 1));
        assert_eq!(layers.held_bytes(), named_bytes);

        // A claim dropped unkept (its parse failed) wakes the waiter, which parses it.
        let b = layer("sha256:bb");
        layers.expect("sha256:bb");
        layers.expect("sha256:bb");
        let Taken::Claimed(failing) = layers.take(&b) else {
            panic!("nobody parsed b yet");
        };
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| match layers.take(&b) {
                Taken::Claimed(claim) => {
                    claim.keep(ParsedLayer::default());
                    true
                }
                _ => false,
            });
            std::thread::sleep(std::time::Duration::from_millis(50));
            drop(failing);
            assert!(waiter.join().unwrap(), "the waiter parses b itself");
        });
        assert_eq!(layers.parsed(), 2);
    }

    /// A store holding `sha256:aa` (one record), recording what it is told.
    #[derive(Default)]
    struct Store {
        asked: Mutex<Vec<String>>,
        stored: Mutex<Vec<String>>,
        released: Mutex<Vec<String>>,
    }

    impl LayerStore for Store {
        fn fetch_or_claim(&self, diff_id: &str) -> Option<ParsedLayer> {
            self.asked.lock().unwrap().push(diff_id.into());
            (diff_id == "sha256:aa").then(|| {
                let mut parsed = ParsedLayer::default();
                parsed.push(b"etc/stored", b"", crate::tree::IMPLIED_DIR);
                parsed
            })
        }
        fn store(&self, diff_id: &str, _: &ParsedLayer) {
            self.stored.lock().unwrap().push(diff_id.into());
        }
        fn release(&self, diff_id: &str) {
            self.released.lock().unwrap().push(diff_id.into());
        }
    }

    #[test]
    fn a_stored_layer_is_taken_from_the_store_and_a_new_parse_is_kept_there() {
        let store = Arc::new(Store::default());
        let layers = ParsedLayers::with_store(store.clone());
        for _ in 0..2 {
            layers.expect("sha256:aa");
        }
        // Stored: fetched, not parsed, and held for the second use without asking again.
        for _ in 0..2 {
            match layers.take(&layer("sha256:aa")) {
                Taken::Held(parsed) => assert_eq!(parsed.records.len(), 1),
                _ => panic!("the store has aa"),
            }
        }
        assert_eq!(*store.asked.lock().unwrap(), ["sha256:aa"]);
        // Not stored: parsed under the claim and handed to the store; a failed parse
        // (the claim dropped) and a truncated one release the layer.
        assert!(!load(&layers, &layer("sha256:bb"), ParsedLayer::default()));
        drop(layers.take(&layer("sha256:cc")));
        let truncated = ParsedLayer {
            truncated: true,
            ..Default::default()
        };
        assert!(!load(&layers, &layer("sha256:dd"), truncated));
        assert_eq!(*store.stored.lock().unwrap(), ["sha256:bb"]);
        assert_eq!(*store.released.lock().unwrap(), ["sha256:cc", "sha256:dd"]);
        assert_eq!((layers.parsed(), layers.fetched()), (2, 1));
        // A parse ahead of a stored layer holds it without a claim.
        let ahead = ParsedLayers::with_store(store.clone());
        ahead.expect("sha256:aa");
        assert!(ahead.claim_ahead(&layer("sha256:aa")).is_none());
        assert_eq!(ahead.held(), 1);
    }

    #[test]
    fn a_parse_ahead_counts_no_use_and_skips_what_is_held_or_not_expected() {
        let (a, b) = (layer("sha256:aa"), layer("sha256:bb"));
        let layers = ParsedLayers::new();
        layers.expect("sha256:aa");
        assert!(layers.claim_ahead(&b).is_none(), "no use of b is expected");
        let ahead = layers.claim_ahead(&a).expect("a is expected once");
        assert!(layers.claim_ahead(&a).is_none(), "a is being parsed");
        ahead.keep(ParsedLayer::default());
        assert_eq!(layers.held(), 1, "held for its one load");
        assert!(layers.claim_ahead(&a).is_none(), "a is held");
        assert!(load(&layers, &a, ParsedLayer::default()));
        assert_eq!(layers.held(), 0, "dropped after that load");
        assert_eq!((layers.parsed(), layers.reused()), (1, 1));
    }
}
