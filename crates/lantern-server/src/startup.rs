//! Building the application: settings in, a router bound to a listener out.
//! Tests build it on `127.0.0.1:0` and talk to it over real HTTP.

use crate::policy::Policies;
use crate::routes;
use crate::settings::Settings;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use lantern_events::Pseudonymiser;
use lantern_store::Store;
use std::future::Future;
use std::net::SocketAddr;

/// One structured line per request (`-vv`): method, route, status, time.
/// The query string is left out: it may name a team or a service, and a
/// log is not the place to build a picture of who looked at what.
async fn log_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::debug!(
        %method,
        path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// A second after start, `/metrics`' kept figures are brought up to date:
/// on a database never scraped that reads every service once (seconds at
/// a large size), so that Prometheus's first scrape need not.
async fn prime_metrics(state: AppState) {
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let primed = state
        .with_store(|store, state| {
            state.exposition(
                store,
                lantern_app::report::Reader::Operator,
                lantern_app::exposition::Format::Text,
            )
        })
        .await;
    if let Err(p) = primed {
        tracing::warn!(detail = %p.detail, "could not read the figures /metrics keeps; the first scrape will");
    }
}

pub struct Application {
    listener: tokio::net::TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Binds the listener (port 0 picks a free one) and builds the routes.
    pub async fn build(
        settings: Settings,
        store: Box<dyn Store + Send>,
        pseudonymiser: Pseudonymiser,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(settings.listen).await?;
        let limit = settings.body_limit;
        // The PostgreSQL client blocks on a runtime of its own: connect
        // off this one.
        let connections = settings.connections;
        let stores = tokio::task::spawn_blocking(move || {
            let mut stores = vec![store];
            while stores.len() < connections {
                match stores[0].another_connection() {
                    Some(more) => stores.push(more.map_err(std::io::Error::other)?),
                    None => break,
                }
            }
            Ok::<_, std::io::Error>(stores)
        })
        .await
        .map_err(std::io::Error::other)??;
        let state = AppState::new(stores, pseudonymiser, settings);
        let routes = routes::routes();
        let policies: Policies = routes
            .table
            .iter()
            .map(|r| (r.method.clone(), r.path.clone(), r.policy))
            .collect();
        let policies = std::sync::Arc::new(policies);
        let router = routes
            .router
            .layer(axum::middleware::from_fn_with_state(
                (state.clone(), policies),
                crate::policy::govern,
            ))
            .layer(DefaultBodyLimit::max(limit))
            .layer(axum::middleware::from_fn(crate::web::page::html_errors))
            .layer(axum::middleware::from_fn(crate::security::headers))
            .layer(axum::middleware::from_fn(log_request))
            .with_state(state.clone());
        Ok(Application {
            listener,
            router,
            state,
        })
    }

    pub fn address(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes the requests in
    /// flight (a webhook being committed is answered) and returns.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let retention = self
            .state
            .app()
            .governance
            .retention_every
            .map(|every| tokio::spawn(crate::retention::every(self.state.clone(), every)));
        let prometheus = self
            .state
            .app()
            .prometheus
            .is_some()
            .then(|| tokio::spawn(crate::prometheus::every(self.state.clone())));
        let prime = self
            .state
            .settings()
            .prime_metrics
            .then(|| tokio::spawn(prime_metrics(self.state.clone())));
        let notify = (!self.state.app().notify.is_empty())
            .then(|| tokio::spawn(crate::notify::every(self.state.clone())));
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
        for task in [retention, prometheus, notify, prime].into_iter().flatten() {
            task.abort();
        }
        served
    }
}
