//! How the server runs: where it listens, how much it reads, how many
//! requests work at once. What it serves by is `lantern_app::Settings`.

use std::net::SocketAddr;

/// How the server runs; what it serves by is `lantern_app::Settings`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// The largest request body accepted (413 past it).
    pub body_limit: usize,
    /// How many requests a replica works on at once against a shared store
    /// (PostgreSQL: one connection each), so that a long report does not
    /// hold up webhook deliveries. The embedded store has one connection.
    pub connections: usize,
    /// How often the server queues what is due to the `[[notify]]`
    /// targets and posts it ([`crate::notify::TICK`]; tests shorten it).
    pub notify_every: std::time::Duration,
    /// Whether the server brings `/metrics`' kept figures up to date a
    /// second after it starts (off in tests that time their own reads).
    pub prime_metrics: bool,
    /// lantern.toml: the catalog, the engine's, receivers' and
    /// governance's settings.
    pub app: lantern_app::Settings,
}

pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;
