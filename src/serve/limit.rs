//! Rate limits: so many requests at once, then one every so often, per key — a client's
//! address, or the email address a confirmation would go to (no mail-bombing a stranger).
//!
//! [`Limiter`] is a token bucket kept as one instant per key (the generic cell rate algorithm,
//! GCRA): a key is allowed when its "theoretical arrival time" is no further ahead of now than
//! the burst allows, and each allowed request pushes it one interval on. A key whose bucket has
//! refilled carries no information, so losing it changes nothing.
//!
//! # Memory
//!
//! Keys are never stored: each is hashed (SipHash under keys drawn for this limiter, so nobody
//! can aim two keys at one slot) to 64 bits, and the table holds at most `capacity` entries of
//! a hash and an instant, in two generations of `capacity / 2`: when the newer generation is
//! full the older one is dropped whole and the newer takes its place (a key found in the older
//! generation moves to the newer). Memory is fixed, whatever the traffic, and the table keeps
//! no email address. The price is that a flood of more than `capacity / 2` distinct keys within
//! one refill period can make the limiter forget a key that was being limited — which is why the
//! service limits both per client and per address, and should keep `capacity` well above the
//! distinct keys it sees in a period.
//!
//! The clock is a [`Clock`], so tests drive time by hand; a [`Mutex`] makes the limiter
//! shareable between threads.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::num::NonZeroU32;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Where the limiter reads the time.
pub trait Clock: Send + Sync {
    /// The present moment; never earlier than a moment returned before.
    fn now(&self) -> Instant;
}

/// The system's monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// How much a key may do: `burst` requests at once, then one more every `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    burst: NonZeroU32,
    interval: Duration,
}

impl Quota {
    /// `burst` requests at once, and one more every `interval`; `None` when `interval` is zero
    /// (that would be no limit at all).
    pub fn new(burst: NonZeroU32, interval: Duration) -> Option<Quota> {
        (!interval.is_zero()).then_some(Quota { burst, interval })
    }

    /// How many requests may come at once.
    pub fn burst(&self) -> NonZeroU32 {
        self.burst
    }

    /// How long one request's allowance takes to come back.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// How far ahead of now a key's arrival time may be and the request still pass.
    fn tolerance(&self) -> Duration {
        self.interval.saturating_mul(self.burst.get() - 1)
    }
}

/// A refused request: too many from this key; the next is allowed after `retry_after` (for a
/// `Retry-After` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many requests; try again in {} s", retry_after.as_secs().max(1))]
pub struct Limited {
    /// How long until the key may try again.
    pub retry_after: Duration,
}

/// A rate limiter over opaque keys, with a fixed memory bound (see the module's docs).
pub struct Limiter<C: Clock = SystemClock> {
    quota: Quota,
    clock: C,
    hasher: RandomState,
    /// The most entries each generation holds.
    generation: usize,
    table: Mutex<Table>,
}

impl<C: Clock> std::fmt::Debug for Limiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("quota", &self.quota)
            .field("capacity", &(self.generation * 2))
            .field("keys", &self.len())
            .finish()
    }
}

/// Each key's theoretical arrival time, in two generations.
struct Table {
    newer: HashMap<u64, Instant>,
    older: HashMap<u64, Instant>,
}

impl Limiter<SystemClock> {
    /// A limiter on the system clock remembering at most `capacity` keys (at least 2).
    pub fn new(quota: Quota, capacity: usize) -> Limiter<SystemClock> {
        Limiter::with_clock(quota, capacity, SystemClock)
    }
}

impl<C: Clock> Limiter<C> {
    /// A limiter reading time from `clock` and remembering at most `capacity` keys (at least
    /// 2); all its memory is taken here.
    pub fn with_clock(quota: Quota, capacity: usize, clock: C) -> Limiter<C> {
        let generation = (capacity / 2).max(1);
        Limiter {
            quota,
            clock,
            hasher: RandomState::new(),
            generation,
            table: Mutex::new(Table {
                newer: HashMap::with_capacity(generation),
                older: HashMap::with_capacity(generation),
            }),
        }
    }

    /// The quota every key has.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Counts one request from `key`: `Ok` when it is allowed, else how long to wait. A refused
    /// request uses up nothing.
    pub fn check<K: Hash + ?Sized>(&self, key: &K) -> Result<(), Limited> {
        let slot = self.hasher.hash_one(key);
        let now = self.clock.now();
        let mut table = self.lock();
        let stored = match table.newer.get(&slot) {
            Some(&at) => Some(at),
            None => table.older.remove(&slot),
        };
        // A key not seen (or forgotten) has a full bucket: its arrival time is now.
        let arrival = stored.map_or(now, |at| at.max(now));
        let ahead = arrival.saturating_duration_since(now);
        let tolerance = self.quota.tolerance();
        if ahead > tolerance {
            if let Some(at) = stored {
                // Put back what `older.remove` took, in the newer generation.
                self.insert(&mut table, slot, at);
            }
            return Err(Limited {
                retry_after: ahead - tolerance,
            });
        }
        // An instant too far to represent: refuse rather than wrap (it cannot happen with
        // intervals a person configures).
        let Some(next) = arrival.checked_add(self.quota.interval) else {
            return Err(Limited {
                retry_after: self.quota.interval,
            });
        };
        self.insert(&mut table, slot, next);
        Ok(())
    }

    /// How many keys the limiter remembers now (never more than its capacity).
    pub fn len(&self) -> usize {
        let table = self.lock();
        table.newer.len() + table.older.len()
    }

    /// Whether the limiter remembers no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every key whose bucket has refilled by now (it would be allowed a full burst
    /// anyway); the service may call it now and then, though nothing needs it for the bound.
    pub fn sweep(&self) {
        let now = self.clock.now();
        let mut table = self.lock();
        table.newer.retain(|_, at| *at > now);
        table.older.retain(|_, at| *at > now);
    }

    fn insert(&self, table: &mut Table, slot: u64, at: Instant) {
        if table.newer.len() >= self.generation && !table.newer.contains_key(&slot) {
            let Table { newer, older } = table;
            std::mem::swap(newer, older);
            // `clear` keeps the allocation: the map never grows past its first size.
            newer.clear();
        }
        table.newer.insert(slot, at);
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // A panic elsewhere while holding the lock leaves the table consistent (every change
        // is one map operation), so a poisoned lock is used as it is.
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A clock that moves only when told to.
    #[derive(Clone)]
    struct FakeClock {
        start: Instant,
        elapsed: Arc<Mutex<Duration>>,
    }

    impl FakeClock {
        fn new() -> FakeClock {
            FakeClock {
                start: Instant::now(),
                elapsed: Arc::default(),
            }
        }

        fn advance(&self, by: Duration) {
            *self.elapsed.lock().unwrap() += by;
        }
    }

    impl Clock for FakeClock {
        fn now(&self) -> Instant {
            self.start + *self.elapsed.lock().unwrap()
        }
    }

    fn quota(burst: u32, seconds: u64) -> Quota {
        Quota::new(
            NonZeroU32::new(burst).unwrap(),
            Duration::from_secs(seconds),
        )
        .unwrap()
    }

    #[test]
    fn a_burst_then_refusal_with_the_wait() {
        let clock = FakeClock::new();
        let limiter = Limiter::with_clock(quota(3, 60), 100, clock.clone());
        for _ in 0..3 {
            assert_eq!(limiter.check("li@example.com"), Ok(()));
        }
        assert_eq!(
            limiter.check("li@example.com"),
            Err(Limited {
                retry_after: Duration::from_secs(60)
            })
        );
        clock.advance(Duration::from_secs(20));
        assert_eq!(
            limiter.check("li@example.com"),
            Err(Limited {
                retry_after: Duration::from_secs(40)
            })
        );
        // Other keys are untouched.
        assert_eq!(limiter.check("someone@example.com"), Ok(()));
        assert_eq!(limiter.check(&[192u8, 0, 2, 1][..]), Ok(()));
    }

    #[test]
    fn allowance_comes_back_one_interval_at_a_time() {
        let clock = FakeClock::new();
        let limiter = Limiter::with_clock(quota(2, 10), 100, clock.clone());
        assert!(limiter.check(&1).is_ok() && limiter.check(&1).is_ok());
        assert!(limiter.check(&1).is_err());
        clock.advance(Duration::from_secs(10));
        assert!(limiter.check(&1).is_ok());
        assert!(limiter.check(&1).is_err());
        // A long pause refills the bucket, but never beyond the burst.
        clock.advance(Duration::from_secs(1000));
        assert!(limiter.check(&1).is_ok() && limiter.check(&1).is_ok());
        assert!(limiter.check(&1).is_err());
        // Refused requests use nothing up: a client hammering still gets one per interval.
        for _ in 0..100 {
            assert!(limiter.check(&1).is_err());
        }
        clock.advance(Duration::from_secs(10));
        assert!(limiter.check(&1).is_ok());
    }

    #[test]
    fn a_burst_of_one_is_one_per_interval() {
        let clock = FakeClock::new();
        let limiter = Limiter::with_clock(quota(1, 5), 10, clock.clone());
        assert!(limiter.check("k").is_ok());
        assert_eq!(
            limiter.check("k"),
            Err(Limited {
                retry_after: Duration::from_secs(5)
            })
        );
        clock.advance(Duration::from_secs(5));
        assert!(limiter.check("k").is_ok());
    }

    #[test]
    fn a_zero_interval_is_no_quota() {
        assert!(Quota::new(NonZeroU32::MIN, Duration::ZERO).is_none());
    }

    #[test]
    fn a_million_distinct_keys_stay_within_the_bound() {
        let clock = FakeClock::new();
        let capacity = 10_000;
        let limiter = Limiter::with_clock(quota(2, 3600), capacity, clock.clone());
        let allocated = {
            let t = limiter.lock();
            (t.newer.capacity(), t.older.capacity())
        };
        for key in 0u64..1_000_000 {
            assert!(limiter.check(&key).is_ok());
            if key % 50_000 == 0 {
                assert!(limiter.len() <= capacity);
            }
        }
        assert!(limiter.len() <= capacity);
        assert!(limiter.len() >= capacity / 2);
        let t = limiter.lock();
        // The maps kept their first allocation, and were not merely shrunk back.
        assert!(t.newer.capacity() <= allocated.0.max(allocated.1));
        assert!(t.older.capacity() <= allocated.0.max(allocated.1));
    }

    #[test]
    fn recent_keys_survive_eviction_and_stay_limited() {
        let clock = FakeClock::new();
        let limiter = Limiter::with_clock(quota(1, 3600), 1000, clock.clone());
        assert!(limiter.check("victim").is_ok());
        // Fewer new keys than a generation holds: the victim is remembered.
        for key in 0..400u32 {
            assert!(limiter.check(&key).is_ok());
        }
        assert!(limiter.check("victim").is_err());
        // The refused check moved it to the newer generation: it survives another 400.
        for key in 400..800u32 {
            assert!(limiter.check(&key).is_ok());
        }
        assert!(limiter.check("victim").is_err());
        // More distinct keys than the whole table: it is forgotten, with a full bucket again.
        for key in 800..2000u32 {
            assert!(limiter.check(&key).is_ok());
        }
        assert!(limiter.check("victim").is_ok());
    }

    #[test]
    fn sweeping_forgets_only_refilled_keys() {
        let clock = FakeClock::new();
        let limiter = Limiter::with_clock(quota(2, 10), 100, clock.clone());
        assert!(limiter.check("old").is_ok());
        clock.advance(Duration::from_secs(9));
        assert!(limiter.check("new").is_ok());
        assert!(limiter.check("new").is_ok());
        clock.advance(Duration::from_secs(1));
        limiter.sweep();
        assert_eq!(limiter.len(), 1);
        // The key still limited was kept, and still is; the forgotten one has a full burst.
        assert!(limiter.check("new").is_err());
        assert!(limiter.check("old").is_ok() && limiter.check("old").is_ok());
        assert!(limiter.check("old").is_err());
    }

    #[test]
    fn threads_share_one_allowance() {
        let clock = FakeClock::new();
        let limiter = Arc::new(Limiter::with_clock(quota(50, 3600), 100, clock));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let limiter = Arc::clone(&limiter);
                std::thread::spawn(move || {
                    (0..100).filter(|_| limiter.check("shared").is_ok()).count()
                })
            })
            .collect();
        let allowed: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(allowed, 50);
    }

    #[test]
    fn the_system_clock_limits_too() {
        let limiter = Limiter::new(quota(1, 3600), 4);
        assert!(limiter.check("a").is_ok());
        let refused = limiter.check("a").unwrap_err();
        assert!(refused.retry_after > Duration::from_secs(3590));
        assert_eq!(
            refused.to_string(),
            format!(
                "too many requests; try again in {} s",
                refused.retry_after.as_secs()
            )
        );
    }
}
