//! Tokens verified in the last few seconds, so that a busy webhook or a
//! dashboard does not queue for the store's lock once per request to look
//! its grant up again (at 5 000 deliveries a second that lookup halved
//! ingest: each one took the lock group commit relies on).
//!
//! An entry is trusted for [`FRESH`]: a token revoked through this
//! server is forgotten at once; one revoked or expiring elsewhere (the CLI
//! on the same database) is refused at the latest [`FRESH`] later. Expiry
//! is checked against the cached grant on every use.
//!
//! Off when the store is shared by several replicas (PostgreSQL): there a
//! token revoked through one replica must be refused by all at once, and
//! the lookup is a primary-key read the database serves in parallel.

use lantern_events::Timestamp;
use lantern_governance::{Grant, TokenParts, grant::same_hash};
use std::collections::HashMap;
use std::sync::Mutex;
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

#[derive(Default)]
pub struct GrantCache {
    entries: Mutex<HashMap<String, Verified>>,
    off: bool,
}

impl GrantCache {
    /// A cache that remembers nothing, for a store other processes write.
    pub fn off() -> Self {
        GrantCache {
            off: true,
            ..GrantCache::default()
        }
    }

    /// The grant of a token verified recently, if it is still active.
    pub fn get(&self, token: &TokenParts, now: Timestamp) -> Option<Grant> {
        let entries = self.entries.lock().ok()?;
        let v = entries.get(&token.id)?;
        (v.at.elapsed() < FRESH && same_hash(&v.hash, &token.hash) && v.grant.is_active(now))
            .then(|| v.grant.clone())
    }

    /// Remembers a token the store has just verified.
    pub fn put(&self, token: &TokenParts, grant: &Grant) {
        if self.off {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
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

    pub fn forget(&self, grant_id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(grant_id);
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
        cache.put(&token, &issued.grant);
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
}
