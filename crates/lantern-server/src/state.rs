//! What every handler shares. The store is a few connections (one for
//! SQLite: one writer at a time is what it allows anyway; `connections`
//! for PostgreSQL), each used by one request at a time on tokio's blocking
//! threads, since store work is synchronous. Requests take turns through a
//! fair semaphore (first come, first served): a report waits for the
//! deliveries queued before it, not for every delivery that keeps coming,
//! and with several connections a long report holds up only its own.

use crate::problem::Problem;
use crate::settings::Settings;
use lantern_events::Pseudonymiser;
use lantern_store::Store;
use std::sync::Arc;

/// The store's connections: a permit for each, and those not in use.
struct Pool {
    permits: Arc<tokio::sync::Semaphore>,
    free: std::sync::Mutex<Vec<Box<dyn Store + Send>>>,
}

/// A connection taken from the pool, put back when dropped — also when the
/// work with it panicked (the store is transactional: nothing half done
/// stays behind).
struct Lease<'p> {
    pool: &'p Pool,
    store: Option<Box<dyn Store + Send>>,
}

impl Pool {
    fn take(&self) -> Lease<'_> {
        let store = self
            .free
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        Lease { pool: self, store }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            self.pool
                .free
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(store);
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    stores: Pool,
    pseudonymiser: Pseudonymiser,
    settings: Settings,
    writes: tokio::sync::mpsc::Sender<Delivery>,
    grants: crate::grant_cache::GrantCache,
    refusals: crate::refusals::Refusals,
    /// What `/metrics` keeps between scrapes (one scrape at a time reads
    /// the store; another waits and finds it up to date).
    exposition: std::sync::Mutex<lantern_app::exposition::ExpositionCache>,
}

/// Events a receiver wants committed, and where to say that they are.
struct Delivery {
    /// The receiver it came through (hygiene.md F1 notes when each delivers).
    receiver: &'static str,
    events: Vec<lantern_events::Event>,
    merge: bool,
    committed: tokio::sync::oneshot::Sender<Result<(), Problem>>,
}

/// Deliveries committed together, at most this many at a time.
const GROUP: usize = 256;

impl AppState {
    /// Also starts the group-commit task (on the current tokio runtime).
    /// `stores`: one or more connections to one store.
    pub fn new(
        stores: Vec<Box<dyn Store + Send>>,
        pseudonymiser: Pseudonymiser,
        settings: Settings,
    ) -> Self {
        let (writes, queue) = tokio::sync::mpsc::channel(4 * GROUP);
        let shared = stores.iter().any(|s| s.is_shared());
        let watch = match shared {
            true => stores.first().and_then(|s| s.watch_grants()),
            false => None,
        };
        let grants = match (shared, &watch) {
            (false, _) => Default::default(),
            (true, Some(_)) => crate::grant_cache::GrantCache::watched(),
            (true, None) => crate::grant_cache::GrantCache::off(),
        };
        let state = AppState {
            inner: Arc::new(Inner {
                stores: Pool {
                    permits: Arc::new(tokio::sync::Semaphore::new(stores.len())),
                    free: std::sync::Mutex::new(stores),
                },
                pseudonymiser,
                settings,
                writes,
                grants,
                refusals: Default::default(),
                exposition: Default::default(),
            }),
        };
        // The task holds only a weak handle: when the server stops and the
        // last state goes, the queue closes and the task ends.
        tokio::spawn(group_commit(Arc::downgrade(&state.inner), queue));
        if let Some(watch) = watch {
            listen_for_revocations(Arc::downgrade(&state.inner), watch);
        }
        state
    }

    /// Commits `events` (merged into stored ones when `merge`) together
    /// with whatever else is waiting; returns once they are committed.
    pub async fn commit(
        &self,
        receiver: &'static str,
        mut events: Vec<lantern_events::Event>,
        merge: bool,
    ) -> Result<(), Problem> {
        // Rule 6: review detail not sampled never reaches the store.
        self.app()
            .governance
            .review_sampling
            .apply(self.pseudonymiser(), &mut events);
        let (committed, done) = tokio::sync::oneshot::channel();
        self.inner
            .writes
            .send(Delivery {
                receiver,
                events,
                merge,
                committed,
            })
            .await
            .map_err(|_| Problem::internal("the writer has stopped"))?;
        done.await
            .map_err(|_| Problem::internal("the writer stopped before committing"))?
    }

    /// `/metrics`' text for `reader` now, through the cache the scrapes
    /// share (one at a time).
    pub fn exposition(
        &self,
        store: &mut dyn Store,
        reader: lantern_app::report::Reader,
        format: lantern_app::exposition::Format,
    ) -> Result<String, Problem> {
        // A scrape that panicked left rows that are each whole: keep them.
        let mut cache = self
            .inner
            .exposition
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(lantern_app::exposition::exposition(
            store,
            self.app(),
            reader,
            lantern_events::Timestamp::now(),
            format,
            &mut cache,
        )?)
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// lantern.toml's settings, as the use cases take them.
    pub fn app(&self) -> &lantern_app::Settings {
        &self.inner.settings.app
    }

    pub fn pseudonymiser(&self) -> &Pseudonymiser {
        &self.inner.pseudonymiser
    }

    /// Tokens verified in the last few seconds (see `grant_cache`).
    /// Refusals of unnamed senders, counted per kind and minute.
    pub fn refusals(&self) -> &crate::refusals::Refusals {
        &self.inner.refusals
    }

    pub fn grants(&self) -> &crate::grant_cache::GrantCache {
        &self.inner.grants
    }

    /// Runs `work` with the store on a blocking thread.
    pub async fn with_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut dyn Store, &AppState) -> Result<T, Problem> + Send + 'static,
    ) -> Result<T, Problem> {
        let state = self.clone();
        // Waiting for a connection is async: no blocking thread sits idle.
        // The permit goes with the work, so a request abandoned meanwhile
        // frees its connection only once the work is done with it.
        let permit = self
            .inner
            .stores
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Problem::internal("the store has closed"))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut lease = state.inner.stores.take();
            match lease.store.as_mut() {
                Some(store) => work(store.as_mut(), &state),
                None => Err(Problem::internal("no store connection was free")),
            }
        })
        .await
        .map_err(|e| Problem::internal(format!("the request's work failed: {e}")))?
    }
}

/// Hands what the store's watch hears to the grant cache, on a thread of
/// its own (the watch blocks), until the server stops.
fn listen_for_revocations(
    inner: std::sync::Weak<Inner>,
    mut watch: Box<dyn lantern_store::GrantWatch>,
) {
    let listen = move || {
        let mut lost = false;
        loop {
            // Short waits: a stopped server's thread ends within one.
            let notice = watch.next(std::time::Duration::from_millis(500));
            let Some(inner) = inner.upgrade() else { return };
            match &notice {
                lantern_store::GrantNotice::Lost(why) if !lost => {
                    tracing::warn!(
                        why,
                        "not hearing revocations: tokens are looked up on every request until the watch listens again"
                    );
                    lost = true;
                }
                lantern_store::GrantNotice::Listening => lost = false,
                _ => {}
            }
            inner.grants.heard(&notice);
        }
    };
    if let Err(e) = std::thread::Builder::new()
        .name("grant-watch".into())
        .spawn(listen)
    {
        // The cache stays empty (it remembers only while listening).
        tracing::warn!(error = %e, "could not start listening for revocations");
    }
}

/// One transaction for every delivery waiting: SQLite commits one at a
/// time, so committing many together multiplies throughput, and a report
/// queues behind one group rather than behind each delivery.
async fn group_commit(
    inner: std::sync::Weak<Inner>,
    mut queue: tokio::sync::mpsc::Receiver<Delivery>,
) {
    // The minute each receiver was last noted in: `deliveries` keeps
    // (receiver, minute), so a group in the same minute has nothing to add
    // (and on PostgreSQL the note was a transaction of its own).
    let mut noted: std::collections::HashMap<&'static str, i64> = Default::default();
    while let Some(first) = queue.recv().await {
        let mut group = vec![first];
        while group.len() < GROUP {
            match queue.try_recv() {
                Ok(d) => group.push(d),
                Err(_) => break,
            }
        }
        let Some(inner) = inner.upgrade() else { return };
        let state = AppState { inner };
        let now = lantern_events::Timestamp::now();
        let minute = now
            .micros()
            .div_euclid(60 * lantern_events::MICROS_PER_SECOND);
        let mut receivers: Vec<&'static str> = group
            .iter()
            .map(|d| d.receiver)
            .filter(|r| noted.get(r) != Some(&minute))
            .collect();
        receivers.sort_unstable();
        receivers.dedup();
        let to_note = receivers.clone();
        let (work, replies): (Vec<_>, Vec<_>) = group
            .into_iter()
            .map(|d| ((d.events, d.merge), d.committed))
            .unzip();
        let result = state
            .with_store(move |store, _| {
                store.write_deliveries(work).map_err(Problem::from)?;
                // After the events: a delivery is noted once it is stored,
                // and a failed note does not fail a stored delivery.
                if receivers.is_empty() {
                    return Ok(true);
                }
                match store.record_deliveries(&receivers, now) {
                    Ok(()) => Ok(true),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not note when receivers delivered");
                        Ok(false)
                    }
                }
            })
            .await;
        if let Ok(true) = result {
            for r in to_note {
                noted.insert(r, minute);
            }
        }
        let result = result.map(|_| ());
        drop(state);
        for reply in replies {
            let _ = reply.send(result.clone());
        }
    }
}
