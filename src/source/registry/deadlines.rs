//! Time limits on a pull, so that a slow or hostile registry cannot hold it for ever: a
//! deadline for each document, a rate floor for each blob (curl's `--speed-limit` and
//! `--speed-time`), and one budget for all the waits of a pull (retries, `Retry-After`,
//! resume back-offs). Each read of a socket also has reqwest's read timeout, but a server
//! that sends one byte just inside it would pass that for ever.

use std::sync::Mutex;
use std::time::Duration;

/// The limits of one pull; `Default` is what README's limits table documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeLimits {
    /// A document (manifest, index, config, token response, error body), and the status
    /// line and headers of any answer, must arrive whole within this.
    pub document: Duration,
    /// A blob slower than this many bytes per second for `speed_time` fails; 0: no floor.
    pub speed_limit: u64,
    pub speed_time: Duration,
    /// All waits of one pull together, before it gives up.
    pub wait_budget: Duration,
}

impl Default for TimeLimits {
    fn default() -> Self {
        TimeLimits {
            document: Duration::from_secs(30),
            speed_limit: 1024,
            speed_time: Duration::from_secs(30),
            wait_budget: Duration::from_secs(60),
        }
    }
}

/// `30 s`, `1.5 s`, `200 ms`: for messages.
pub fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs < 1.0 && !duration.is_zero() {
        format!("{} ms", duration.as_millis())
    } else if secs.fract() == 0.0 {
        format!("{secs:.0} s")
    } else {
        format!("{secs:.1} s")
    }
}

/// `1 KiB/s`, `300 B/s`: for messages.
pub fn rate(bytes_per_second: u64) -> String {
    match bytes_per_second {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB/s", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB/s", n >> 10),
        n => format!("{n} B/s"),
    }
}

/// One blob's rate floor. Every stretch of `speed_time` spent waiting on the socket must
/// bring `speed_limit × speed_time` bytes; a stretch starts again each time it has. Only
/// time spent waiting for the network counts: a parse that falls behind stops reading,
/// and that is not the server's slowness.
pub struct RateFloor {
    limit: u64,
    window: Duration,
    waited: Duration,
    bytes: u64,
}

impl RateFloor {
    pub fn new(limits: &TimeLimits) -> RateFloor {
        RateFloor {
            limit: limits.speed_limit,
            window: limits.speed_time,
            waited: Duration::ZERO,
            bytes: 0,
        }
    }

    /// How long the next read may wait before the floor is broken; `None` without a floor.
    pub fn allowance(&self) -> Option<Duration> {
        (self.limit > 0).then(|| self.window.saturating_sub(self.waited))
    }

    /// Count a read that waited `took` and brought `bytes`; false once the floor is broken.
    pub fn record(&mut self, took: Duration, bytes: u64) -> bool {
        if self.limit == 0 {
            return true;
        }
        self.waited += took;
        self.bytes = self.bytes.saturating_add(bytes);
        let needed = self.limit as f64 * self.window.as_secs_f64();
        if self.bytes as f64 >= needed {
            self.waited = Duration::ZERO;
            self.bytes = 0;
            return true;
        }
        self.waited < self.window
    }

    /// `slower than 1 KiB/s for 30 s`.
    pub fn describe(&self) -> String {
        format!(
            "slower than {} for {}",
            rate(self.limit),
            seconds(self.window)
        )
    }
}

/// What the waits of one pull may add up to, shared by its downloads.
pub struct WaitBudget {
    budget: Duration,
    state: Mutex<(Duration, bool)>,
}

impl WaitBudget {
    pub fn new(budget: Duration) -> WaitBudget {
        WaitBudget {
            budget,
            state: Mutex::new((Duration::ZERO, false)),
        }
    }

    /// Sleep `wait` if the budget has room for it; else say why not, and refuse every later
    /// wait too (a pull that gave up once should not go on retrying elsewhere).
    pub fn wait(&self, wait: Duration) -> Result<(), String> {
        {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let (spent, refused) = &mut *state;
            if *refused || *spent + wait > self.budget {
                *refused = true;
                return Err(format!(
                    "waiting {} more would pass the pull's wait budget of {} ({} spent on retries)",
                    seconds(wait),
                    seconds(self.budget),
                    seconds(*spent)
                ));
            }
            *spent += wait;
        }
        std::thread::sleep(wait);
        Ok(())
    }

    /// Whether a wait has been refused: retrying is then pointless.
    pub fn spent(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults are the ones README's limits table documents.
    #[test]
    fn defaults_are_the_documented_ones() {
        let limits = TimeLimits::default();
        assert_eq!(limits.document, Duration::from_secs(30));
        assert_eq!(limits.speed_limit, 1024);
        assert_eq!(limits.speed_time, Duration::from_secs(30));
        assert_eq!(limits.wait_budget, Duration::from_secs(60));
        assert_eq!(
            RateFloor::new(&limits).describe(),
            "slower than 1 KiB/s for 30 s"
        );
        let readme = include_str!("../../../README.md");
        for row in [
            "| a registry document (manifest, index, config, token response, error body), and the headers of any answer | 30 s |",
            "| a registry blob's rate | at least 1 KiB/s over every 30 s |",
            "| waits in one pull (retries, `Retry-After`, resume back-offs), all together | 60 s |",
        ] {
            assert!(readme.contains(row), "README's limits table lacks {row:?}");
        }
    }

    #[test]
    fn the_floor_counts_waiting_time_and_starts_again_once_met() {
        let limits = TimeLimits {
            speed_limit: 100,
            speed_time: Duration::from_secs(10),
            ..TimeLimits::default()
        };
        let mut floor = RateFloor::new(&limits);
        assert_eq!(floor.allowance(), Some(Duration::from_secs(10)));
        // 999 bytes in 9 s: short of 1000, but the window is not over.
        assert!(floor.record(Duration::from_secs(9), 999));
        assert_eq!(floor.allowance(), Some(Duration::from_secs(1)));
        // One more byte meets the floor: a new window.
        assert!(floor.record(Duration::ZERO, 1));
        assert_eq!(floor.allowance(), Some(Duration::from_secs(10)));
        // A whole window with too little: broken.
        assert!(floor.record(Duration::from_secs(6), 500));
        assert!(!floor.record(Duration::from_secs(4), 10));
        // No floor at all.
        let off = RateFloor::new(&TimeLimits {
            speed_limit: 0,
            ..limits
        });
        assert_eq!(off.allowance(), None);
    }

    #[test]
    fn the_budget_is_shared_and_refuses_once_spent() {
        let budget = WaitBudget::new(Duration::from_millis(30));
        assert!(budget.wait(Duration::from_millis(20)).is_ok());
        let refused = budget.wait(Duration::from_millis(20)).unwrap_err();
        assert!(refused.contains("wait budget of 30 ms"), "{refused}");
        assert!(budget.spent());
        // Even a wait that would fit is refused once the pull gave up.
        assert!(budget.wait(Duration::from_millis(1)).is_err());
        assert_eq!(rate(1024), "1 KiB/s");
        assert_eq!(rate(1536), "1536 B/s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
    }
}
