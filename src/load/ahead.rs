//! How far the parsers may run ahead of the merge.
//!
//! Parsers take layers largest first, so the longest parse starts at once, but the merge
//! applies them in stack order: every layer parsed before the ones under it waits, whole,
//! in memory. When the merge is the slower side (many small entries, no compression to
//! inflate) that wait held every layer of the image at once. So parsed layers waiting for
//! the merge have a byte budget: past it, a parser takes only the layers the merge
//! applies next, or waits until the merge catches up.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

/// Heap bytes of parsed layers that may wait for the merge before the parsers hold back.
/// A million-path image parses to some 130 MB: without the budget, nearly all of it
/// waited behind its large first layer.
pub const PARSE_AHEAD_BYTES: usize = 32 << 20;

/// Past the budget, how many layers per parser the parsers may still take ahead of the
/// merge, in stack order: enough that the merge does not wait for each one's parse.
pub const LOOKAHEAD: usize = 2;

/// Hands out parse jobs (indices into the load's job order, largest first).
pub struct Ahead {
    state: Mutex<State>,
    changed: Condvar,
    budget: usize,
}

struct State {
    claimed: Vec<bool>,
    /// Every job before this one is claimed.
    next: usize,
    /// Heap bytes of parses done and not yet dropped by the merge.
    waiting: usize,
    /// The jobs the merge needs next, nearest first: past the budget only these are taken.
    needed: Vec<usize>,
    /// The merge has stopped (done or failed): nobody will take more parses.
    closed: bool,
}

impl Ahead {
    /// `needed`: the jobs of the layers the merge applies first, nearest first.
    pub fn new(jobs: usize, needed: Vec<usize>, budget: usize) -> Self {
        Ahead {
            state: Mutex::new(State {
                claimed: vec![false; jobs],
                next: 0,
                waiting: 0,
                needed,
                closed: false,
            }),
            changed: Condvar::new(),
            budget,
        }
    }

    /// The next job to parse, or `None` when every job is taken, the merge has stopped or
    /// `cancelled` says so. Blocks while the budget is spent and the merge waits on no
    /// untaken job.
    pub fn claim(&self, cancelled: impl Fn() -> bool) -> Option<usize> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if state.closed || cancelled() {
                return None;
            }
            while state.next < state.claimed.len() && state.claimed[state.next] {
                state.next += 1;
            }
            if state.next == state.claimed.len() {
                return None;
            }
            let job = if state.waiting <= self.budget {
                Some(state.next)
            } else {
                // The layers the merge applies next are always taken: they drain the wait.
                state
                    .needed
                    .iter()
                    .copied()
                    .find(|&job| !state.claimed[job])
            };
            if let Some(job) = job {
                state.claimed[job] = true;
                return Some(job);
            }
            // The timeout only rechecks `cancelled`, which is not ours to signal.
            state = self
                .changed
                .wait_timeout(state, Duration::from_millis(100))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// A parse of `bytes` now waits for the merge.
    pub fn parsed(&self, bytes: usize) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.waiting = state.waiting.saturating_add(bytes);
        self.changed.notify_all();
    }

    /// The merge dropped parses of `freed` bytes, and now needs `needed`.
    pub fn merged(&self, freed: usize, needed: impl IntoIterator<Item = usize>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.waiting = state.waiting.saturating_sub(freed);
        state.needed.clear();
        state.needed.extend(needed);
        self.changed.notify_all();
    }

    /// The merge stopped: release every parser that waits.
    pub fn close(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.closed = true;
        self.changed.notify_all();
    }
}

/// Closes the [`Ahead`] when the merge leaves, by any path, so no parser waits forever.
pub struct CloseOnDrop<'a>(pub &'a Ahead);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_the_budget_jobs_go_in_order() {
        let ahead = Ahead::new(3, vec![2], 10);
        assert_eq!(ahead.claim(|| false), Some(0));
        ahead.parsed(10);
        assert_eq!(ahead.claim(|| false), Some(1));
        assert_eq!(ahead.claim(|| false), Some(2));
        assert_eq!(ahead.claim(|| false), None);
    }

    #[test]
    fn past_the_budget_only_the_needed_job_is_taken() {
        // Jobs largest first: the merge needs job 2 (the bottom layer) first.
        let ahead = Ahead::new(4, vec![2], 10);
        assert_eq!(ahead.claim(|| false), Some(0));
        ahead.parsed(11);
        assert_eq!(
            ahead.claim(|| false),
            Some(2),
            "the merge's layer jumps the queue"
        );
        // Budget spent and the needed layer taken: a parser waits until the merge frees.
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| ahead.claim(|| false));
            std::thread::sleep(Duration::from_millis(50));
            assert!(
                !waiter.is_finished(),
                "a parser waits while the budget is spent"
            );
            ahead.merged(11, [3]);
            assert_eq!(waiter.join().unwrap(), Some(1));
        });
    }

    /// Parsers and an in-order merge, as the load runs them, with a budget far below
    /// one layer: every job is parsed once, the merge never waits forever, and past the
    /// budget no more than the lookahead's layers wait at once.
    #[test]
    fn an_in_order_merge_always_finishes_within_the_lookahead() {
        let (layers, threads) = (40usize, 3usize);
        // Largest first, as the load orders them: layer sizes by a fixed shuffle.
        let size = |layer: usize| (layer * 7919) % 97 + 1;
        let mut order: Vec<usize> = (0..layers).collect();
        order.sort_by_key(|&layer| std::cmp::Reverse(size(layer)));
        let mut job_of = vec![0; layers];
        for (job, &layer) in order.iter().enumerate() {
            job_of[layer] = job;
        }
        let needed = |applied: usize| -> Vec<usize> {
            job_of[applied..(applied + LOOKAHEAD * threads).min(layers)].to_vec()
        };
        let ahead = Ahead::new(layers, needed(0), 0);
        let (sender, receiver) = std::sync::mpsc::channel::<usize>();
        let most_waiting = std::thread::scope(|scope| {
            let _close = CloseOnDrop(&ahead);
            for _ in 0..threads {
                let (sender, ahead, order) = (sender.clone(), &ahead, &order);
                scope.spawn(move || {
                    while let Some(job) = ahead.claim(|| false) {
                        ahead.parsed(1);
                        sender.send(order[job]).unwrap();
                    }
                });
            }
            drop(sender);
            let (mut waiting, mut most, mut applied) = (Vec::new(), 0, 0);
            while applied < layers {
                let layer = receiver
                    .recv_timeout(Duration::from_secs(10))
                    .expect("the parsers keep feeding the merge");
                waiting.push(layer);
                most = most.max(waiting.len());
                let mut freed = 0;
                while let Some(at) = waiting.iter().position(|&l| l == applied) {
                    waiting.swap_remove(at);
                    applied += 1;
                    freed += 1;
                }
                ahead.merged(freed, needed(applied));
            }
            assert!(receiver.recv().is_err(), "no layer is parsed twice");
            most
        });
        // The first claims come before any parse is counted: one per parser, plus the
        // lookahead's layers.
        assert!(
            most_waiting <= LOOKAHEAD * threads + threads,
            "{most_waiting} layers waited at once"
        );
    }

    #[test]
    fn a_stopped_merge_releases_waiting_parsers() {
        let ahead = Ahead::new(3, vec![0], 0);
        assert_eq!(ahead.claim(|| false), Some(0));
        ahead.parsed(1);
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| ahead.claim(|| false));
            std::thread::sleep(Duration::from_millis(50));
            drop(CloseOnDrop(&ahead));
            assert_eq!(waiter.join().unwrap(), None);
        });
    }
}
