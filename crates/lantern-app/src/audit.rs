//! Grants as they are listed and recorded, and the audit log's chain
//! check (governance.md rules 3 and 4): shared by the API, the dashboard
//! and the CLI.

use crate::AppError;
use lantern_events::{Name, Timestamp};
use lantern_governance::{AuditEntry, Grant};
use serde::Serialize;

/// A grant as listed: never its secret.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantJson {
    pub id: String,
    pub role: &'static str,
    pub teams: Vec<String>,
    pub source: Option<String>,
    pub purpose: String,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
    /// `active`, `expired` or `revoked`.
    pub status: &'static str,
    /// Active, and not used for 30 days: a candidate for revoking.
    pub unused_30_days: bool,
}

impl GrantJson {
    pub fn new(g: &Grant, now: Timestamp) -> Self {
        GrantJson {
            id: g.id.clone(),
            role: g.role.as_str(),
            teams: g.teams.iter().map(Name::to_string).collect(),
            source: g.source.clone(),
            purpose: g.purpose.clone(),
            created_at: g.created_at.to_rfc3339(),
            expires_at: g.expires_at.to_rfc3339(),
            revoked_at: g.revoked_at.map(Timestamp::to_rfc3339),
            last_used_at: g.last_used_at.map(Timestamp::to_rfc3339),
            status: if g.revoked_at.is_some() {
                "revoked"
            } else if g.is_active(now) {
                "active"
            } else {
                "expired"
            },
            unused_30_days: g.is_active(now) && g.unused_for_30_days(now),
        }
    }
}

/// What a grant allows, for the audit log.
pub fn describe(g: &Grant) -> String {
    let mut out = format!("role {}", g.role.as_str());
    if !g.teams.is_empty() {
        let teams: Vec<&str> = g.teams.iter().map(Name::as_str).collect();
        out.push_str(&format!(", teams {}", teams.join(",")));
    }
    if let Some(s) = &g.source {
        out.push_str(&format!(", source {s}"));
    }
    out.push_str(&format!(", expires {}", g.expires_at.to_rfc3339()));
    out
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditJson {
    pub seq: u64,
    pub at: String,
    /// The token's id, or `cli`.
    pub actor: String,
    pub purpose: String,
    pub action: String,
    pub scope: String,
    pub outcome: String,
    pub hash: String,
}

impl From<&AuditEntry> for AuditJson {
    fn from(e: &AuditEntry) -> Self {
        AuditJson {
            seq: e.seq,
            at: e.record.at.to_rfc3339(),
            actor: e.record.actor.clone(),
            purpose: e.record.purpose.clone(),
            action: e.record.action.clone(),
            scope: e.record.scope.clone(),
            outcome: e.record.outcome.clone(),
            hash: e.hash.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditVerdict {
    pub intact: bool,
    pub entries: u64,
    /// The first entry that does not fit, and why.
    pub broken_at: Option<u64>,
    pub reason: Option<String>,
}

/// The chain check shared by the API and `lantern audit verify`.
pub fn verify_audit(store: &dyn lantern_store::Store) -> Result<AuditVerdict, AppError> {
    let entries = store.audit_entries(None)?;
    let ends = store.audit_ends()?;
    let head = ends.head.as_ref().map(|(s, h)| (*s, h.as_str()));
    Ok(
        match lantern_governance::audit::verify(&entries, (ends.start.0, &ends.start.1), head) {
            Ok(n) => AuditVerdict {
                intact: true,
                entries: n,
                broken_at: None,
                reason: None,
            },
            Err(b) => AuditVerdict {
                intact: false,
                entries: entries.len() as u64,
                broken_at: Some(b.seq),
                reason: Some(b.why),
            },
        },
    )
}
