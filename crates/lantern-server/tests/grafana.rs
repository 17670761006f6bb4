//! deploy/grafana: the dashboard parses as a Grafana dashboard (schema
//! version, a Prometheus datasource variable, team and service variables,
//! panels placed on the grid), says "no data" in words, and every metric
//! its queries name is one Lantern's `/metrics` exports.

mod common;

use serde_json::Value;
use std::collections::BTreeSet;

fn dashboard() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/grafana/lantern-dora.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every `lantern_…` name a query reads, without a histogram's suffixes.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while let Some(at) = expr[i..].find("lantern_") {
        let start = i + at;
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        let name = &expr[start..end];
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
        names.insert(base.to_string());
        i = end;
    }
    names
}

#[tokio::test]
async fn the_grafana_dashboard_reads_only_what_lantern_exports() {
    let d = dashboard();
    assert!(d["schemaVersion"].as_u64().unwrap() >= 36, "schemaVersion");
    assert!(d["uid"].is_string() && d["title"].is_string());
    let vars = d["templating"]["list"].as_array().unwrap();
    let var = |name: &str| vars.iter().find(|v| v["name"] == name).unwrap();
    assert_eq!(var("datasource")["type"], "datasource");
    assert_eq!(var("datasource")["query"], "prometheus");
    for name in ["team", "service"] {
        assert_eq!(var(name)["type"], "query");
        assert!(
            var(name)["definition"]
                .as_str()
                .unwrap()
                .contains("lantern_service_info")
        );
    }
    let panels = d["panels"].as_array().unwrap();
    let mut ids = BTreeSet::new();
    let mut named = BTreeSet::new();
    for p in panels {
        assert!(
            ids.insert(p["id"].as_u64().unwrap()),
            "panel ids are unique"
        );
        for k in ["x", "y", "w", "h"] {
            assert!(p["gridPos"][k].is_u64(), "{}: gridPos.{k}", p["title"]);
        }
        assert!(p["gridPos"]["x"].as_u64().unwrap() + p["gridPos"]["w"].as_u64().unwrap() <= 24);
        for t in p["targets"].as_array().into_iter().flatten() {
            assert_eq!(t["datasource"]["uid"], "${datasource}", "{}", p["title"]);
            named.extend(metric_names(t["expr"].as_str().unwrap()));
        }
        if p["type"] != "text" {
            assert_eq!(
                p["fieldConfig"]["defaults"]["noValue"], "no data — is the CI hook wired?",
                "{}",
                p["title"]
            );
        }
    }
    // The five DORA figures, and the SLO panel.
    let titles: Vec<&str> = panels
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    for word in [
        "Deployment frequency",
        "Lead time",
        "Change failure rate",
        "recovery time",
        "rework rate",
        "SLO",
    ] {
        assert!(
            titles.iter().any(|t| t.contains(word)),
            "{word} in {titles:?}"
        );
    }

    // What a running Lantern with an SLO exports.
    let app = common::spawn_app_with(|s| {
        let with_slo = lantern_app::Settings::parse(
            "[[teams]]\nname = \"payments\"\nservices = [\"checkout\"]\n\
             [[slos]]\nname = \"checkout-availability\"\nservice = \"checkout\"\nobjective = 0.99\n",
            None,
        )
        .unwrap();
        s.app.teams = with_slo.teams;
        s.app.slos = with_slo.slos;
    })
    .await;
    let scrape = app
        .send(Some(&app.tokens["metrics"]), "get", "/metrics", &[], None)
        .await;
    assert_eq!(scrape.status, 200, "{}", scrape.text);
    let exported: BTreeSet<String> = scrape
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect();
    for name in &named {
        assert!(
            exported.contains(name),
            "the dashboard reads {name}, which /metrics does not export ({exported:?})"
        );
    }
    assert!(named.len() >= 8, "{named:?}");
    app.stop().await;
}
