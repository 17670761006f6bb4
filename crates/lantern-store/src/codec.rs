//! Column values ↔ event fields.

use crate::Result;
use crate::StoreError;
use lantern_events::{AnnotationScope, EventId, Name, Sha, Timestamp};
use std::sync::Arc;

pub fn shas_to_text(shas: &[Sha]) -> String {
    let mut out = String::with_capacity(shas.len() * 41);
    shas_into(&mut out, shas);
    out
}

/// `shas_to_text` into a reused buffer.
pub fn shas_into<'b>(out: &'b mut String, shas: &[Sha]) -> &'b str {
    out.clear();
    for (i, s) in shas.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(s.hex().as_str());
    }
    out
}

pub fn text_to_shas(text: &str) -> Result<Vec<Sha>> {
    text.split_ascii_whitespace().map(sha).collect()
}

pub fn sha(text: &str) -> Result<Sha> {
    Sha::parse(text).map_err(|what| StoreError::Corrupt { what })
}

pub fn id(text: &str) -> Result<EventId> {
    EventId::parse(text).map_err(|what| StoreError::Corrupt { what })
}

pub fn time(micros: i64) -> Timestamp {
    Timestamp::from_micros(micros)
}

/// An optional enum column: `None` stays `None`.
pub fn opt_enum<T: Copy>(table: &[(&'static str, T)], text: Option<&str>) -> Result<Option<T>> {
    text.map(|t| enum_value(table, t)).transpose()
}

pub fn enum_value<T: Copy>(table: &[(&'static str, T)], text: &str) -> Result<T> {
    table
        .iter()
        .find(|(n, _)| *n == text)
        .map(|(_, v)| *v)
        .ok_or_else(|| StoreError::Corrupt {
            what: format!("unknown value `{text}`"),
        })
}

pub fn enum_text<T: Copy + PartialEq>(table: &[(&'static str, T)], value: T) -> &'static str {
    lantern_events::enum_name(table, value)
}

/// Shares one allocation per distinct service or repository name, so a
/// history of millions of changes does not hold millions of copies.
#[derive(Default)]
pub struct Names(foldhash::HashMap<Box<str>, Arc<str>>);

impl Names {
    pub fn get(&mut self, text: &str) -> Result<Name> {
        if let Some(arc) = self.0.get(text) {
            return Ok(Name::from_arc(arc.clone()));
        }
        let name = Name::parse(text).map_err(|what| StoreError::Corrupt { what })?;
        self.0.insert(text.into(), name.arc().clone());
        Ok(name)
    }
}

/// A dead letter's headers as stored: one `name: value` a line.
pub fn headers_to_text(headers: &[(String, String)]) -> String {
    headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn text_to_headers(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// An annotation's or a dispute's scope as two columns: kind and name.
pub fn scope_columns(scope: &AnnotationScope) -> (&'static str, Option<&str>) {
    match scope {
        AnnotationScope::Service(s) => ("service", Some(s.as_str())),
        AnnotationScope::Team(t) => ("team", Some(t.as_str())),
        AnnotationScope::Org => ("org", None),
    }
}

pub fn read_scope(names: &mut Names, kind: &str, name: Option<&str>) -> Result<AnnotationScope> {
    Ok(match (kind, name) {
        ("service", Some(n)) => AnnotationScope::Service(names.get(n)?),
        ("team", Some(n)) => AnnotationScope::Team(names.get(n)?),
        ("org", _) => AnnotationScope::Org,
        (k, _) => {
            return Err(StoreError::Corrupt {
                what: format!("scope `{k}`"),
            });
        }
    })
}

/// A grant's teams as stored: one name a line.
pub fn grant_teams(text: &str) -> Result<Vec<Name>> {
    text.split('\n')
        .filter(|t| !t.is_empty())
        .map(|t| {
            Name::parse(t).map_err(|_| StoreError::Corrupt {
                what: format!("grant team `{t}`"),
            })
        })
        .collect()
}

pub fn grant_role(text: &str) -> Result<lantern_governance::Role> {
    lantern_governance::Role::parse(text).map_err(|_| StoreError::Corrupt {
        what: format!("grant role `{text}`"),
    })
}

// The kept facts' blobs (sqlite/facts.rs), shared by both stores' retained rows.

pub fn encode_times(times: &[Timestamp]) -> Vec<u8> {
    times
        .iter()
        .flat_map(|t| t.micros().to_le_bytes())
        .collect()
}

pub fn decode_times(blob: &[u8]) -> Result<Vec<Timestamp>> {
    if !blob.len().is_multiple_of(8) {
        return Err(corrupt("a deployment's shipped-change blob"));
    }
    Ok(blob
        .chunks_exact(8)
        .map(|c| Timestamp::from_micros(i64::from_le_bytes(c.try_into().unwrap_or([0; 8]))))
        .collect())
}

pub fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt {
        what: what.to_string(),
    }
}

/// A pull request's first deployments: (service, finished_at) entries, the
/// service length-prefixed. Concatenating two encodings lists both.
pub fn encode_deploys(list: &[(Name, Timestamp)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (service, finished_at) in list {
        out.extend((service.as_str().len() as u32).to_le_bytes());
        out.extend(service.as_str().as_bytes());
        out.extend(finished_at.micros().to_le_bytes());
    }
    out
}

pub fn decode_deploys(mut blob: &[u8], names: &mut Names) -> Result<Vec<(Name, Timestamp)>> {
    fn take<'b>(blob: &mut &'b [u8], n: usize) -> Result<&'b [u8]> {
        if blob.len() < n {
            return Err(corrupt("a pull request's deployment blob"));
        }
        let (head, tail) = blob.split_at(n);
        *blob = tail;
        Ok(head)
    }
    let mut out = Vec::new();
    while !blob.is_empty() {
        let len = u32::from_le_bytes(take(&mut blob, 4)?.try_into().unwrap_or([0; 4])) as usize;
        let service = std::str::from_utf8(take(&mut blob, len)?)
            .map_err(|_| corrupt("a pull request's deployment blob"))?;
        let finished_at = i64::from_le_bytes(take(&mut blob, 8)?.try_into().unwrap_or([0; 8]));
        out.push((names.get(service)?, time(finished_at)));
    }
    Ok(out)
}

/// An `sli` row: (id, slo), (from, to) in microseconds, (good, total).
pub fn sli(
    (id, slo): (&str, &str),
    (from, to): (i64, i64),
    (good, total): (i64, i64),
) -> Result<lantern_events::Sli> {
    let counts = sli_count(from, to, good, total)?;
    Ok(lantern_events::Sli {
        id: self::id(id)?,
        slo: lantern_events::Name::parse(slo).map_err(|what| StoreError::Corrupt { what })?,
        from: counts.from,
        to: counts.to,
        good: counts.good,
        total: counts.total,
    })
}

/// A row of counts: (from, to) in microseconds, good, total.
pub fn sli_count(
    from: i64,
    to: i64,
    good: i64,
    total: i64,
) -> Result<lantern_engine::slo::SliCount> {
    let count = |n: i64| u64::try_from(n).map_err(|_| corrupt("an sli count"));
    Ok(lantern_engine::slo::SliCount {
        from: time(from),
        to: time(to),
        good: count(good)?,
        total: count(total)?,
    })
}
