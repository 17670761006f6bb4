//! Posting the outbox's messages (`[[notify]]`): a periodic task of the
//! server, and the same sending for `lantern notify send`. The use case —
//! what is due, what it says, how a failure is tried again — is
//! `lantern_app::notify`'s; this is only the HTTP POST.
//!
//! Every minute the holder of the `notify` lease plans (digests due,
//! burn-rate alerts firing) and posts what is due. A failed post is
//! retried with backoff; errors never carry the target's address (a chat
//! webhook's address is its secret).

use crate::state::AppState;
use lantern_app::notify::{self, Posted};
use lantern_events::Timestamp;
use std::time::Duration;

/// How often the server plans and sends.
pub const TICK: Duration = Duration::from_secs(60);

/// The client messages are posted with: a bounded wait, no redirects (a
/// webhook that moved is a configuration to fix, and a redirect could
/// carry the body elsewhere).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// Posts one body; what came of it.
pub async fn post(client: &reqwest::Client, url: &str, body: &serde_json::Value) -> Posted {
    let response = match client.post(url).json(body).send().await {
        Ok(r) => r,
        Err(e) => {
            let why = if e.is_timeout() {
                "no answer within 10 s".to_string()
            } else if e.is_connect() {
                "cannot connect".to_string()
            } else {
                // reqwest's message names the URL: leave it out.
                e.without_url().to_string()
            };
            return Posted::Failed {
                why,
                retry_after: None,
            };
        }
    };
    let status = response.status();
    if status.is_success() {
        return Posted::Accepted;
    }
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    // What the receiver said, briefly (Slack answers `invalid_payload`,
    // `no_service` and the like in the body).
    let said: String = response
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let why = match said.trim() {
        "" => format!("HTTP {}", status.as_u16()),
        text => format!("HTTP {}: {text}", status.as_u16()),
    };
    match status.as_u16() {
        400 | 401 | 403 | 404 | 410 => Posted::Refused(why),
        _ => Posted::Failed { why, retry_after },
    }
}

/// Posts one due message (unless it cannot be sent at all) and says
/// what to record of the attempt.
pub async fn attempt(
    client: &reqwest::Client,
    item: &notify::Due,
    now: Timestamp,
) -> lantern_store::Attempt {
    let posted = match (&item.target, &item.body) {
        (Some(target), Ok(body)) => post(client, target.url.expose(), body).await,
        (_, Err(why)) => Posted::Refused(why.clone()),
        (None, Ok(_)) => Posted::Refused("the target is no longer in lantern.toml".into()),
    };
    notify::attempt(&item.notification, posted, now)
}

/// What one round of sending did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SendRun {
    pub delivered: usize,
    pub retrying: usize,
    pub given_up: usize,
}

impl SendRun {
    pub fn count(&mut self, attempt: &lantern_store::Attempt) {
        match attempt {
            lantern_store::Attempt::Delivered { .. } => self.delivered += 1,
            lantern_store::Attempt::Retry { .. } => self.retrying += 1,
            lantern_store::Attempt::GaveUp { .. } => self.given_up += 1,
        }
    }
}

/// Posts every message due at `now` and records each attempt.
pub async fn send_due(state: &AppState, client: &reqwest::Client, now: Timestamp) -> SendRun {
    let mut run = SendRun::default();
    let due = state
        .with_store(move |store, state| Ok(notify::due(store, state.app(), now, 100)?))
        .await;
    let due = match due {
        Ok(d) => d,
        Err(p) => {
            tracing::error!(detail = %p.detail, "notify: cannot read the outbox");
            return run;
        }
    };
    for item in due {
        let attempt = attempt(client, &item, now).await;
        run.count(&attempt);
        if let lantern_store::Attempt::Retry { error, .. }
        | lantern_store::Attempt::GaveUp { error, .. } = &attempt
        {
            tracing::warn!(target_name = %item.notification.target, %error, "notify: a message did not get through");
        }
        let id = item.notification.id;
        if let Err(p) = state
            .with_store(move |store, _| Ok(notify::attempted(store, id, &attempt)?))
            .await
        {
            tracing::error!(detail = %p.detail, "notify: cannot record an attempt");
        }
    }
    run
}

/// Plans what is due at `now` (digests, alerts), then sends.
pub async fn tick(state: &AppState, client: &reqwest::Client, now: Timestamp) -> SendRun {
    let planned = state
        .with_store(move |store, state| Ok(notify::plan(store, state.app(), now, "lantern serve")?))
        .await;
    match planned {
        Ok(p) if p.digests + p.alerts > 0 => tracing::info!(?p, "notify: queued"),
        Ok(_) => {}
        Err(p) => {
            tracing::error!(detail = %p.detail, "notify: planning failed; trying again next minute")
        }
    }
    send_due(state, client, now).await
}

/// Runs until the server stops: a tick each `notify_every` (a minute) on
/// the lease's holder.
pub async fn every(state: AppState) {
    let client = client();
    let holder = crate::retention::replica_id();
    let period = state.settings().notify_every;
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match crate::retention::lease(&state, "notify", &holder, period * 2).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(p) => {
                tracing::error!(detail = %p.detail, "notify: cannot take the lease");
                continue;
            }
        }
        tick(&state, &client, Timestamp::now()).await;
    }
}
