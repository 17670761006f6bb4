//! Roles, grants and tokens (governance.md rule 3).
//!
//! A token is `lantern_<id>_<secret>`: the id (public, 12 hex digits) names
//! the grant in lists and in the audit log; the secret (256 random bits, 64
//! hex digits) is shown once and only its SHA-256 is stored. A plain hash is
//! enough for a 256-bit random secret: there is nothing to guess.

use lantern_events::{MICROS_PER_DAY, Name, Timestamp};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Admin,
    OrgViewer,
    TeamMember,
    Reviewer,
    Ingest,
    /// Asks the deploy gate (slo.md) and reads nothing else: for a
    /// pipeline step.
    Gate,
    /// Scrapes `GET /metrics` and reads nothing else: for Prometheus.
    Metrics,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::OrgViewer,
        Role::TeamMember,
        Role::Reviewer,
        Role::Ingest,
        Role::Gate,
        Role::Metrics,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::OrgViewer => "org_viewer",
            Role::TeamMember => "team_member",
            Role::Reviewer => "reviewer",
            Role::Ingest => "ingest",
            Role::Gate => "gate",
            Role::Metrics => "metrics",
        }
    }

    pub fn parse(text: &str) -> Result<Role, GrantError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| GrantError::Role(text.to_string()))
    }

    /// Default lifetime. A reviewer's access exists for one review, so it
    /// is short by default and capped lower than the others.
    pub fn default_days(self) -> u32 {
        match self {
            Role::Reviewer => 14,
            _ => 90,
        }
    }

    pub fn max_days(self) -> u32 {
        match self {
            Role::Reviewer => 30,
            _ => 366,
        }
    }

    fn needs_teams(self) -> bool {
        matches!(self, Role::TeamMember | Role::Reviewer)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GrantError {
    #[error(
        "role `{0}` is not one of admin, org_viewer, team_member, reviewer, ingest, gate, metrics"
    )]
    Role(String),
    #[error("role {0} needs at least one team (--team)")]
    TeamsMissing(&'static str),
    #[error("role {0} is not limited to teams; leave --team out")]
    TeamsNotAllowed(&'static str),
    #[error("role ingest needs the source it may write (--source, e.g. github)")]
    SourceMissing,
    #[error("only role ingest names a source")]
    SourceNotAllowed,
    #[error(
        "purpose: say in a sentence why this access exists (at least 10 characters, at most 500, one line)"
    )]
    Purpose,
    #[error("expiry: role {role} tokens last 1 to {max} days, not {days}")]
    Expiry {
        role: &'static str,
        max: u32,
        days: u32,
    },
    #[error("team `{0}` is not in the catalog")]
    UnknownTeam(String),
}

/// What `lantern token create` (or the API) asks for.
#[derive(Debug, Clone)]
pub struct NewGrant {
    pub role: Role,
    pub teams: Vec<Name>,
    pub source: Option<String>,
    pub purpose: String,
    /// Days until expiry; `None`: the role's default.
    pub days: Option<u32>,
}

/// One token's grant, as stored (without the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub role: Role,
    pub teams: Vec<Name>,
    pub source: Option<String>,
    pub purpose: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

impl Grant {
    /// Usable now: not revoked and not expired.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }

    pub fn is_member_of(&self, team: &Name) -> bool {
        matches!(self.role, Role::TeamMember | Role::Reviewer) && self.teams.contains(team)
    }

    /// `lantern access review`'s flag: granted more than 30 days ago and not
    /// used in the last 30.
    pub fn unused_for_30_days(&self, now: Timestamp) -> bool {
        let month_ago = now.plus_micros(-30 * MICROS_PER_DAY);
        self.last_used_at.unwrap_or(self.created_at) < month_ago
    }
}

/// A grant and its token, returned once at creation.
#[derive(Debug)]
pub struct IssuedToken {
    pub grant: Grant,
    pub token: String,
    pub secret_hash: [u8; 32],
}

impl NewGrant {
    /// Checks the request and makes the grant. `random` supplies the id
    /// (6 bytes) and the secret (32 bytes); `known_teams` is the catalog.
    pub fn issue(
        self,
        now: Timestamp,
        random: [u8; 38],
        known_teams: &[Name],
    ) -> Result<IssuedToken, GrantError> {
        let role = self.role;
        match (role.needs_teams(), self.teams.is_empty()) {
            (true, true) => return Err(GrantError::TeamsMissing(role.as_str())),
            (false, false) => return Err(GrantError::TeamsNotAllowed(role.as_str())),
            _ => {}
        }
        if let Some(t) = self.teams.iter().find(|t| !known_teams.contains(t)) {
            return Err(GrantError::UnknownTeam(t.to_string()));
        }
        match (role == Role::Ingest, &self.source) {
            (true, None) => return Err(GrantError::SourceMissing),
            (false, Some(_)) => return Err(GrantError::SourceNotAllowed),
            _ => {}
        }
        if let Some(source) = &self.source
            && (source.is_empty()
                || source.len() > 40
                || !source
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
        {
            return Err(GrantError::SourceMissing);
        }
        let purpose = self.purpose.trim().to_string();
        if purpose.chars().count() < 10
            || purpose.chars().count() > 500
            || purpose.chars().any(char::is_control)
        {
            return Err(GrantError::Purpose);
        }
        let days = self.days.unwrap_or(role.default_days());
        if days == 0 || days > role.max_days() {
            return Err(GrantError::Expiry {
                role: role.as_str(),
                max: role.max_days(),
                days,
            });
        }
        let id = lantern_events::hex(&random[..6]);
        let token = format!("lantern_{id}_{}", lantern_events::hex(&random[6..]));
        let mut teams = self.teams;
        teams.sort();
        teams.dedup();
        Ok(IssuedToken {
            secret_hash: secret_hash(&token),
            token,
            grant: Grant {
                id,
                role,
                teams,
                source: self.source,
                purpose,
                created_at: now,
                expires_at: now.plus_micros(days as i64 * MICROS_PER_DAY),
                revoked_at: None,
                last_used_at: None,
            },
        })
    }
}

/// A presented token, split: the grant id to look up and the hash to
/// compare with the stored one.
#[derive(Debug, PartialEq, Eq)]
pub struct TokenParts {
    pub id: String,
    pub hash: [u8; 32],
}

impl TokenParts {
    /// `None` when `text` is not shaped like a Lantern token at all.
    pub fn parse(text: &str) -> Option<TokenParts> {
        let rest = text.strip_prefix("lantern_")?;
        let (id, secret) = rest.split_once('_')?;
        let is_hex = |s: &str, n: usize| {
            s.len() == n
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        (is_hex(id, 12) && is_hex(secret, 64)).then(|| TokenParts {
            id: id.to_string(),
            hash: secret_hash(text),
        })
    }
}

pub fn secret_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Equal without revealing where two hashes differ (`subtle`).
pub fn same_hash(a: &[u8], b: &[u8]) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn new(role: Role, teams: &[&str], source: Option<&str>) -> NewGrant {
        NewGrant {
            role,
            teams: teams.iter().map(|t| name(t)).collect(),
            source: source.map(String::from),
            purpose: "Quarterly delivery review for payments".into(),
            days: None,
        }
    }

    #[test]
    fn a_token_is_issued_once_and_recognised_by_its_hash() {
        let now = Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let issued = new(Role::TeamMember, &["payments"], None)
            .issue(now, [7; 38], &[name("payments")])
            .unwrap();
        let parts = TokenParts::parse(&issued.token).unwrap();
        assert_eq!(parts.id, issued.grant.id);
        assert!(same_hash(&parts.hash, &issued.secret_hash));
        assert_eq!(
            issued.grant.expires_at,
            now.plus_micros(90 * MICROS_PER_DAY)
        );
        assert!(issued.grant.is_active(now));
        assert!(!issued.grant.is_active(issued.grant.expires_at));
        // One changed digit is another token.
        let mut forged = issued.token.clone();
        forged.pop();
        forged.push('0');
        assert!(!same_hash(
            &TokenParts::parse(&forged).unwrap().hash,
            &issued.secret_hash
        ));
        assert_eq!(TokenParts::parse("Bearer xyz"), None);
        assert_eq!(TokenParts::parse("lantern_zz_00"), None);
    }

    #[test]
    fn every_rule_of_a_grant_is_checked() {
        let now = Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let teams = [name("payments")];
        let issue = |g: NewGrant| g.issue(now, [1; 38], &teams).map(|_| ());
        assert_eq!(
            issue(new(Role::TeamMember, &[], None)),
            Err(GrantError::TeamsMissing("team_member"))
        );
        assert_eq!(
            issue(new(Role::OrgViewer, &["payments"], None)),
            Err(GrantError::TeamsNotAllowed("org_viewer"))
        );
        assert_eq!(
            issue(new(Role::Ingest, &[], None)),
            Err(GrantError::SourceMissing)
        );
        assert_eq!(
            issue(new(Role::Admin, &[], Some("github"))),
            Err(GrantError::SourceNotAllowed)
        );
        assert_eq!(
            issue(new(Role::Reviewer, &["search"], None)),
            Err(GrantError::UnknownTeam("search".into()))
        );
        let mut short = new(Role::Admin, &[], None);
        short.purpose = "because".into();
        assert_eq!(issue(short), Err(GrantError::Purpose));
        let mut long = new(Role::Reviewer, &["payments"], None);
        long.days = Some(31);
        assert!(matches!(issue(long), Err(GrantError::Expiry { .. })));
        let mut year = new(Role::OrgViewer, &[], None);
        year.days = Some(367);
        assert!(matches!(issue(year), Err(GrantError::Expiry { .. })));
        assert_eq!(issue(new(Role::Ingest, &[], Some("github"))), Ok(()));
    }
}
