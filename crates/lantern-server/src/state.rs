//! What every handler shares. The store is one SQLite connection behind a
//! mutex, used on tokio's blocking threads: SQLite work is synchronous, and
//! one writer at a time is what SQLite allows anyway.

use crate::problem::Problem;
use crate::startup::Settings;
use lantern_events::Pseudonymiser;
use lantern_store::Store;
use std::sync::{Arc, Mutex};

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
            // A panic while holding the lock poisons it; the store itself
            // is transactional, so the next request may go on.
            let mut store = state
                .inner
                .store
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            work(store.as_mut(), &state)
        })
        .await
        .map_err(|e| Problem::internal(format!("the request's work failed: {e}")))?
    }
}
