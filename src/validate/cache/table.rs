//! The table behind [`CachedValidator`](super::CachedValidator): verified tokens in
//! shards, each behind its own lock, bounded in entries and in estimated bytes.
//!
//! A hit costs a hash of the token's last bytes, one shared lock and one comparison of
//! the whole token. The hash only places entries: a hit needs the stored token to equal
//! the presented one byte for byte, and only verified tokens are ever stored, so a
//! client can neither read another token's claims nor fill the table. When a shard is
//! full, tokens past their `exp` leave first, then entries in table order (effectively
//! at random: the order is that of a keyed hash).

use std::hash::BuildHasher;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use foldhash::fast::RandomState;
use hashbrown::HashTable;

use crate::validate::jwt::Times;

/// How many bytes of the token's end are hashed: inside the signature, which differs
/// between any two tokens of asymmetric keys (and of HMAC keys but for a forgery,
/// which fails the byte comparison).
const HASHED_TAIL: usize = 32;

/// Entries per shard before the table takes another shard (up to [`MAX_SHARDS`]).
const ENTRIES_PER_SHARD: u64 = 256;
const MAX_SHARDS: u64 = 64;

/// A verified token and what a hit returns.
pub(super) struct Entry<T> {
    pub(super) token: Box<str>,
    pub(super) claims: T,
    pub(super) times: Times,
    /// The key set's generation (always 0 in front of a static validator).
    pub(super) generation: u64,
    /// The entry's estimated size, counted against the shard's byte budget.
    pub(super) weight: u64,
}

struct Shard<T> {
    entries: HashTable<Entry<T>>,
    bytes: u64,
}

pub(super) struct Table<T> {
    shards: Box<[RwLock<Shard<T>>]>,
    hasher: RandomState,
    /// `shards.len() - 1`, a power of two minus one.
    mask: u64,
    entries_per_shard: u64,
    bytes_per_shard: u64,
    /// Every entry weighs at least this much, so the byte budget also bounds the count.
    floor: u64,
}

impl<T> Table<T> {
    /// A table of at most `max_entries` entries and about `max_bytes` bytes.
    pub(super) fn new(max_entries: u64, max_bytes: u64) -> Self {
        let max_entries = max_entries.max(1);
        let count = (max_entries / ENTRIES_PER_SHARD).clamp(1, MAX_SHARDS);
        // The largest power of two not above `count`, so no shard's share rounds to 0.
        let count = 1u64 << (63 - count.leading_zeros());
        let shards = (0..count)
            .map(|_| {
                RwLock::new(Shard {
                    entries: HashTable::new(),
                    bytes: 0,
                })
            })
            .collect();
        Self {
            shards,
            hasher: RandomState::default(),
            mask: count - 1,
            entries_per_shard: max_entries / count,
            bytes_per_shard: (max_bytes / count).max(1),
            floor: (max_bytes / max_entries).max(1),
        }
    }

    #[inline]
    fn hash(&self, token: &str) -> u64 {
        let bytes = token.as_bytes();
        let tail = bytes
            .get(bytes.len().saturating_sub(HASHED_TAIL)..)
            .unwrap_or(bytes);
        self.hasher.hash_one((tail, bytes.len()))
    }

    #[inline]
    fn shard(&self, hash: u64) -> &RwLock<Shard<T>> {
        // The high bits pick the shard; hashbrown uses the low ones (and the top 7).
        let index = usize::try_from((hash >> 32) & self.mask).unwrap_or(0);
        &self.shards[index]
    }

    /// The claims and times of `token`, if it is stored under `generation`.
    #[inline]
    pub(super) fn get(&self, token: &str, generation: u64) -> Option<(T, Times)>
    where
        T: Clone,
    {
        let hash = self.hash(token);
        let shard = read(self.shard(hash));
        let entry = shard.entries.find(hash, |entry| *entry.token == *token)?;
        (entry.generation == generation).then(|| (entry.claims.clone(), entry.times))
    }

    /// Stores a verified token, replacing an entry of the same token; makes room first.
    pub(super) fn insert(&self, entry: Entry<T>, now: i64, leeway: i64) {
        let weight = entry.weight.max(self.floor);
        if weight > self.bytes_per_shard {
            // It could never fit: leave the shard's entries alone.
            return;
        }
        let hash = self.hash(&entry.token);
        let mut shard = write(self.shard(hash));
        let hasher = |entry: &Entry<T>| self.hash(&entry.token);
        if let Ok(old) = shard
            .entries
            .find_entry(hash, |old| old.token == entry.token)
        {
            let (old, _) = old.remove();
            shard.bytes = shard.bytes.saturating_sub(old.weight.max(self.floor));
        }
        let full = |shard: &Shard<T>| {
            shard.entries.len() as u64 >= self.entries_per_shard
                || shard.bytes.saturating_add(weight) > self.bytes_per_shard
        };
        if full(&shard) {
            shard.remove_expired(now, leeway, self.floor);
        }
        while !shard.entries.is_empty() && full(&shard) {
            self.remove_first(&mut shard);
        }
        shard.bytes += weight;
        shard.entries.insert_unique(hash, entry, hasher);
    }

    /// Removes the shard's first entry in table order.
    fn remove_first(&self, shard: &mut Shard<T>) {
        let Some((hash, address)) = shard
            .entries
            .iter()
            .next()
            .map(|first| (self.hash(&first.token), std::ptr::from_ref(first) as usize))
        else {
            return;
        };
        let found = shard
            .entries
            .find_entry(hash, |entry| std::ptr::from_ref(entry) as usize == address);
        if let Ok(found) = found {
            let (entry, _) = found.remove();
            shard.bytes = shard.bytes.saturating_sub(entry.weight.max(self.floor));
        }
    }

    /// Removes `token`'s entry.
    pub(super) fn remove(&self, token: &str) {
        let hash = self.hash(token);
        let mut shard = write(self.shard(hash));
        if let Ok(entry) = shard
            .entries
            .find_entry(hash, |entry| *entry.token == *token)
        {
            let (entry, _) = entry.remove();
            shard.bytes = shard.bytes.saturating_sub(entry.weight.max(self.floor));
        }
    }

    /// Removes every entry past its `exp` (plus `leeway`).
    pub(super) fn remove_all_expired(&self, now: i64, leeway: i64) {
        for shard in self.shards.iter() {
            write(shard).remove_expired(now, leeway, self.floor);
        }
    }

    /// The number of entries.
    pub(super) fn len(&self) -> u64 {
        self.shards
            .iter()
            .map(|shard| read(shard).entries.len() as u64)
            .sum()
    }
}

impl<T> Shard<T> {
    fn remove_expired(&mut self, now: i64, leeway: i64, floor: u64) {
        let mut freed = 0;
        self.entries.retain(|entry| {
            let live = now.saturating_sub(leeway) < entry.times.exp;
            if !live {
                freed += entry.weight.max(floor);
            }
            live
        });
        self.bytes = self.bytes.saturating_sub(freed);
    }
}

/// A lock poisoned by a panic elsewhere still holds consistent entries: every
/// mutation completes before any call that could panic.
fn read<S>(lock: &RwLock<S>) -> RwLockReadGuard<'_, S> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<S>(lock: &RwLock<S>) -> RwLockWriteGuard<'_, S> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000;

    fn entry(token: &str, exp: i64) -> Entry<String> {
        Entry {
            token: token.into(),
            claims: format!("claims of {token}"),
            times: Times { exp, nbf: None },
            generation: 0,
            weight: 100,
        }
    }

    fn token(n: usize) -> String {
        format!("header.payload.signature-{n:08}")
    }

    #[test]
    fn table_hit_needs_the_whole_token_ok() {
        let table = Table::new(16, 1 << 20);
        let stored = format!("A{}", &token(1)[1..]);
        table.insert(entry(&stored, NOW + 60), NOW, 0);
        // Same last 32 bytes and length, so the same hash: only the comparison differs.
        let other = format!("B{}", &token(1)[1..]);
        assert!(table.get(&other, 0).is_none());
        assert_eq!(
            table.get(&stored, 0).map(|(claims, _)| claims),
            Some(format!("claims of {stored}"))
        );
        assert!(
            table.get(&stored, 1).is_none(),
            "another key-set generation misses"
        );
    }

    #[test]
    fn table_entries_bounded_over_many_shards_ok() {
        let table = Table::new(1_024, 1 << 30);
        assert!(table.shards.len() > 1);
        for n in 0..10_000 {
            table.insert(entry(&token(n), NOW + 60), NOW, 0);
        }
        assert!(table.len() <= 1_024, "{} entries", table.len());
        assert!(table.len() >= 512, "{} entries", table.len());
        assert!(
            table.get(&token(9_999), 0).is_some(),
            "the newest entry is kept"
        );
    }

    #[test]
    fn table_bytes_bounded_and_counted_back_ok() {
        // One shard, with room for 10 entries of 100 bytes.
        let table = Table::new(200, 1_000);
        assert_eq!(table.shards.len(), 1);
        for n in 0..50 {
            table.insert(entry(&token(n), NOW + 60), NOW, 0);
        }
        assert_eq!(table.len(), 10);
        // Replacing or removing an entry gives its bytes back.
        table.insert(entry(&token(49), NOW + 60), NOW, 0);
        table.remove(&token(49));
        assert_eq!(table.len(), 9);
        table.insert(entry(&token(100), NOW + 60), NOW, 0);
        assert_eq!(table.len(), 10);
        assert_eq!(read(&table.shards[0]).bytes, 1_000);
    }

    #[test]
    fn table_full_shard_drops_expired_entries_first_ok() {
        let table = Table::new(4, 1 << 20);
        table.insert(entry(&token(0), NOW + 60), NOW, 0);
        for n in 1..4 {
            table.insert(entry(&token(n), NOW + 1), NOW, 0);
        }
        // Later, the three short-lived tokens have expired; a new one takes their room.
        table.insert(entry(&token(4), NOW + 60), NOW + 5, 0);
        assert_eq!(table.len(), 2);
        assert!(table.get(&token(0), 0).is_some());
        assert!(table.get(&token(4), 0).is_some());
    }

    #[test]
    fn table_remove_all_expired_keeps_live_entries_ok() {
        let table = Table::new(100, 1 << 20);
        table.insert(entry(&token(0), NOW + 60), NOW, 0);
        table.insert(entry(&token(1), NOW + 1), NOW, 0);
        // Within the leeway the short-lived token stays.
        table.remove_all_expired(NOW + 5, 10);
        assert_eq!(table.len(), 2);
        table.remove_all_expired(NOW + 5, 0);
        assert_eq!(table.len(), 1);
        assert!(table.get(&token(0), 0).is_some());
    }

    #[test]
    fn table_entry_over_the_budget_not_stored_fails() {
        // Room for one entry of 100 bytes; one of 200 never fits.
        let table = Table::new(1, 100);
        table.insert(entry(&token(0), NOW + 60), NOW, 0);
        let mut heavy = entry(&token(1), NOW + 60);
        heavy.weight = 200;
        table.insert(heavy, NOW, 0);
        assert_eq!(table.len(), 1, "the entry already stored stays");
        assert!(table.get(&token(0), 0).is_some());
        assert!(table.get(&token(1), 0).is_none());
    }
}
