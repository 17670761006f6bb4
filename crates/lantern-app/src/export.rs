//! Figures as CSV, written once for the CLI and the API (`Accept:
//! text/csv` or `format=csv`): one row per figure, quoted by the `csv`
//! crate, the fields named by their dotted JSON path.

use crate::compare::Comparison;
use crate::flow::{FlowAnswer, FlowBucket, FlowResult};
use lantern_engine::Report;
use serde_json::Value;

/// One row per figure: `from,to,metric,field,value`, the whole window
/// first, then the compared window's five figures (when asked for; none
/// when withheld), then each bucket.
pub fn report_csv(
    report: &Report,
    buckets: Option<&[Report]>,
    compare: Option<&Comparison>,
) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut write = |record: [&str; 5]| {
        // Writing into memory fails only on a bug in the csv crate.
        let _ = out.write_record(record);
    };
    write(["from", "to", "metric", "field", "value"]);
    for r in std::iter::once(report).chain(buckets.into_iter().flatten()) {
        let Ok(Value::Object(map)) = serde_json::to_value(r) else {
            continue;
        };
        let (from, to) = (r.window.from.to_string(), r.window.to.to_string());
        for (metric, v) in &map {
            if matches!(metric.as_str(), "scope" | "window" | "benchmark") {
                continue;
            }
            let mut rows = Vec::new();
            flatten_value("", v, &mut rows);
            for (field, value) in rows {
                write([&from, &to, metric, &field, &value]);
            }
        }
        if std::ptr::eq(r, report)
            && let Some(c) = compare
        {
            let (from, to) = (c.window.from.to_rfc3339(), c.window.to.to_rfc3339());
            for (key, delta) in &c.figures {
                let (metric, field) = key.split_once('.').unwrap_or((key, ""));
                if let Some(then) = delta.then {
                    write([&from, &to, metric, field, &then.to_string()]);
                }
            }
        }
    }
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A JSON value as (dotted field, text) rows, for CSV.
pub fn flatten_value(prefix: &str, v: &Value, rows: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_value(&key, child, rows);
            }
        }
        // A list (silent services, gaps): one row per field of each item.
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                flatten_value(&format!("{prefix}.{i}"), child, rows);
            }
        }
        Value::Null => rows.push((prefix.to_string(), String::new())),
        Value::String(s) => rows.push((prefix.to_string(), s.clone())),
        other => rows.push((prefix.to_string(), other.to_string())),
    }
}

fn documents(result: &FlowResult) -> Vec<&FlowAnswer> {
    match result {
        FlowResult::One(a) => vec![a],
        FlowResult::Teams(t) => t.teams.iter().collect(),
    }
}

/// `scope,from,to,metric,field,value`: the window, then each bucket.
pub fn flow_csv(result: &FlowResult) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    let _ = out.write_record(["scope", "from", "to", "metric", "field", "value"]);
    for answer in documents(result) {
        let FlowAnswer::Figures(doc) = answer else {
            continue;
        };
        let scope = scope_name(&doc.scope);
        let mut rows = vec![(&doc.window, &doc.flow)];
        for b in doc.buckets.iter().flatten() {
            if let FlowBucket::Figures { window, flow } = b {
                rows.push((window, flow));
            }
        }
        for (window, flow) in rows {
            let Ok(serde_json::Value::Object(map)) = serde_json::to_value(flow) else {
                continue;
            };
            for (metric, v) in &map {
                let mut fields = Vec::new();
                flatten_value("", v, &mut fields);
                for (field, value) in fields {
                    let _ = out.write_record([
                        scope.as_str(),
                        &window.from,
                        &window.to,
                        metric,
                        &field,
                        &value,
                    ]);
                }
            }
        }
    }
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A scope as a CSV cell: `team payments`, `service checkout`, `organisation`.
pub fn scope_name(scope: &lantern_engine::ScopeJson) -> String {
    match scope {
        lantern_engine::ScopeJson::Team(t) => format!("team {t}"),
        lantern_engine::ScopeJson::Service(s) => format!("service {s}"),
        lantern_engine::ScopeJson::Org(_) => "organisation".into(),
    }
}

/// Any answer (the SLOs' list) as `path,value` rows of its JSON.
pub fn json_csv(value: &impl serde::Serialize) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    let _ = out.write_record(["field", "value"]);
    if let Ok(v) = serde_json::to_value(value) {
        let mut rows = Vec::new();
        flatten_value("", &v, &mut rows);
        for (field, value) in rows {
            let _ = out.write_record([field, value]);
        }
    }
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}
