//! Pulling SLO counts from Prometheus (slo.md): at each boundary T (a
//! multiple of the step since the epoch) the server asks Prometheus's
//! HTTP API for every `[slos.prometheus]` pair of queries at time T and
//! writes one `sli` event per SLO for [T − step, T). One replica does it
//! (the `prometheus` lease). A failed or empty `total` writes nothing: a
//! gap, never zeros.

use crate::state::AppState;
use lantern_events::{Event, MICROS_PER_SECOND, Name, Sli, Timestamp};
use serde_json::Value;
use std::time::Duration;

/// What one query answered: the sum of its vector's samples, or why there
/// is none.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Value(f64),
    Empty,
    Failed(String),
}

/// Reads a `/api/v1/query` answer: a vector (its samples summed) or a
/// scalar; anything else is a failure that says what came back.
pub fn read_answer(body: &str) -> Answer {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return Answer::Failed("not JSON".into());
    };
    if v["status"] != "success" {
        let error = v["error"].as_str().unwrap_or("no error given");
        return Answer::Failed(format!("status {}: {error}", v["status"]));
    }
    let sample = |s: &Value| {
        s.get(1)
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<f64>().ok())
    };
    match v["data"]["resultType"].as_str() {
        Some("vector") => {
            let Some(series) = v["data"]["result"].as_array() else {
                return Answer::Failed("no result".into());
            };
            if series.is_empty() {
                return Answer::Empty;
            }
            let mut sum = 0.0;
            for s in series {
                match sample(&s["value"]) {
                    Some(x) if x.is_finite() => sum += x,
                    _ => {
                        return Answer::Failed(format!("a sample is not a number: {}", s["value"]));
                    }
                }
            }
            Answer::Value(sum)
        }
        Some("scalar") => match sample(&v["data"]["result"]) {
            Some(x) if x.is_finite() => Answer::Value(x),
            _ => Answer::Failed("the scalar is not a number".into()),
        },
        other => Answer::Failed(format!("result type {other:?}, not a vector")),
    }
}

/// slo.md's rules from two answers to counts: rounded, good ≤ total; an
/// empty `good` beside a `total` is 0 good (a total outage); no `total`
/// is no counts.
pub fn counts(good: &Answer, total: &Answer) -> Result<(u64, u64), String> {
    let total = match total {
        Answer::Value(t) if *t >= 0.0 => t.round() as u64,
        Answer::Value(t) => return Err(format!("total is negative ({t})")),
        Answer::Empty => return Err("total is empty".into()),
        Answer::Failed(why) => return Err(format!("total failed: {why}")),
    };
    let good = match good {
        Answer::Value(g) => g.max(0.0).round() as u64,
        Answer::Empty => 0,
        Answer::Failed(why) => return Err(format!("good failed: {why}")),
    };
    Ok((good.min(total), total))
}

/// The step as a Prometheus duration, for `$window` in a query.
pub fn duration(step_seconds: u32) -> String {
    match step_seconds {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Runs until the server stops: waits for each boundary, then pulls.
pub async fn every(state: AppState) {
    let Some(config) = state.app().prometheus.clone() else {
        return;
    };
    let step = i64::from(config.step_seconds) * MICROS_PER_SECOND;
    let client = reqwest::Client::new();
    let holder = crate::retention::replica_id();
    loop {
        let now = Timestamp::now().micros();
        let boundary = (now / step + 1) * step;
        tokio::time::sleep(Duration::from_micros((boundary - now) as u64)).await;
        let at = Timestamp::from_micros(boundary);
        let period = Duration::from_micros(step as u64);
        match crate::retention::lease(&state, "prometheus", &holder, period).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(p) => {
                tracing::error!(detail = %p.detail, "prometheus: cannot take the lease");
                continue;
            }
        }
        pull(&state, &client, &config, at).await;
    }
}

/// Asks for every SLO's counts at `at` and writes what came back.
pub async fn pull(
    state: &AppState,
    client: &reqwest::Client,
    config: &lantern_app::settings::Prometheus,
    at: Timestamp,
) -> PullRun {
    let step = i64::from(config.step_seconds) * MICROS_PER_SECOND;
    let window = duration(config.step_seconds);
    let mut run = PullRun::default();
    let mut events = Vec::new();
    for slo in state.app().slos.iter() {
        let Some(queries) = &slo.prometheus else {
            continue;
        };
        let good = ask(client, &config.url, &queries.good, &window, at).await;
        let total = ask(client, &config.url, &queries.total, &window, at).await;
        match counts(&good, &total) {
            Ok((good, total)) => {
                let from = at.plus_micros(-step);
                let slo_name = Name::parse(&slo.spec.name).expect("checked in the catalog");
                let Ok(id) = Sli::default_id(&slo_name, from) else {
                    continue;
                };
                events.push(Event::Sli(Sli {
                    id,
                    slo: slo_name,
                    from,
                    to: at,
                    good,
                    total,
                }));
            }
            Err(why) => {
                tracing::warn!(slo = %slo.spec.name, %why, at = %at, "prometheus: a gap in the SLO's counts");
                run.gaps.push(slo.spec.name.clone());
            }
        }
    }
    run.written = events.len();
    // The counts and each gap's tally in one transaction.
    let gaps = run.gaps.clone();
    let stored = state
        .with_store(move |store, _| {
            let mut tallies = Vec::new();
            for slo in &gaps {
                let key = lantern_app::slos::gap_key(slo);
                let before: u64 = store
                    .source_state(&key)?
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                tallies.push((key, (before + 1).to_string()));
            }
            let mut session = store.session()?;
            session.write(&events)?;
            let states: Vec<(&str, &str)> = tallies
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            session.commit(&states)?;
            Ok(())
        })
        .await;
    if let Err(p) = stored {
        tracing::error!(detail = %p.detail, "prometheus: the counts could not be written");
        run.written = 0;
    }
    run
}

/// One instant query at `at`, with `$window` replaced by the step.
async fn ask(
    client: &reqwest::Client,
    base: &str,
    query: &str,
    window: &str,
    at: Timestamp,
) -> Answer {
    let query = query.replace("$window", window);
    let time = format!("{:.3}", at.micros() as f64 / MICROS_PER_SECOND as f64);
    let url = match reqwest::Url::parse_with_params(
        &format!("{base}/api/v1/query"),
        &[("query", query.as_str()), ("time", time.as_str())],
    ) {
        Ok(url) => url,
        Err(e) => return Answer::Failed(format!("address: {e}")),
    };
    let response = client
        .get(url)
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    match response {
        Ok(r) => match r.text().await {
            Ok(body) => read_answer(&body),
            Err(e) => Answer::Failed(e.to_string()),
        },
        Err(e) => Answer::Failed(e.to_string()),
    }
}

/// What one pull did: counts written, SLOs left with a gap (`slo_gaps`).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PullRun {
    pub written: usize,
    pub gaps: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_counts_by_slo_md_rules() {
        let vector = |values: &[&str]| {
            let result: Vec<Value> = values
                .iter()
                .map(|v| serde_json::json!({"metric": {}, "value": [1.7e9, v]}))
                .collect();
            serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": result}})
                .to_string()
        };
        assert_eq!(read_answer(&vector(&["2.5", "1.25"])), Answer::Value(3.75));
        assert_eq!(read_answer(&vector(&[])), Answer::Empty);
        assert!(matches!(read_answer(&vector(&["NaN"])), Answer::Failed(_)));
        assert!(
            matches!(read_answer("{\"status\":\"error\",\"error\":\"bad query\"}"), Answer::Failed(e) if e.contains("bad query"))
        );
        assert!(matches!(read_answer("<html>"), Answer::Failed(_)));
        // Rounded; good never above total; no good beside a total is an
        // outage; no total is a gap, never zeros.
        assert_eq!(
            counts(&Answer::Value(99.6), &Answer::Value(100.4)),
            Ok((100, 100))
        );
        assert_eq!(
            counts(&Answer::Value(120.0), &Answer::Value(100.0)),
            Ok((100, 100))
        );
        assert_eq!(counts(&Answer::Empty, &Answer::Value(50.0)), Ok((0, 50)));
        assert!(counts(&Answer::Value(1.0), &Answer::Empty).is_err());
        assert!(counts(&Answer::Value(1.0), &Answer::Failed("down".into())).is_err());
        assert_eq!(
            (duration(300), duration(3600), duration(45)),
            ("5m".into(), "1h".into(), "45s".into())
        );
    }
}
