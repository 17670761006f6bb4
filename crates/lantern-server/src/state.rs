//! What every handler shares. The store is one SQLite connection behind a
//! mutex, used on tokio's blocking threads: SQLite work is synchronous, and
//! one writer at a time is what SQLite allows anyway. The mutex is tokio's,
//! which is fair (first come, first served): a report waits for the
//! deliveries queued before it, not for every delivery that keeps coming.

use crate::problem::Problem;
use crate::startup::Settings;
use lantern_events::Pseudonymiser;
use lantern_store::Store;
use std::sync::Arc;
use tokio::sync::Mutex;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Mutex<Box<dyn Store + Send>>,
    pseudonymiser: Pseudonymiser,
    settings: Settings,
}

impl AppState {
    pub fn new(
        store: Box<dyn Store + Send>,
        pseudonymiser: Pseudonymiser,
        settings: Settings,
    ) -> Self {
        AppState {
            inner: Arc::new(Inner {
                store: Mutex::new(store),
                pseudonymiser,
                settings,
            }),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn pseudonymiser(&self) -> &Pseudonymiser {
        &self.inner.pseudonymiser
    }

    /// Runs `work` with the store on a blocking thread.
    pub async fn with_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut dyn Store, &AppState) -> Result<T, Problem> + Send + 'static,
    ) -> Result<T, Problem> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            // A blocking thread may wait for the lock; the store is
            // transactional, so a request that panicked left nothing half
            // done for the next one.
            let mut store = state.inner.store.blocking_lock();
            work(store.as_mut(), &state)
        })
        .await
        .map_err(|e| Problem::internal(format!("the request's work failed: {e}")))?
    }
}
