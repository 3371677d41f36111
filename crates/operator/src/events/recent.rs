//! The recently published Events, by key: a map bounded in time (an entry lives for a TTL after
//! its last use) and in size (a hard cap; the least recently used key goes first).
//!
//! Expiry costs O(1) amortised per use: every use appends a record to a queue in time order,
//! and only the queue's front is ever examined. A key used again leaves its older record behind
//! in the queue; such stale records are recognised by their sequence number and dropped when
//! they reach the front, and the queue is compacted once it holds more than twice the cap, so
//! it never outgrows the map by more than that factor.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Values by key, each forgotten [`Recent::ttl`] after its last use or when
/// [`Recent::cap`] newer keys have been used since.
#[derive(Debug)]
pub struct Recent<V> {
    ttl: Duration,
    cap: usize,
    entries: HashMap<Arc<str>, Entry<V>>,
    /// One record per use, oldest first.
    uses: VecDeque<Use>,
    next_seq: u64,
}

#[derive(Debug)]
struct Entry<V> {
    /// The sequence number of the key's latest use: its one live record in the queue.
    seq: u64,
    /// The time of that use.
    at: Instant,
    value: V,
}

#[derive(Debug)]
struct Use {
    key: Arc<str>,
    seq: u64,
    at: Instant,
}

impl<V: Clone> Recent<V> {
    /// An empty map whose entries live `ttl` after their last use, holding at most `cap` keys
    /// (at least one).
    pub fn new(ttl: Duration, cap: usize) -> Self {
        Self {
            ttl,
            cap: cap.max(1),
            entries: HashMap::new(),
            uses: VecDeque::new(),
            next_seq: 0,
        }
    }

    /// How long an entry lives after its last use.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How many keys are kept at most.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// The number of keys held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Uses `key` at `now`: returns its value, made by `new` if the key was not held (or had
    /// expired), and keeps it for another TTL. Entries expired at `now` are forgotten first,
    /// and the least recently used ones beyond the cap after.
    ///
    /// `now` should not go backwards between calls; if it does, entries only expire a little
    /// later than they could.
    pub fn touch(&mut self, key: &str, now: Instant, new: impl FnOnce() -> V) -> V {
        self.expire(now);
        let seq = self.next_seq;
        self.next_seq += 1;
        let (key, value) = match self.entries.get_key_value(key) {
            Some((held, entry)) => (Arc::clone(held), entry.value.clone()),
            None => (Arc::from(key), new()),
        };
        self.entries.insert(
            Arc::clone(&key),
            Entry {
                seq,
                at: now,
                value: value.clone(),
            },
        );
        self.uses.push_back(Use { key, seq, at: now });
        while self.entries.len() > self.cap {
            self.pop_oldest();
        }
        if self.uses.len() > 2 * self.cap {
            self.compact();
        }
        value
    }

    /// The value of `key`, if held and not expired at `now`; does not count as a use.
    pub fn peek(&self, key: &str, now: Instant) -> Option<&V> {
        let entry = self.entries.get(key)?;
        (now.saturating_duration_since(entry.at) < self.ttl).then_some(&entry.value)
    }

    /// Forgets every entry whose last use is a TTL or more before `now`.
    pub fn expire(&mut self, now: Instant) {
        while self.uses.front().is_some_and(|u| self.expired(u, now)) {
            self.pop_oldest();
        }
    }

    fn expired(&self, used: &Use, now: Instant) -> bool {
        now.saturating_duration_since(used.at) >= self.ttl
    }

    /// Drops the oldest record, and its key if that record is the key's latest use.
    fn pop_oldest(&mut self) {
        let Some(oldest) = self.uses.pop_front() else {
            return;
        };
        if self
            .entries
            .get(&oldest.key)
            .is_some_and(|e| e.seq == oldest.seq)
        {
            self.entries.remove(&oldest.key);
        }
    }

    /// Drops the stale records: afterwards there is exactly one record per key. Runs at most
    /// once per `cap` uses, so its cost is O(1) amortised.
    fn compact(&mut self) {
        let entries = &self.entries;
        self.uses
            .retain(|u| entries.get(&u.key).is_some_and(|e| e.seq == u.seq));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(360);

    fn counter() -> impl FnMut() -> u32 {
        let mut next = 0;
        move || {
            next += 1;
            next
        }
    }

    #[test]
    fn a_key_keeps_its_value_until_its_ttl_after_the_last_use() {
        let t0 = Instant::now();
        let mut made = counter();
        let mut recent = Recent::new(TTL, 10);
        assert_eq!(recent.touch("a", t0, &mut made), 1);
        assert_eq!(recent.touch("b", t0, &mut made), 2);
        // Used again before its TTL: the same value, and the TTL restarts.
        let t1 = t0 + TTL - Duration::from_secs(1);
        assert_eq!(recent.touch("a", t1, &mut made), 1);
        assert_eq!(
            recent.peek("a", t1 + TTL - Duration::from_secs(1)),
            Some(&1)
        );
        // b was last used at t0: gone at t0 + TTL, while a lives on.
        recent.expire(t0 + TTL);
        assert_eq!(recent.len(), 1);
        assert_eq!(recent.peek("b", t0 + TTL), None);
        assert_eq!(recent.touch("b", t0 + TTL, &mut made), 3, "b starts over");
        // a expires a TTL after its last use.
        assert_eq!(recent.touch("a", t1 + TTL, &mut made), 4);
    }

    #[test]
    fn the_cap_forgets_the_least_recently_used_key_first() {
        let t0 = Instant::now();
        let mut made = counter();
        let mut recent = Recent::new(TTL, 3);
        for (i, key) in ["a", "b", "c"].iter().enumerate() {
            recent.touch(key, t0 + Duration::from_secs(i as u64), &mut made);
        }
        // a is used again, so b is now the least recently used.
        let t = t0 + Duration::from_secs(10);
        assert_eq!(recent.touch("a", t, &mut made), 1);
        assert_eq!(recent.touch("d", t, &mut made), 4);
        assert_eq!(recent.len(), 3);
        assert_eq!(recent.peek("b", t), None, "b was the oldest");
        for (key, value) in [("a", 1), ("c", 3), ("d", 4)] {
            assert_eq!(recent.peek(key, t), Some(&value), "{key}");
        }
    }

    #[test]
    fn the_queue_stays_within_twice_the_cap() {
        let t0 = Instant::now();
        let mut made = counter();
        let mut recent = Recent::new(TTL, 4);
        for i in 0..1_000u64 {
            let key = format!("k{}", i % 3);
            recent.touch(&key, t0 + Duration::from_millis(i), &mut made);
            assert!(recent.uses.len() <= 2 * recent.cap(), "after {i}");
        }
        assert_eq!(recent.len(), 3);
        assert_eq!(
            [("k0", 1), ("k1", 2), ("k2", 3)]
                .iter()
                .filter(|(k, v)| recent.peek(k, t0 + Duration::from_secs(1)) == Some(v))
                .count(),
            3,
            "repeated keys kept their first value"
        );
        // Many distinct keys: only the cap's worth is held.
        for i in 0..1_000u64 {
            recent.touch(&format!("n{i}"), t0 + Duration::from_secs(2), &mut made);
            assert!(recent.len() <= 4 && recent.uses.len() <= 8);
        }
        let t = t0 + Duration::from_secs(2);
        assert_eq!(recent.peek("n999", t), Some(&1_003));
        assert_eq!(recent.peek("n995", t), None);
        assert_eq!(recent.peek("k0", t), None);
    }

    #[test]
    fn everything_expires_in_one_pass() {
        let t0 = Instant::now();
        let mut recent = Recent::new(TTL, 100);
        for i in 0..50u64 {
            recent.touch(&format!("k{i}"), t0 + Duration::from_secs(i), || i);
        }
        recent.expire(t0 + TTL + Duration::from_secs(49));
        assert!(recent.is_empty() && recent.uses.is_empty());
    }

    #[test]
    fn a_zero_cap_still_holds_the_last_key() {
        let t0 = Instant::now();
        let mut recent = Recent::new(TTL, 0);
        assert_eq!(recent.cap(), 1);
        recent.touch("a", t0, || 1);
        assert_eq!(recent.touch("a", t0, || 2), 1);
        recent.touch("b", t0, || 3);
        assert_eq!((recent.len(), recent.peek("a", t0)), (1, None));
    }
}
