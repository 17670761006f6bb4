//! `/admin/notifications`: where digests and alerts go, and how their
//! delivery went — the failures `lantern doctor` also reports, for admins
//! (a target's address is shown by its host only: it is a secret).

use super::page::{self, moment};
use crate::policy::Principal;
use crate::problem::Problem;
use crate::routes::access::store_error;
use crate::state::AppState;
use axum::extract::{Extension, State};
use axum::response::Html;
use lantern_app::notify;
use lantern_events::Timestamp;
use lantern_store::Delivery;
use maud::html;

/// The most messages listed, newest first.
const SHOWN: usize = 100;

pub async fn notifications_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Html<String>, Problem> {
    let (messages, problems) = state
        .with_store(|store, _| {
            Ok((
                store.notifications(None, SHOWN).map_err(store_error)?,
                notify::problems(store, Timestamp::now())?,
            ))
        })
        .await?;
    let targets = state.app().notify.clone();
    let body = html! {
        h1 { "Notifications" }
        p { "Weekly team digests, burn-rate alerts and gate denials go to the [[notify]] targets of lantern.toml. A failed post is tried again after 30 s, doubling up to an hour, " (notify::MAX_ATTEMPTS) " attempts in all; a receiver that answers 400, 401, 403, 404 or 410 is not asked again." }
        @if problems.is_empty() {
            p.ok data-notify="ok" { "Every message got through, or is waiting for its first attempt." }
        } @else {
            @for n in &problems {
                p.problem role="alert" data-notify="failing" { (n.text) }
            }
        }
        h2 { "Targets" }
        @if targets.is_empty() {
            p { "No targets yet: add a [[notify]] entry to lantern.toml (README, “Digests and alerts in chat”)." }
        } @else {
            table {
                thead { tr { th { "Target" } th { "Format" } th { "Address" } th { "Team" } th { "Sends" } th { "Digest" } } }
                tbody {
                    @for t in &targets {
                        tr {
                            td { (t.name) }
                            td { (t.format.as_str()) }
                            td { (t.url.redacted()) }
                            td { (t.team) }
                            td { (t.sends_text()) }
                            td { (t.digest_time()) }
                        }
                    }
                }
            }
        }
        h2 { "Messages" }
        @if messages.is_empty() {
            p { "None sent yet." }
        } @else {
            table {
                thead { tr { th { "Queued" } th { "Kind" } th { "Team" } th { "Target" } th { "State" } th { "Attempts" } th { "Last error" } } }
                tbody {
                    @for m in &messages {
                        tr data-state=(m.state.as_str()) {
                            td { (moment(m.created_at)) }
                            td { (m.kind) }
                            td { (m.team) }
                            td { (m.target) }
                            td {
                                (m.state.as_str())
                                @if m.state == Delivery::Pending && m.attempts > 0 {
                                    ", next try " (moment(m.next_at))
                                }
                            }
                            td { (m.attempts) }
                            td { (m.last_error.as_deref().filter(|_| m.state != Delivery::Delivered).unwrap_or("")) }
                        }
                    }
                }
            }
        }
    };
    Ok(page::shell(&state, Some(&p), "Notifications", body))
}
