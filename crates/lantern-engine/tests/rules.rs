//! Hand-computed cases for every rule of metrics.md.

mod common;
use common::*;
use lantern_engine::*;
use serde_json::{Value, json};

/// Service `s`'s report over [from, to) of these JSON lines.
fn report_of_s(lines_of: &[String], from: &str, to: &str) -> Value {
    json(&events(&lines(lines_of)), &service("s"), from, to)
}

fn lines(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn the_first_deployment_is_a_baseline_and_ships_nothing() {
    let mut l = linear(5);
    l.push(deploy("d1", 3, "2026-03-02T00:00:00Z", ""));
    l.push(deploy("d2", 5, "2026-03-02T05:00:00Z", ""));
    let r = report_of_s(&l, "2026-03-01", "2026-03-03");
    // d2 ships c4 (at 04:00) and c5 (at 05:00): 25 h and 24 h.
    assert_eq!(r["lead_time"]["count"], 2);
    assert_eq!(r["lead_time"]["median_s"], 88200.0);
    assert_eq!(r["lead_time"]["band"], "high");
    assert_eq!(r["data_quality"]["baseline_deployments"], 1);
    assert_eq!(r["deployment_frequency"]["count"], 2);
    assert_eq!(r["deployment_frequency"]["deploy_days"], 1);
    assert_eq!(r["deployment_frequency"]["per_day"], 1.0);
}

#[test]
fn prev_is_taken_over_all_time_not_only_the_window() {
    let mut l = linear(5);
    l.push(deploy("d1", 3, "2026-02-01T00:00:00Z", ""));
    l.push(deploy("d2", 5, "2026-03-02T05:00:00Z", ""));
    let r = report_of_s(&l, "2026-03-02", "2026-03-03");
    assert_eq!(r["lead_time"]["count"], 2);
    assert_eq!(r["data_quality"]["baseline_deployments"], 0);
}

#[test]
fn a_redeploy_after_a_rollback_counts_its_changes_once() {
    let mut l = linear(5);
    l.push(deploy("d1", 1, "2026-03-02T00:00:00Z", ""));
    l.push(deploy("d2", 5, "2026-03-02T01:00:00Z", ""));
    l.push(deploy(
        "d3",
        1,
        "2026-03-02T02:00:00Z",
        r#","kind":"rollback""#,
    ));
    l.push(deploy("d4", 5, "2026-03-02T03:00:00Z", ""));
    let r = report_of_s(&l, "2026-03-01", "2026-03-04");
    // d2 ships c2..c5; d3 nothing new; d4 would re-ship c2..c5 but rule 4 drops them.
    assert_eq!(r["lead_time"]["count"], 4);
    assert_eq!(r["data_quality"]["deployments_without_changes"], 2);
    // d2 was rolled back (d3 has no rollback_of, so it rolls back prev = d2).
    assert_eq!(r["change_failure_rate"]["failed"], 1);
    assert_eq!(r["change_failure_rate"]["by_cause"]["rollback"], 1);
    assert_eq!(r["failed_deployment_recovery_time"]["median_s"], 3600.0);
    assert_eq!(r["rework_rate"]["rework"], 1);
    assert_eq!(r["rework_rate"]["rate"], 0.25);
}

#[test]
fn rollback_of_names_its_target() {
    let mut l = linear(3);
    l.push(deploy("d1", 1, "2026-03-02T00:00:00Z", ""));
    l.push(deploy("d2", 2, "2026-03-02T01:00:00Z", ""));
    l.push(deploy("d3", 3, "2026-03-02T02:00:00Z", ""));
    l.push(deploy(
        "d4",
        1,
        "2026-03-02T04:00:00Z",
        r#","kind":"rollback","rollback_of":"d2""#,
    ));
    let r = report_of_s(&l, "2026-03-01", "2026-03-04");
    assert_eq!(r["change_failure_rate"]["failed"], 1);
    assert_eq!(
        r["failed_deployment_recovery_time"]["median_s"],
        3.0 * 3600.0
    );
}

#[test]
fn a_hotfix_marks_the_deployment_before_it() {
    let mut l = linear(3);
    l.push(deploy("d1", 1, "2026-03-02T00:00:00Z", ""));
    l.push(deploy("d2", 2, "2026-03-02T01:00:00Z", ""));
    l.push(deploy(
        "d3",
        3,
        "2026-03-02T01:30:00Z",
        r#","kind":"hotfix""#,
    ));
    let r = report_of_s(&l, "2026-03-01", "2026-03-04");
    assert_eq!(
        r["change_failure_rate"]["by_cause"],
        json!({"incident_explicit":0,"incident_inferred":0,"rollback":0,"hotfix":1})
    );
    assert_eq!(r["failed_deployment_recovery_time"]["median_s"], 1800.0);
    assert_eq!(r["failed_deployment_recovery_time"]["band"], "elite");
    assert_eq!(r["rework_rate"]["rework"], 1);
}

#[test]
fn incidents_link_by_id_by_sha_and_by_inference() {
    let mut l = linear(6);
    l.push(deploy("d1", 1, "2026-03-02T00:00:00Z", ""));
    l.push(deploy("d2", 3, "2026-03-02T01:00:00Z", ""));
    l.push(deploy("d3", 5, "2026-03-02T02:00:00Z", ""));
    l.push(deploy("d4", 6, "2026-03-05T02:00:00Z", ""));
    // Explicit by id.
    l.push(r#"{"type":"incident","id":"i1","service":"s","started_at":"2026-03-02T01:10:00Z","resolved_at":"2026-03-02T01:40:00Z","caused_by":"d1"}"#.into());
    // By sha: c2 was shipped by d2.
    l.push(r#"{"type":"incident","id":"i2","service":"s","started_at":"2026-03-02T03:00:00Z","resolved_at":"2026-03-02T05:00:00Z","caused_by_sha":"0000002"}"#.into());
    // Inferred: latest deployment finished at or before start, within 24 h: d3.
    l.push(r#"{"type":"incident","id":"i3","service":"s","started_at":"2026-03-02T10:00:00Z","resolved_at":"2026-03-02T11:00:00Z"}"#.into());
    // External: not linked. Too late for inference (more than 24 h after d4): not linked.
    l.push(r#"{"type":"incident","id":"i4","service":"s","started_at":"2026-03-05T03:00:00Z","resolved_at":"2026-03-05T04:00:00Z","cause":"external"}"#.into());
    l.push(r#"{"type":"incident","id":"i5","service":"s","started_at":"2026-03-06T02:00:01Z","detected_at":"2026-03-06T02:10:01Z"}"#.into());
    let r = report_of_s(&l, "2026-03-01", "2026-03-08");
    let cfr = &r["change_failure_rate"];
    assert_eq!(cfr["deployments"], 4);
    assert_eq!(cfr["failed"], 3);
    assert_eq!(cfr["rate"], 0.75);
    assert_eq!(cfr["band"], "low");
    assert_eq!(
        cfr["by_cause"],
        json!({"incident_explicit":2,"incident_inferred":1,"rollback":0,"hotfix":0})
    );
    // d1: 01:40 − 00:00; d2: 05:00 − 01:00; d3: 11:00 − 02:00.
    let fdrt = &r["failed_deployment_recovery_time"];
    assert_eq!(fdrt["count"], 3);
    assert_eq!(fdrt["median_s"], 4.0 * 3600.0);
    assert_eq!(fdrt["unresolved"], 0);
    assert_eq!(r["data_quality"]["inferred_incident_links"], 1);
    assert_eq!(
        r["data_quality"]["incident_links"],
        json!({"by_id":1,"by_sha":1,"inferred":1})
    );
    assert_eq!(r["data_quality"]["open_incidents"], 1);
    assert_eq!(r["time_to_restore"]["count"], 4);
    assert_eq!(r["time_to_detect"]["count"], 1);
    assert_eq!(r["time_to_detect"]["median_s"], 600.0);
    // d4 deployed at 03-05T02:00 — no incident open then (i4 starts later).
    assert_eq!(r["rework_rate"]["rework"], 0);
}

#[test]
fn an_unresolved_linked_incident_gives_no_recovery_value() {
    let mut l = linear(2);
    l.push(deploy("d1", 1, "2026-03-02T00:00:00Z", ""));
    l.push(deploy("d2", 2, "2026-03-02T01:00:00Z", ""));
    l.push(r#"{"type":"incident","id":"a","service":"s","started_at":"2026-03-02T01:10:00Z","resolved_at":"2026-03-02T01:40:00Z"}"#.into());
    l.push(
        r#"{"type":"incident","id":"b","service":"s","started_at":"2026-03-02T01:20:00Z"}"#.into(),
    );
    let r = report_of_s(&l, "2026-03-01", "2026-03-04");
    assert_eq!(r["change_failure_rate"]["failed"], 1);
    assert_eq!(r["failed_deployment_recovery_time"]["unresolved"], 1);
    assert_eq!(r["failed_deployment_recovery_time"]["count"], 0);
    assert_eq!(
        r["failed_deployment_recovery_time"]["median_s"],
        serde_json::Value::Null
    );
}

#[test]
fn a_deployment_while_an_incident_is_open_is_rework_unless_it_says_planned() {
    let mut l = linear(4);
    l.push(deploy("d1", 1, "2026-03-02T00:00:00Z", ""));
    l.push(r#"{"type":"incident","id":"i","service":"other","services":["s"],"started_at":"2026-03-02T00:30:00Z","resolved_at":"2026-03-02T03:00:00Z","cause":"external"}"#.into());
    l.push(deploy("d2", 2, "2026-03-02T01:00:00Z", ""));
    l.push(deploy(
        "d3",
        3,
        "2026-03-02T02:00:00Z",
        r#","kind":"planned""#,
    ));
    l.push(deploy("d4", 4, "2026-03-02T03:00:00Z", ""));
    let r = report_of_s(&l, "2026-03-01", "2026-03-04");
    assert_eq!(r["rework_rate"]["rework"], 1); // d2 only; d4 is at resolved_at, exclusive.
    assert_eq!(r["time_to_restore"]["count"], 1); // `services` makes it affect s.
}

#[test]
fn negative_lead_times_are_left_out_and_counted() {
    let l = [
        r#"{"type":"change","repo":"r","sha":"aaaaaaa","committed_at":"2026-03-01T00:00:00Z"}"#,
        r#"{"type":"change","repo":"r","sha":"bbbbbbb","parents":["aaaaaaa"],"committed_at":"2026-03-05T00:00:00+02:00"}"#,
        r#"{"type":"change","repo":"r","sha":"ccccccc","parents":["bbbbbbb"],"committed_at":"2026-03-02T00:00:00Z"}"#,
        r#"{"type":"deployment","id":"d1","service":"s","environment":"Production","finished_at":"2026-03-01T01:00:00Z","repo":"r","sha":"aaaaaaa"}"#,
        r#"{"type":"deployment","id":"d2","service":"s","environment":"PROD","finished_at":"2026-03-03T00:00:00Z","repo":"r","sha":"ccccccc"}"#,
    ];
    let r = json(&events(&l), &service("s"), "2026-03-01", "2026-03-04");
    assert_eq!(r["lead_time"]["count"], 1);
    assert_eq!(r["lead_time"]["median_s"], 86400.0);
    assert_eq!(r["data_quality"]["negative_lead_times"], 1);
}

#[test]
fn explicit_change_lists_override_the_graph() {
    let mut l = linear(4);
    l.push(deploy("d1", 1, "2026-03-02T00:00:00Z", ""));
    l.push(deploy(
        "d2",
        4,
        "2026-03-02T04:00:00Z",
        r#","changes":["0000004","deadbee"]"#,
    ));
    let r = report_of_s(&l, "2026-03-01", "2026-03-04");
    assert_eq!(r["lead_time"]["count"], 1); // unknown sha ignored
    assert_eq!(r["lead_time"]["median_s"], 24.0 * 3600.0);
    // d1 (no list, no prev) is the baseline; d2's explicit list is not.
    assert_eq!(r["data_quality"]["baseline_deployments"], 1);
    assert_eq!(r["data_quality"]["deployments_without_changes"], 0);
}

#[test]
fn without_a_repo_explicit_shas_are_found_in_any_repo() {
    let l = [
        r#"{"type":"change","repo":"a","sha":"aaaaaaa","committed_at":"2026-03-01T00:00:00Z"}"#,
        r#"{"type":"deployment","id":"d1","service":"s","environment":"production","finished_at":"2026-03-01T02:00:00Z","changes":["aaaaaaa"],"sha":"aaaaaaa"}"#,
        r#"{"type":"deployment","id":"d2","service":"s","environment":"production","finished_at":"2026-03-01T03:00:00Z","repo":"b","sha":"aaaaaaa"}"#,
    ];
    let r = json(&events(&l), &service("s"), "2026-03-01", "2026-03-04");
    assert_eq!(r["lead_time"]["count"], 1);
    // d2: rule 2 fails (prev has no repo b) → baseline; its sha is unknown in repo b.
    assert_eq!(r["data_quality"]["baseline_deployments"], 1);
    assert_eq!(r["data_quality"]["unknown_deployed_shas"], 1);
}

#[test]
fn a_change_deployed_to_two_services_counts_for_each() {
    let mut l = linear(3);
    l.push(deploy("d1", 1, "2026-03-02T00:00:00Z", ""));
    l.push(deploy("d2", 3, "2026-03-02T03:00:00Z", ""));
    l.push(
        deploy("d1", 1, "2026-03-02T00:00:00Z", "")
            .replace("\"d1\"", "\"e1\"")
            .replace("\"s\"", "\"t\""),
    );
    l.push(
        deploy("d2", 3, "2026-03-02T06:00:00Z", "")
            .replace("\"d2\"", "\"e2\"")
            .replace("\"s\"", "\"t\""),
    );
    let ev = events(&lines(&l));
    assert_eq!(
        json(&ev, &service("s"), "2026-03-01", "2026-03-04")["lead_time"]["count"],
        2
    );
    assert_eq!(
        json(&ev, &service("t"), "2026-03-01", "2026-03-04")["lead_time"]["count"],
        2
    );
    let org = json(&ev, &Scope::Org, "2026-03-01", "2026-03-04");
    assert_eq!(org["lead_time"]["count"], 4);
    assert_eq!(org["scope"], json!({"org": true}));
}

#[test]
fn ties_in_finished_at_are_broken_by_id_bytes() {
    let mut l = linear(3);
    l.push(deploy("b", 3, "2026-03-02T00:00:00Z", ""));
    l.push(deploy("a", 1, "2026-03-02T00:00:00Z", ""));
    let r = report_of_s(&l, "2026-03-01", "2026-03-04");
    // a comes first (baseline), b ships c2 and c3.
    assert_eq!(r["lead_time"]["count"], 2);
    assert_eq!(r["data_quality"]["baseline_deployments"], 1);
}

#[test]
fn an_empty_window_has_null_rates_and_bands() {
    let r = json(&events(&[]), &service("s"), "2026-03-01", "2026-03-02");
    assert_eq!(
        r["deployment_frequency"],
        json!({"count":0,"per_day":0.0,"deploy_days":0,"weekly_median_deploy_days":null,"band":null})
    );
    assert_eq!(r["change_failure_rate"]["rate"], serde_json::Value::Null);
    assert_eq!(r["change_failure_rate"]["band"], serde_json::Value::Null);
    assert_eq!(r["rework_rate"]["rate"], serde_json::Value::Null);
    assert_eq!(r["lead_time"]["band"], serde_json::Value::Null);
    assert_eq!(
        r["deployment_success_rate"],
        json!({"attempts":0,"succeeded":0,"rate":null})
    );
    assert_eq!(r["benchmark"], "dora-2023");
}

#[test]
fn deployment_frequency_bands_use_whole_weeks_and_months() {
    // Deploys every day of March 2026 except weekends.
    let mut l = vec![];
    for day in 1..=31 {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 3, day).unwrap();
        use chrono::Datelike;
        if date.weekday().number_from_monday() <= 5 {
            l.push(format!(r#"{{"type":"deployment","id":"d{day}","service":"s","environment":"production","finished_at":"{date}T12:00:00Z"}}"#));
        }
    }
    let ev = events(&lines(&l));
    let r = json(&ev, &service("s"), "2026-03-01", "2026-04-01");
    assert_eq!(r["deployment_frequency"]["weekly_median_deploy_days"], 5.0);
    assert_eq!(r["deployment_frequency"]["band"], "elite");
    assert_eq!(r["deployment_frequency"]["deploy_days"], 22);
    // A window of 5 days holds no whole week: band null.
    let r = json(&ev, &service("s"), "2026-03-03", "2026-03-08");
    assert_eq!(r["deployment_frequency"]["band"], serde_json::Value::Null);
    // One deploy a month over three months: medium.
    let l = ["2026-01-10", "2026-02-10", "2026-03-10"].map(|d| format!(r#"{{"type":"deployment","id":"{d}","service":"s","environment":"production","finished_at":"{d}T00:00:00Z"}}"#));
    let r = report_of_s(&l, "2026-01-01", "2026-04-01");
    assert_eq!(r["deployment_frequency"]["weekly_median_deploy_days"], 0.0);
    assert_eq!(r["deployment_frequency"]["band"], "medium");
    // Two whole weeks but no whole month: the 30-day rate decides.
    let r = report_of_s(&l, "2026-03-02", "2026-03-20");
    assert_eq!(r["deployment_frequency"]["band"], "medium"); // 1 × 30 / 18 ≥ 1
    // No whole month again, and 1 × 30 / 30.5 < 1: low.
    let r = report_of_s(&l, "2026-03-02", "2026-04-01T12:00:00Z");
    assert_eq!(r["deployment_frequency"]["band"], "low");
}

#[test]
fn staging_failed_and_cancelled_deployments_are_not_in_p() {
    let l = [
        r#"{"type":"deployment","id":"a","service":"s","environment":"staging","finished_at":"2026-03-02T00:00:00Z"}"#,
        r#"{"type":"deployment","id":"b","service":"s","environment":"production","status":"failure","finished_at":"2026-03-02T01:00:00Z"}"#,
        r#"{"type":"deployment","id":"c","service":"s","environment":"production","status":"cancelled","finished_at":"2026-03-02T02:00:00Z"}"#,
        r#"{"type":"deployment","id":"d","service":"s","environment":"production","finished_at":"2026-03-02T03:00:00Z"}"#,
    ];
    let r = json(&events(&l), &service("s"), "2026-03-01", "2026-03-04");
    assert_eq!(r["deployment_frequency"]["count"], 1);
    assert_eq!(
        r["deployment_success_rate"],
        json!({"attempts":2,"succeeded":1,"rate":0.5})
    );
}

#[test]
fn re_sent_events_replace_the_old_ones() {
    let l = [
        r#"{"type":"deployment","id":"d","service":"s","environment":"production","finished_at":"2026-03-02T00:00:00Z"}"#,
        r#"{"type":"deployment","id":"d","service":"s","environment":"production","finished_at":"2026-03-02T00:00:00Z"}"#,
        r#"{"type":"deployment","id":"d","service":"s","environment":"production","status":"failure","finished_at":"2026-03-02T00:00:00Z"}"#,
    ];
    let r = json(&events(&l), &service("s"), "2026-03-01", "2026-03-04");
    assert_eq!(r["deployment_frequency"]["count"], 0);
    assert_eq!(r["deployment_success_rate"]["attempts"], 1);
}

#[test]
fn pull_request_stages_cover_merge_and_squash() {
    let l = [
        r#"{"type":"change","repo":"r","sha":"1111111","committed_at":"2026-03-01T00:00:00Z"}"#,
        r#"{"type":"change","repo":"r","sha":"2222222","parents":["1111111"],"committed_at":"2026-03-01T09:00:00Z","authored_at":"2026-03-01T08:00:00Z","pull_request":"r#1"}"#,
        r#"{"type":"change","repo":"r","sha":"3333333","parents":["1111111"],"committed_at":"2026-03-02T09:00:00Z"}"#,
        r#"{"type":"pull_request","id":"r#1","repo":"r","opened_at":"2026-03-01T10:00:00Z","first_review_at":"2026-03-01T11:00:00Z","merged_at":"2026-03-01T13:00:00Z","merge_sha":"9999999"}"#,
        r#"{"type":"pull_request","id":"r#2","repo":"r","opened_at":"2026-03-02T07:00:00Z","first_commit_at":"2026-03-02T06:00:00Z","merged_at":"2026-03-02T09:00:00Z","merge_sha":"3333333"}"#,
        r#"{"type":"pull_request","id":"r#3","repo":"r","opened_at":"2026-03-02T07:00:00Z"}"#,
        r#"{"type":"deployment","id":"d1","service":"s","environment":"production","finished_at":"2026-03-01T00:30:00Z","repo":"r","sha":"1111111"}"#,
        r#"{"type":"deployment","id":"d2","service":"s","environment":"production","finished_at":"2026-03-01T15:00:00Z","repo":"r","sha":"2222222"}"#,
        r#"{"type":"deployment","id":"d3","service":"s","environment":"production","finished_at":"2026-03-02T12:00:00Z","repo":"r","sha":"3333333"}"#,
    ];
    let r = json(&events(&l), &service("s"), "2026-03-01", "2026-03-04");
    let s = &r["pr_stages"];
    assert_eq!(s["coding"]["count"], 2); // 2 h (authored 08:00) and 1 h
    assert_eq!(s["coding"]["median_s"], 5400.0);
    assert_eq!(s["pickup"]["count"], 1);
    assert_eq!(s["pickup"]["median_s"], 3600.0);
    assert_eq!(s["review"]["median_s"], 7200.0);
    // #1 reached production in d2 (its commit 2222222), 2 h after merge; #2 in d3, 3 h.
    assert_eq!(s["deploy"]["count"], 2);
    assert_eq!(s["deploy"]["median_s"], 9000.0);
    // A service that does not deploy repo r has no PRs.
    let other = json(&events(&l), &service("nobody"), "2026-03-01", "2026-03-04");
    assert_eq!(other["pr_stages"]["coding"]["count"], 0);
}

#[test]
fn team_scope_is_the_union_of_its_services() {
    let l = [
        r#"{"type":"deployment","id":"a","service":"x","environment":"production","finished_at":"2026-03-02T00:00:00Z"}"#,
        r#"{"type":"deployment","id":"b","service":"y","environment":"production","finished_at":"2026-03-02T00:00:00Z"}"#,
        r#"{"type":"deployment","id":"c","service":"z","environment":"production","finished_at":"2026-03-02T00:00:00Z"}"#,
    ];
    let team = Scope::Team {
        name: lantern_events::Name::parse("payments").unwrap(),
        services: ["x", "y"]
            .iter()
            .map(|s| lantern_events::Name::parse(s).unwrap())
            .collect(),
    };
    let r = json(&events(&l), &team, "2026-03-01", "2026-03-04");
    assert_eq!(r["deployment_frequency"]["count"], 2);
    assert_eq!(r["scope"], json!({"team": "payments"}));
}

#[test]
fn timestamps_with_offsets_land_in_the_right_window() {
    let l = [
        r#"{"type":"deployment","id":"a","service":"s","environment":"production","finished_at":"2026-03-02T00:30:00+01:00"}"#,
    ];
    // 2026-03-01T23:30Z: inside March 1, not March 2.
    assert_eq!(
        json(&events(&l), &service("s"), "2026-03-01", "2026-03-02")["deployment_frequency"]["count"],
        1
    );
    assert_eq!(
        json(&events(&l), &service("s"), "2026-03-02", "2026-03-03")["deployment_frequency"]["count"],
        0
    );
}

#[test]
fn buckets_split_the_window() {
    let mut l = linear(3);
    l.push(deploy("d1", 1, "2026-03-02T00:00:00Z", ""));
    l.push(deploy("d2", 3, "2026-03-03T00:00:00Z", ""));
    let ev = events(&lines(&l));
    let b = bucketed(
        &ev,
        &service("s"),
        window("2026-03-01", "2026-03-04"),
        Bucket::Day,
        &EngineConfig::default(),
    );
    let counts: Vec<u64> = b.iter().map(|r| r.deployment_frequency.count).collect();
    assert_eq!(counts, [0, 1, 1]);
    assert_eq!(b[2].lead_time.stats.count, 2);
}

// Readings of metrics.md where the text leaves room (see the issue note).

#[test]
fn an_empty_change_list_is_an_explicit_list_that_ships_nothing() {
    let mut l = linear(3);
    l.push(deploy("d1", 1, "2026-03-02T00:00:00Z", ""));
    l.push(deploy("d2", 3, "2026-03-02T01:00:00Z", r#","changes":[]"#));
    let r = report_of_s(&l, "2026-03-01", "2026-03-04");
    assert_eq!(r["lead_time"]["count"], 0);
    assert_eq!(r["data_quality"]["baseline_deployments"], 1); // d1 only
    assert_eq!(r["data_quality"]["deployments_without_changes"], 1); // d2: rule 1, empty
}

#[test]
fn caused_by_wins_over_caused_by_sha_and_an_unknown_id_links_nothing() {
    let mut l = linear(3);
    l.push(deploy("d1", 1, "2026-03-02T00:00:00Z", ""));
    l.push(deploy("d2", 3, "2026-03-02T01:00:00Z", ""));
    // Names d1 by id and d2's commit by sha: the id wins.
    l.push(r#"{"type":"incident","id":"a","service":"s","started_at":"2026-03-02T01:10:00Z","resolved_at":"2026-03-02T02:00:00Z","caused_by":"d1","caused_by_sha":"0000003"}"#.into());
    // Names a deployment nobody sent: linked to nothing, and not inferred either.
    l.push(r#"{"type":"incident","id":"b","service":"s","started_at":"2026-03-02T01:20:00Z","resolved_at":"2026-03-02T02:00:00Z","caused_by":"d-unknown"}"#.into());
    let r = report_of_s(&l, "2026-03-01", "2026-03-04");
    assert_eq!(r["change_failure_rate"]["failed"], 1);
    assert_eq!(r["change_failure_rate"]["by_cause"]["incident_explicit"], 1);
    assert_eq!(r["change_failure_rate"]["by_cause"]["incident_inferred"], 0);
    // d1's recovery: 02:00 − 00:00.
    assert_eq!(r["failed_deployment_recovery_time"]["median_s"], 7200.0);
}

#[test]
fn time_to_restore_keeps_what_the_spec_does_not_drop() {
    // metrics.md leaves negatives out only where it says so and counts
    // them; time to restore has no such rule, so a resolution recorded
    // before the start is kept as given.
    let l = [
        r#"{"type":"incident","id":"i","service":"s","started_at":"2026-03-02T02:00:00Z","resolved_at":"2026-03-02T01:00:00Z"}"#,
    ];
    let r = json(&events(&l), &service("s"), "2026-03-01", "2026-03-04");
    assert_eq!(r["time_to_restore"]["median_s"], -3600.0);
}

/// A rebase merge puts new commits on the target branch; the pull request
/// lists its original commits, which no deployment ships. Its deploy stage
/// comes from the deployment that shipped the rebased commits, found by
/// the `merge_sha` (or `head_sha`) the source gives — not from nothing,
/// and not from a later deployment.
#[test]
fn a_rebase_merged_pull_request_is_deployed_by_its_rebased_commits() {
    let l = [
        r#"{"type":"change","repo":"r","sha":"1111111","committed_at":"2026-03-01T00:00:00Z"}"#,
        // The originals on the pull request's branch, never deployed.
        r#"{"type":"change","repo":"r","sha":"a0a0a01","parents":["1111111"],"committed_at":"2026-03-01T08:00:00Z"}"#,
        r#"{"type":"change","repo":"r","sha":"a0a0a02","parents":["a0a0a01"],"committed_at":"2026-03-01T09:00:00Z"}"#,
        // The same work rebased onto main.
        r#"{"type":"change","repo":"r","sha":"b0b0b01","parents":["1111111"],"committed_at":"2026-03-01T12:00:00Z"}"#,
        r#"{"type":"change","repo":"r","sha":"b0b0b02","parents":["b0b0b01"],"committed_at":"2026-03-01T12:00:01Z"}"#,
        r#"{"type":"change","repo":"r","sha":"c0c0c01","parents":["b0b0b02"],"committed_at":"2026-03-02T10:00:00Z"}"#,
        r#"{"type":"pull_request","id":"r#5","repo":"r","opened_at":"2026-03-01T10:00:00Z","merged_at":"2026-03-01T12:00:01Z","commits":["a0a0a01","a0a0a02"],"merge_sha":"b0b0b02"}"#,
        r#"{"type":"pull_request","id":"r#6","repo":"r","opened_at":"2026-03-01T10:00:00Z","merged_at":"2026-03-01T12:00:01Z","commits":["a0a0a01","a0a0a02"],"head_sha":"b0b0b02"}"#,
        r#"{"type":"deployment","id":"d1","service":"s","environment":"production","finished_at":"2026-03-01T00:30:00Z","repo":"r","sha":"1111111"}"#,
        r#"{"type":"deployment","id":"d2","service":"s","environment":"production","finished_at":"2026-03-01T14:00:01Z","repo":"r","sha":"b0b0b02"}"#,
        r#"{"type":"deployment","id":"d3","service":"s","environment":"production","finished_at":"2026-03-02T12:00:00Z","repo":"r","sha":"c0c0c01"}"#,
    ];
    let r = json(&events(&l), &service("s"), "2026-03-01", "2026-03-04");
    let deploy = &r["pr_stages"]["deploy"];
    // Both reached production with d2, two hours after their merge.
    assert_eq!(deploy["count"], 2, "{r}");
    assert_eq!(deploy["median_s"], 7200.0);
    // The rebased commits are the changes that shipped; the originals,
    // never deployed, are no lead time.
    assert_eq!(r["lead_time"]["count"], 3);
}

/// One deployment explained from the same facts the figures come from.
#[test]
fn a_deployment_explains_what_it_shipped_and_why_it_failed() {
    let l = [
        r#"{"type":"change","repo":"r","sha":"1111111","committed_at":"2026-03-01T00:00:00Z"}"#,
        r#"{"type":"change","repo":"r","sha":"2222222","parents":["1111111"],"committed_at":"2026-03-01T09:00:00Z","pull_request":"r#1"}"#,
        r#"{"type":"change","repo":"r","sha":"3333333","parents":["2222222"],"committed_at":"2026-03-01T11:00:00Z"}"#,
        r#"{"type":"pull_request","id":"r#1","repo":"r","opened_at":"2026-03-01T10:00:00Z","merged_at":"2026-03-01T12:00:00Z","merge_sha":"3333333"}"#,
        r#"{"type":"deployment","id":"d1","service":"s","environment":"production","finished_at":"2026-03-01T00:30:00Z","repo":"r","sha":"1111111"}"#,
        r#"{"type":"deployment","id":"d2","service":"s","environment":"production","finished_at":"2026-03-01T15:00:00Z","repo":"r","sha":"3333333"}"#,
        r#"{"type":"incident","id":"i1","service":"s","started_at":"2026-03-01T16:00:00Z","resolved_at":"2026-03-01T18:00:00Z","caused_by":"d2"}"#,
    ];
    let input = ReportInput::from_events(events(&l), &EngineConfig::default());
    let ledger = Ledger::build(&input, &EngineConfig::default());
    let id = |s: &str| lantern_events::EventId::parse(s).unwrap();
    let base = ledger.explain(&id("d1")).unwrap();
    assert_eq!(
        (base.rule, base.changes, base.failed),
        ("baseline", 0, false)
    );
    let d2 = ledger.explain(&id("d2")).unwrap();
    assert_eq!(d2.rule, "graph");
    assert_eq!(d2.since.as_deref(), Some("d1"));
    assert_eq!(d2.changes, 2);
    assert_eq!(
        d2.earliest_commit_at.as_deref(),
        Some("2026-03-01T09:00:00Z")
    );
    assert_eq!(d2.latest_commit_at.as_deref(), Some("2026-03-01T11:00:00Z"));
    assert_eq!(d2.pull_requests, ["r#1"]);
    assert!(d2.failed);
    assert_eq!(
        d2.failure,
        [FailureCause::Incident {
            id: "i1".into(),
            link: "by_id"
        }]
    );
    assert_eq!(d2.recovery_s, Some(3.0 * 3600.0));
    assert!(!d2.rework);
    assert!(ledger.explain(&id("nope")).is_none());
}
