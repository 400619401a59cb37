//! A per-principal budget of cost points per window, GitHub style: each operation is charged its
//! requested cost (see [`crate::graphql::cost`]) before it runs; once a window's points are spent,
//! operations are refused with RATE_LIMITED until the window resets.
//!
//! Fixed windows, kept in this process's memory: several processes behind one balancer each give
//! the full budget (the README says so). Windows that have ended are dropped as the map grows, so
//! memory follows the number of principals active in one window.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Past this many tracked principals, ended windows are swept out on the next charge.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct Budget {
    points: u64,
    window: Duration,
    windows: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    used: u64,
}

/// Where a principal stands after a charge (or a refusal), for the `x-ratelimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub limit: u64,
    pub used: u64,
    pub remaining: u64,
    /// How long until the window resets.
    pub resets_in: Duration,
    /// Whether this operation was refused (nothing was charged).
    pub refused: bool,
}

impl Standing {
    /// The reset time as Unix seconds, as GitHub's `x-ratelimit-reset` has it.
    pub fn reset_epoch_secs(&self) -> u64 {
        let reset = SystemTime::now() + self.resets_in;
        reset.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
    }

    /// Whole seconds to wait before retrying, at least one.
    pub fn retry_after_secs(&self) -> i64 {
        let secs = self.resets_in.as_secs() + u64::from(self.resets_in.subsec_nanos() > 0);
        i64::try_from(secs.max(1)).unwrap_or(i64::MAX)
    }
}

impl Budget {
    /// `points` per `window` for each principal. (Zero points means no budget: see the config.)
    pub fn new(points: u64, window: Duration) -> Budget {
        Budget { points, window: window.max(Duration::from_secs(1)), windows: Mutex::new(HashMap::new()) }
    }

    /// Charges `cost` to `principal` at `now`, or refuses it when the window has fewer points left.
    /// A single operation costing more than the whole budget is refused too: it never fits.
    pub fn charge(&self, principal: &str, cost: u64, now: Instant) -> Standing {
        let Ok(mut windows) = self.windows.lock() else {
            // A poisoned lock means a panic mid-update elsewhere: let traffic through rather than
            // refuse everyone.
            return self.standing(0, self.window, false);
        };
        if windows.len() > SWEEP_ABOVE {
            let window = self.window;
            windows.retain(|_, w| now.saturating_duration_since(w.started) < window);
        }
        let entry = windows.entry(principal.to_owned()).or_insert(Window { started: now, used: 0 });
        if now.saturating_duration_since(entry.started) >= self.window {
            *entry = Window { started: now, used: 0 };
        }
        let resets_in = self.window.saturating_sub(now.saturating_duration_since(entry.started));
        let after = entry.used.saturating_add(cost);
        if after > self.points {
            return self.standing(entry.used, resets_in, true);
        }
        entry.used = after;
        self.standing(after, resets_in, false)
    }

    fn standing(&self, used: u64, resets_in: Duration, refused: bool) -> Standing {
        Standing { limit: self.points, used, remaining: self.points.saturating_sub(used), resets_in, refused }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_until_the_window_is_spent_then_refuses_until_it_resets() {
        let budget = Budget::new(100, Duration::from_secs(60));
        let t0 = Instant::now();
        let s = budget.charge("user:a", 60, t0);
        assert_eq!((s.used, s.remaining, s.refused), (60, 40, false));
        let s = budget.charge("user:a", 50, t0 + Duration::from_secs(10));
        assert_eq!((s.used, s.remaining, s.refused), (60, 40, true));
        assert_eq!(s.resets_in, Duration::from_secs(50));
        assert_eq!(s.retry_after_secs(), 50);
        // Another principal has its own budget.
        assert!(!budget.charge("user:b", 100, t0).refused);
        // A new window starts fresh.
        let s = budget.charge("user:a", 50, t0 + Duration::from_secs(60));
        assert_eq!((s.used, s.refused), (50, false));
    }

    #[test]
    fn an_operation_larger_than_the_budget_never_fits() {
        let budget = Budget::new(100, Duration::from_secs(60));
        assert!(budget.charge("k", 101, Instant::now()).refused);
    }

    #[test]
    fn ended_windows_are_swept_as_the_map_grows() {
        let budget = Budget::new(10, Duration::from_secs(1));
        let t0 = Instant::now();
        for i in 0..=SWEEP_ABOVE {
            budget.charge(&format!("p{i}"), 1, t0);
        }
        budget.charge("late", 1, t0 + Duration::from_secs(2));
        assert_eq!(budget.windows.lock().expect("not poisoned").len(), 1);
    }
}
