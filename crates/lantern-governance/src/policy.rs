//! Who may do what (governance.md rules 2 and 3), decided in one place.
//!
//! Every route declares a [`Need`]; [`Need::check`] is the only code that
//! compares a need with a grant. Team membership of a service comes from
//! the catalog, which the caller passes as `owners`.

use crate::grant::{Grant, Role};
use lantern_events::Name;

/// What a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Anyone, signed in or not (health checks, sign-in).
    Public,
    /// Any valid token (who am I, sign out).
    SignedIn,
    /// Aggregated figures of any scope; small groups are suppressed in the
    /// answer, not refused (see [`suppression`]).
    Aggregates,
    /// Event-level detail of one service.
    Detail { service: Name },
    /// Adding context (annotations, disputes) to a scope: its team members
    /// and admins. `owners` are the teams the scope belongs to; the
    /// organisation belongs to no team.
    Contribute { owners: Vec<Name> },
    /// Tokens, audit log, dead letters, retention: admins only.
    Admin,
    /// Writing events from one source.
    Ingest { source: String },
    /// Prometheus's scrape of `GET /metrics`: metrics tokens (and admins).
    Metrics,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

impl Need {
    /// Whether `grant` (already known to be active) has this need.
    /// `owners` gives the teams of a service (from the catalog).
    pub fn check(&self, grant: &Grant, owners: &dyn Fn(&Name) -> Vec<Name>) -> Result<(), Denied> {
        let role = grant.role;
        let deny = |why: String| Err(Denied(why));
        match self {
            Need::Public | Need::SignedIn => Ok(()),
            // Writing is the ingest role's alone, admins included: a leaked
            // admin token must not be able to rewrite history too.
            Need::Ingest { source } => match (&grant.source, role) {
                (Some(s), Role::Ingest) if s == source => Ok(()),
                (Some(s), Role::Ingest) => deny(format!(
                    "this ingest token writes events from `{s}` only, not `{source}`"
                )),
                _ => deny(format!(
                    "writing events needs an ingest token for `{source}`"
                )),
            },
            _ if role == Role::Admin => Ok(()),
            Need::Aggregates => match role {
                Role::OrgViewer | Role::TeamMember => Ok(()),
                _ => deny(format!("a {} token does not read figures", role.as_str())),
            },
            Need::Detail { service } => {
                let teams = owners(service);
                match role {
                    Role::TeamMember | Role::Reviewer
                        if teams.iter().any(|t| grant.is_member_of(t)) =>
                    {
                        Ok(())
                    }
                    Role::TeamMember | Role::Reviewer => deny(format!(
                        "event-level detail of `{service}` is for its team's members; this token is for {}",
                        list(&grant.teams)
                    )),
                    _ => deny(format!(
                        "a {} token sees aggregates only, not event-level detail",
                        role.as_str()
                    )),
                }
            }
            Need::Contribute { owners } => {
                if role != Role::TeamMember {
                    deny(format!(
                        "a {} token does not annotate or dispute: team members do, for their teams' scopes, and admins",
                        role.as_str()
                    ))
                } else if owners.iter().any(|t| grant.is_member_of(t)) {
                    Ok(())
                } else if owners.is_empty() {
                    deny("only admins annotate or dispute the organisation as a whole".into())
                } else {
                    deny(format!(
                        "annotations and disputes are opened by the scope's team members ({}) or admins",
                        list(owners)
                    ))
                }
            }
            Need::Admin => deny(format!("this needs an admin token, not {}", role.as_str())),
            Need::Metrics => match role {
                Role::Metrics => Ok(()),
                _ => deny(format!(
                    "/metrics is scraped with a metrics token (lantern token create --role metrics), not {}",
                    role.as_str()
                )),
            },
        }
    }
}

fn list(teams: &[Name]) -> String {
    if teams.is_empty() {
        return "no team".into();
    }
    teams
        .iter()
        .map(Name::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The scope of a report, as rule 2 sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportScope {
    /// A service and the teams that own it.
    Service {
        owners: Vec<Name>,
    },
    Team(Name),
    Org,
}

/// Rule 2: `Some(reason)` when the figures must be replaced for this
/// reader. Members of the owning team (and admins) always see them; anyone
/// else only when at least `min_group_size` people contributed.
pub fn suppression(
    grant: &Grant,
    scope: &ReportScope,
    contributors: u64,
    min_group_size: u64,
) -> Option<String> {
    let member = match scope {
        _ if grant.role == Role::Admin => true,
        ReportScope::Service { owners } => owners.iter().any(|t| grant.is_member_of(t)),
        ReportScope::Team(team) => grant.is_member_of(team),
        ReportScope::Org => false,
    };
    (!member && contributors < min_group_size)
        .then(|| format!("fewer than {min_group_size} contributors"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantern_events::Timestamp;

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn grant(role: Role, teams: &[&str], source: Option<&str>) -> Grant {
        let t = Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        Grant {
            id: "000000000000".into(),
            role,
            teams: teams.iter().map(|t| name(t)).collect(),
            source: source.map(String::from),
            purpose: "testing the policy".into(),
            created_at: t,
            expires_at: t,
            revoked_at: None,
            last_used_at: None,
        }
    }

    fn owners(service: &Name) -> Vec<Name> {
        match service.as_str() {
            "checkout" => vec![name("payments")],
            _ => vec![],
        }
    }

    #[test]
    fn the_role_table_of_rule_3() {
        let detail = Need::Detail {
            service: name("checkout"),
        };
        let other = Need::Detail {
            service: name("search-api"),
        };
        let ok = |g: &Grant, n: &Need| n.check(g, &owners).is_ok();
        let admin = grant(Role::Admin, &[], None);
        let viewer = grant(Role::OrgViewer, &[], None);
        let member = grant(Role::TeamMember, &["payments"], None);
        let reviewer = grant(Role::Reviewer, &["payments"], None);
        let ingest = grant(Role::Ingest, &[], Some("github"));
        for g in [&admin, &viewer, &member, &reviewer, &ingest] {
            assert!(ok(g, &Need::Public) && ok(g, &Need::SignedIn));
        }
        assert!(ok(&admin, &detail) && ok(&admin, &Need::Admin));
        assert!(ok(&viewer, &Need::Aggregates) && !ok(&viewer, &detail));
        assert!(ok(&member, &Need::Aggregates) && ok(&member, &detail));
        assert!(!ok(&member, &other) && !ok(&member, &Need::Admin));
        assert!(!ok(&reviewer, &Need::Aggregates) && ok(&reviewer, &detail));
        assert!(!ok(&reviewer, &other));
        assert!(!ok(&ingest, &Need::Aggregates) && !ok(&ingest, &detail));
        let github = Need::Ingest {
            source: "github".into(),
        };
        let gitlab = Need::Ingest {
            source: "gitlab".into(),
        };
        assert!(ok(&ingest, &github) && !ok(&ingest, &gitlab));
        assert!(!ok(&viewer, &github) && !ok(&admin, &github));
        let payments = Need::Contribute {
            owners: vec![name("payments")],
        };
        assert!(ok(&member, &payments) && !ok(&viewer, &payments));
        assert!(!ok(&reviewer, &payments));
        assert!(!ok(&member, &Need::Contribute { owners: vec![] }));
        assert!(ok(&admin, &Need::Contribute { owners: vec![] }));
    }

    #[test]
    fn small_groups_are_suppressed_outside_their_team() {
        let payments = ReportScope::Team(name("payments"));
        let member = grant(Role::TeamMember, &["payments"], None);
        let outsider = grant(Role::TeamMember, &["search"], None);
        let viewer = grant(Role::OrgViewer, &[], None);
        let admin = grant(Role::Admin, &[], None);
        assert_eq!(suppression(&member, &payments, 2, 3), None);
        assert_eq!(suppression(&admin, &payments, 0, 3), None);
        assert_eq!(
            suppression(&viewer, &payments, 2, 3).as_deref(),
            Some("fewer than 3 contributors")
        );
        assert!(suppression(&outsider, &payments, 2, 3).is_some());
        assert_eq!(suppression(&outsider, &payments, 3, 3), None);
        let service = ReportScope::Service {
            owners: vec![name("payments")],
        };
        assert_eq!(suppression(&member, &service, 1, 3), None);
        assert!(suppression(&viewer, &service, 1, 3).is_some());
        assert!(suppression(&member, &ReportScope::Org, 1, 3).is_some());
    }
}
