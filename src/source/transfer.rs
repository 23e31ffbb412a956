//! Per-layer transfer progress: how many bytes of each layer blob a source has read so
//! far, of how many, and how fast. A registry records its downloads (and its cache reads)
//! here; the progress display on a terminal and the explorer's loading gauge read
//! [`Transfers::snapshot`] from the load's [`ParseControl`](crate::layer::ParseControl).
//!
//! Counting is one relaxed atomic add per read, so the readers never wait for a display.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The transfers of one load, one per layer being read (a layer read again, after a
/// damaged cache copy, replaces its earlier transfer).
#[derive(Debug, Default)]
pub struct Transfers {
    slots: Mutex<Vec<Arc<Transfer>>>,
}

/// One layer blob being read: the reader counts into it.
#[derive(Debug)]
pub struct Transfer {
    layer: usize,
    size: u64,
    from_cache: bool,
    started: Instant,
    bytes: AtomicU64,
    /// Nanoseconds from `started` to the end (0 while running).
    finished: AtomicU64,
    done: AtomicBool,
}

/// What a transfer has done, at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferStatus {
    /// Index of the layer in the image.
    pub layer: usize,
    /// Bytes read so far.
    pub bytes: u64,
    /// The blob's size as its descriptor says.
    pub size: u64,
    /// Read from the local blob cache rather than downloaded.
    pub from_cache: bool,
    /// Time since the transfer started (until it ended, once done).
    pub elapsed: Duration,
    /// The blob was read to its end (or the read failed).
    pub done: bool,
}

impl TransferStatus {
    /// `12.3 MB / 45.0 MB, 8.1 MB/s` (`, from the cache` for a cached blob): what both the
    /// terminal's progress lines and the explorer's loading screen show for a layer.
    pub fn summary(&self) -> String {
        let si = |n: u64| bytesize::ByteSize(n).display().si().to_string();
        let origin = if self.from_cache {
            ", from the cache"
        } else {
            ""
        };
        format!(
            "{} / {}, {}/s{origin}",
            si(self.bytes),
            si(self.size),
            si(self.rate() as u64)
        )
    }

    /// Mean bytes per second so far (0 before any time has passed).
    pub fn rate(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.bytes as f64 / seconds
        } else {
            0.0
        }
    }
}

impl Transfers {
    /// Begin counting layer `layer`'s blob of `size` bytes.
    pub fn start(&self, layer: usize, size: u64, from_cache: bool) -> Arc<Transfer> {
        let transfer = Arc::new(Transfer {
            layer,
            size,
            from_cache,
            started: Instant::now(),
            bytes: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            done: AtomicBool::new(false),
        });
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.retain(|t| t.layer != layer);
        slots.push(Arc::clone(&transfer));
        transfer
    }

    /// Every transfer so far, in layer order.
    pub fn snapshot(&self) -> Vec<TransferStatus> {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let mut list: Vec<TransferStatus> = slots.iter().map(|t| t.status()).collect();
        list.sort_by_key(|s| s.layer);
        list
    }
}

impl Transfer {
    /// Count `bytes` more.
    pub fn add(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The blob is read (or its read failed): its time stops.
    pub fn finish(&self) {
        if !self.done.swap(true, Ordering::Relaxed) {
            let nanos = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.finished.store(nanos.max(1), Ordering::Relaxed);
        }
    }

    fn status(&self) -> TransferStatus {
        let done = self.done.load(Ordering::Relaxed);
        let elapsed = match self.finished.load(Ordering::Relaxed) {
            0 => self.started.elapsed(),
            nanos => Duration::from_nanos(nanos),
        };
        TransferStatus {
            layer: self.layer,
            bytes: self.bytes.load(Ordering::Relaxed),
            size: self.size,
            from_cache: self.from_cache,
            elapsed,
            done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_count_bytes_per_layer_and_stop_their_clock_when_done() {
        let transfers = Transfers::default();
        let second = transfers.start(2, 1000, false);
        let first = transfers.start(0, 10, true);
        second.add(300);
        second.add(200);
        first.add(10);
        first.finish();
        let snapshot = transfers.snapshot();
        assert_eq!(snapshot.iter().map(|s| s.layer).collect::<Vec<_>>(), [0, 2]);
        assert_eq!((snapshot[0].bytes, snapshot[0].done), (10, true));
        assert!(snapshot[0].from_cache);
        assert_eq!((snapshot[1].bytes, snapshot[1].size), (500, 1000));
        assert!(!snapshot[1].done);
        // A finished transfer's time no longer grows.
        let ended = snapshot[0].elapsed;
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(transfers.snapshot()[0].elapsed, ended);
        assert!(transfers.snapshot()[1].elapsed > snapshot[1].elapsed);
        assert!(snapshot[1].rate() > 0.0);
        // Reading a layer again replaces its transfer.
        let again = transfers.start(2, 1000, false);
        again.add(1);
        let snapshot = transfers.snapshot();
        assert_eq!(snapshot.len(), 2);
        assert_eq!(snapshot[1].bytes, 1);
    }

    #[test]
    fn the_rate_is_zero_before_time_passes() {
        let status = TransferStatus {
            layer: 0,
            bytes: 5,
            size: 5,
            from_cache: false,
            elapsed: Duration::ZERO,
            done: true,
        };
        assert_eq!(status.rate(), 0.0);
        let status = TransferStatus {
            elapsed: Duration::from_secs(2),
            ..status
        };
        assert_eq!(status.rate(), 2.5);
    }

    #[test]
    fn a_layer_line_has_bytes_size_and_rate() {
        let status = TransferStatus {
            layer: 3,
            bytes: 2_000_000,
            size: 8_000_000,
            from_cache: false,
            elapsed: Duration::from_secs(2),
            done: false,
        };
        assert_eq!(status.summary(), "2.0 MB / 8.0 MB, 1.0 MB/s");
        let cached = TransferStatus {
            from_cache: true,
            ..status
        };
        assert!(cached.summary().ends_with(", from the cache"));
    }
}
