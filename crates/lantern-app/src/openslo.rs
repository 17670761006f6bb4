//! OpenSLO v1 `kind: SLO` documents with a `ratioMetric` indicator, read
//! into the catalog's `[[slos]]` records (slo.md, "Declaring an SLO").
//! Anything Lantern cannot honour is an error that names the field: an
//! SLO quietly read as something else would be worse than none.

use crate::AppError;
use serde::Deserialize;
use std::fmt::Write;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Document {
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Metadata {
    name: String,
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    description: Option<String>,
    service: String,
    indicator: Indicator,
    time_window: Vec<TimeWindow>,
    budgeting_method: String,
    objectives: Vec<Objective>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Indicator {
    /// The indicator's own name: accepted, not kept (the SLO has one).
    #[serde(default, rename = "metadata")]
    _metadata: Option<Metadata>,
    spec: IndicatorSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct IndicatorSpec {
    ratio_metric: RatioMetric,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RatioMetric {
    #[serde(default)]
    counter: Option<bool>,
    good: MetricRef,
    total: MetricRef,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MetricRef {
    metric_source: MetricSource,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricSource {
    /// A DataSource object's name: accepted; the query is what is pulled.
    #[serde(default, rename = "metricSourceRef")]
    _data_source: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    spec: QuerySpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuerySpec {
    query: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TimeWindow {
    duration: String,
    is_rolling: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Objective {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    target: Option<f64>,
    #[serde(default)]
    target_percent: Option<f64>,
}

/// The `[[slos]]` TOML of every SLO document in `yaml` (several may be
/// separated by `---`), ready to append to lantern.toml; `source` names
/// the file in errors.
pub fn to_catalog(yaml: &str, source: &str) -> Result<String, AppError> {
    let mut out = String::new();
    for (i, document) in yaml_serde::Deserializer::from_str(yaml).enumerate() {
        let at = format!("{source}, document {}", i + 1);
        let d =
            Document::deserialize(document).map_err(|e| AppError::Invalid(format!("{at}: {e}")))?;
        out.push_str(&record(&d).map_err(|m| AppError::Invalid(format!("{at}: {m}")))?);
    }
    if out.is_empty() {
        return Err(AppError::Invalid(format!(
            "{source} holds no OpenSLO document"
        )));
    }
    Ok(out)
}

fn record(d: &Document) -> Result<String, String> {
    if d.api_version != "openslo/v1" {
        return Err(format!("apiVersion `{}` is not openslo/v1", d.api_version));
    }
    if d.kind != "SLO" {
        return Err(format!("kind `{}`: only kind SLO is read", d.kind));
    }
    let s = &d.spec;
    if s.budgeting_method != "Occurrences" {
        return Err(format!(
            "spec.budgetingMethod `{}` is not supported: slo.md counts occurrences (good and total events)",
            s.budgeting_method
        ));
    }
    let [window] = s.time_window.as_slice() else {
        return Err("spec.timeWindow must hold exactly one window".into());
    };
    if !window.is_rolling {
        return Err(
            "spec.timeWindow[0].isRolling must be true: calendar windows are not supported".into(),
        );
    }
    // OpenSLO's duration shorthand, in whole days or weeks.
    let duration = window.duration.as_str();
    let days = match duration.split_at(duration.len().saturating_sub(1)) {
        (n, "d") => n.parse::<u32>().ok(),
        (n, "w") => n.parse::<u32>().ok().and_then(|w| w.checked_mul(7)),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "spec.timeWindow[0].duration `{duration}` must be whole days or weeks, e.g. 28d or 4w"
        )
    })?;
    let [objective] = s.objectives.as_slice() else {
        return Err("spec.objectives must hold exactly one objective".into());
    };
    let target = match (objective.target, objective.target_percent) {
        (Some(t), None) => t,
        (None, Some(p)) => p / 100.0,
        _ => return Err("spec.objectives[0] needs one of target and targetPercent".into()),
    };
    let metric = &s.indicator.spec.ratio_metric;
    if metric.counter == Some(false) {
        return Err(
            "spec.indicator.spec.ratioMetric.counter must be true: Lantern sums counts".into(),
        );
    }
    for (name, source) in [("good", &metric.good), ("total", &metric.total)] {
        if !source.metric_source.kind.eq_ignore_ascii_case("prometheus") {
            return Err(format!(
                "spec.indicator.spec.ratioMetric.{name}.metricSource.type `{}`: only Prometheus is read",
                source.metric_source.kind
            ));
        }
    }
    let description = s
        .description
        .as_ref()
        .or(d.metadata.display_name.as_ref())
        .or(objective.display_name.as_ref());
    let mut out = String::from("\n[[slos]]\n");
    let _ = writeln!(out, "name = {}", quoted(&d.metadata.name));
    let _ = writeln!(out, "service = {}", quoted(&s.service));
    let _ = writeln!(out, "objective = {target:?}");
    let _ = writeln!(out, "window_days = {days}");
    if let Some(text) = description {
        let _ = writeln!(out, "description = {}", quoted(text));
    }
    let _ = writeln!(out, "[slos.prometheus]");
    let _ = writeln!(
        out,
        "good = {}",
        quoted(&metric.good.metric_source.spec.query)
    );
    let _ = writeln!(
        out,
        "total = {}",
        quoted(&metric.total.metric_source.spec.query)
    );
    Ok(out)
}

/// A TOML basic string: JSON's escapes are TOML's, but for DEL, which
/// TOML wants escaped too.
fn quoted(text: &str) -> String {
    serde_json::Value::from(text)
        .to_string()
        .replace('\u{7f}', "\\u007F")
}
