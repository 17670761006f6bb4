//! Tokens verified in the last few seconds, so that a busy webhook or a
//! dashboard does not queue for the store's lock once per request to look
//! its grant up again (at 5 000 deliveries a second that lookup halved
//! ingest: each one took the lock group commit relies on).
//!
//! An entry is trusted for [`FRESH`]: a token revoked through this
//! server is forgotten at once; one revoked or expiring elsewhere (the CLI
//! on the same SQLite file) is refused at the latest [`FRESH`] later.
//! Expiry is checked against the cached grant on every use.
//!
//! When the store is shared by several replicas (PostgreSQL), a token
//! revoked through one replica must be refused by all at once: the cache
//! is then [`GrantCache::watched`], and remembers nothing except while the
//! store's watch listens for revocations ([`lantern_store::GrantWatch`]).
//! Each one heard is forgotten as it arrives; a watch that loses its
//! connection empties the cache and keeps it empty until it listens again.
//! A lookup that began before a revocation was heard does not put its
//! answer in the cache afterwards (the generation it began at has moved
//! on). Without a watch, a shared store's cache is off.

use lantern_events::Timestamp;
use lantern_governance::{Grant, TokenParts, grant::same_hash};
use lantern_store::GrantNotice;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub const FRESH: Duration = Duration::from_secs(5);

/// More distinct tokens than this in [`FRESH`] and the cache starts over:
/// forged ids cannot grow it without bound.
const MAX_ENTRIES: usize = 10_000;

struct Verified {
    hash: [u8; 32],
    grant: Grant,
    at: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    /// This process is the only server on the store.
    #[default]
    Local,
    /// A shared store without a watch: nothing is remembered.
    Off,
    /// A shared store whose revocations this process hears.
    Watched,
}

#[derive(Default)]
pub struct GrantCache {
    entries: Mutex<HashMap<String, Verified>>,
    mode: Mode,
    /// Watched: whether the watch listens now.
    listening: AtomicBool,
    /// Moves on with every token forgotten and every notice that empties
    /// the cache (changed with the entries' lock held).
    generation: AtomicU64,
}

impl GrantCache {
    /// A cache that remembers nothing, for a store other processes write.
    pub fn off() -> Self {
        GrantCache {
            mode: Mode::Off,
            ..GrantCache::default()
        }
    }

    /// For a store other processes write, whose revocations are heard
    /// through [`GrantCache::heard`]: empty until the watch listens.
    pub fn watched() -> Self {
        GrantCache {
            mode: Mode::Watched,
            ..GrantCache::default()
        }
    }

    fn remembers(&self) -> bool {
        match self.mode {
            Mode::Local => true,
            Mode::Off => false,
            Mode::Watched => self.listening.load(Ordering::SeqCst),
        }
    }

    /// The grant of a token verified recently, if it is still active.
    pub fn get(&self, token: &TokenParts, now: Timestamp) -> Option<Grant> {
        if !self.remembers() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        let v = entries.get(&token.id)?;
        (v.at.elapsed() < FRESH && same_hash(&v.hash, &token.hash) && v.grant.is_active(now))
            .then(|| v.grant.clone())
    }

    /// Where the cache stands: taken before asking the store, and handed
    /// to [`GrantCache::put`] with its answer.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Remembers a token the store has just verified, unless something
    /// was forgotten since `generation` (the answer may predate it).
    pub fn put(&self, token: &TokenParts, grant: &Grant, generation: u64) {
        if !self.remembers() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if self.generation.load(Ordering::SeqCst) != generation {
                return;
            }
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(
                token.id.clone(),
                Verified {
                    hash: token.hash,
                    grant: grant.clone(),
                    at: Instant::now(),
                },
            );
        }
    }

    /// The entries, also after a panic elsewhere: forgetting must not fail.
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Verified>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn forget(&self, grant_id: &str) {
        let mut entries = self.entries();
        entries.remove(grant_id);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// What the store's watch said.
    pub fn heard(&self, notice: &GrantNotice) {
        let forget_all = |listening: bool| {
            let mut entries = self.entries();
            entries.clear();
            self.generation.fetch_add(1, Ordering::SeqCst);
            self.listening.store(listening, Ordering::SeqCst);
        };
        match notice {
            GrantNotice::Listening => forget_all(true),
            GrantNotice::Lost(_) => forget_all(false),
            GrantNotice::Revoked(id) => self.forget(id),
            GrantNotice::Quiet => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantern_governance::{NewGrant, Role};

    #[test]
    fn only_the_right_secret_of_an_active_grant_is_served_from_the_cache() {
        let now = Timestamp::from_micros(1_700_000_000_000_000);
        let issued = NewGrant {
            role: Role::OrgViewer,
            teams: vec![],
            source: None,
            purpose: "a dashboard on the wall".into(),
            days: Some(1),
        }
        .issue(now, [7; 38], &[])
        .unwrap();
        let token = TokenParts::parse(&issued.token).unwrap();
        let cache = GrantCache::default();
        assert!(cache.get(&token, now).is_none());
        cache.put(&token, &issued.grant, cache.generation());
        assert_eq!(cache.get(&token, now), Some(issued.grant.clone()));
        let forged = TokenParts {
            id: token.id.clone(),
            hash: [0; 32],
        };
        assert!(cache.get(&forged, now).is_none(), "same id, other secret");
        let later = now.plus_micros(2 * 86_400_000_000);
        assert!(cache.get(&token, later).is_none(), "expired meanwhile");
        cache.forget(&issued.grant.id);
        assert!(cache.get(&token, now).is_none(), "revoked here");
    }

    fn issued(now: Timestamp, seed: u8) -> (TokenParts, Grant) {
        let issued = NewGrant {
            role: Role::Ingest,
            teams: vec![],
            source: Some("events".into()),
            purpose: "deployments sent by the CI system".into(),
            days: Some(1),
        }
        .issue(now, [seed; 38], &[])
        .unwrap();
        (TokenParts::parse(&issued.token).unwrap(), issued.grant)
    }

    #[test]
    fn a_watched_cache_remembers_only_while_its_watch_listens() {
        let now = Timestamp::from_micros(1_700_000_000_000_000);
        let (token, grant) = issued(now, 3);
        let (other, other_grant) = issued(now, 4);
        let cache = GrantCache::watched();
        cache.put(&token, &grant, cache.generation());
        assert!(cache.get(&token, now).is_none(), "not listening yet");

        cache.heard(&GrantNotice::Listening);
        cache.put(&token, &grant, cache.generation());
        cache.put(&other, &other_grant, cache.generation());
        assert_eq!(cache.get(&token, now), Some(grant.clone()));
        cache.heard(&GrantNotice::Quiet);
        assert_eq!(cache.get(&token, now), Some(grant.clone()));

        // Revoked on another replica: forgotten, the other token kept.
        cache.heard(&GrantNotice::Revoked(grant.id.clone()));
        assert!(cache.get(&token, now).is_none());
        assert_eq!(cache.get(&other, now), Some(other_grant.clone()));

        // A lookup that began before the revocation was heard answers
        // with the grant as it was: not remembered.
        let began = cache.generation();
        cache.heard(&GrantNotice::Revoked(grant.id.clone()));
        cache.put(&token, &grant, began);
        assert!(
            cache.get(&token, now).is_none(),
            "answer older than a revocation"
        );

        // The watch lost its connection: nothing is served or kept until
        // it listens again, and what was kept before is gone then too.
        cache.heard(&GrantNotice::Lost("gone".into()));
        assert!(cache.get(&other, now).is_none());
        cache.put(&other, &other_grant, cache.generation());
        cache.heard(&GrantNotice::Listening);
        assert!(cache.get(&other, now).is_none());
    }

    #[test]
    fn a_cache_that_is_off_remembers_nothing() {
        let now = Timestamp::from_micros(1_700_000_000_000_000);
        let (token, grant) = issued(now, 5);
        let cache = GrantCache::off();
        cache.heard(&GrantNotice::Listening);
        cache.put(&token, &grant, cache.generation());
        assert!(cache.get(&token, now).is_none());
    }
}
