//! Properties that hold for every history.

mod common;
use common::{BASE, history, parse_all};
use lantern_engine::*;
use lantern_events::*;
use proptest::prelude::*;

fn window(from_day: i64, days: i64) -> Window {
    let from = (BASE + from_day * 86_400) * 1_000_000;
    Window::new(
        Timestamp::from_micros(from),
        Timestamp::from_micros(from + days * 86_400 * 1_000_000),
    )
    .unwrap()
}

/// A random history's report input, with the default settings.
fn history_input(seed: u64) -> (ReportInput, EngineConfig) {
    let cfg = EngineConfig::default();
    let ev = EventSet::from_events(parse_all(&history(seed)));
    (ReportInput::from_events(ev, &cfg), cfg)
}

/// [`scopes`] and a team of the services `members` numbers.
fn scopes_and_team(members: &std::collections::BTreeSet<usize>) -> Vec<Scope> {
    let name = |i: usize| Name::parse(&format!("svc{}", i + 1)).unwrap();
    let mut all = scopes();
    all.push(Scope::Team {
        name: Name::parse("t").unwrap(),
        services: members.iter().map(|&i| name(i)).collect(),
    });
    all
}

fn scopes() -> Vec<Scope> {
    vec![
        Scope::Org,
        Scope::Service(Name::parse("svc1").unwrap()),
        Scope::Service(Name::parse("svc2").unwrap()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn rates_stay_in_bounds_and_percentiles_in_order(seed in any::<u64>(), from_day in -10i64..30, days in 1i64..60) {
        let ev = EventSet::from_events(parse_all(&history(seed)));
        let input = ReportInput::from_events(ev, &EngineConfig::default());
        let ledger = Ledger::build(&input, &EngineConfig::default());
        for scope in scopes() {
            let r = ledger.report(&scope, window(from_day, days));
            let cfr = &r.change_failure_rate;
            prop_assert!(cfr.failed <= cfr.deployments);
            prop_assert!(cfr.rate.is_none_or(|x| (0.0..=1.0).contains(&x)));
            prop_assert!(r.rework_rate.rate.is_none_or(|x| (0.0..=1.0).contains(&x)));
            prop_assert!(r.deployment_success_rate.rate.is_none_or(|x| (0.0..=1.0).contains(&x)));
            prop_assert_eq!(cfr.deployments, r.deployment_frequency.count);
            let causes = &cfr.by_cause;
            prop_assert!(causes.incident_explicit + causes.incident_inferred + causes.rollback + causes.hotfix >= cfr.failed);
            for s in [&r.lead_time.stats, &r.failed_deployment_recovery_time.stats, &r.time_to_restore, &r.pr_stages.deploy] {
                match (s.median_s, s.p75_s, s.p90_s) {
                    (Some(a), Some(b), Some(c)) => prop_assert!(a <= b && b <= c && s.count > 0),
                    (None, None, None) => prop_assert_eq!(s.count, 0),
                    _ => prop_assert!(false, "partial stats {:?}", s),
                }
            }
            prop_assert!(r.lead_time.stats.median_s.is_none_or(|m| m >= 0.0));
        }
    }

    #[test]
    fn re_sending_and_reordering_change_nothing(seed in any::<u64>(), rotate in 0usize..1000) {
        let events = EventSet::from_events(parse_all(&history(seed)));
        let mut all: Vec<Event> = Vec::new();
        all.extend(events.changes.iter().cloned().map(Event::Change));
        all.extend(events.pull_requests.iter().cloned().map(Event::PullRequest));
        all.extend(events.deployments.iter().cloned().map(Event::Deployment));
        all.extend(events.incidents.iter().cloned().map(Event::Incident));
        all.extend(events.pipeline_runs.iter().cloned().map(Event::PipelineRun));
        all.extend(events.annotations.iter().cloned().map(Event::Annotation));
        all.extend(events.findings.iter().cloned().map(Event::Finding));
        all.extend(events.assist_usage.iter().cloned().map(Event::AssistUsage));
        let n = all.len().max(1);
        let mut shuffled = all.clone();
        shuffled.rotate_left(rotate % n);
        shuffled.reverse();
        shuffled.extend(all.iter().cloned());
        let again = EventSet::from_events(shuffled);
        let cfg = EngineConfig::default();
        for scope in scopes() {
            prop_assert_eq!(report(&events, &scope, window(-5, 50), &cfg), report(&again, &scope, window(-5, 50), &cfg));
        }
    }

    #[test]
    fn adding_a_failed_deployment_never_lowers_the_failure_rate(seed in any::<u64>(), svc in 1usize..4) {
        let lines = history(seed);
        let before = EventSet::from_events(parse_all(&lines));
        let mut more = lines.clone();
        // After everything else, so that it changes no other deployment's neighbours.
        let at = "2026-12-01T00:00:00Z";
        more.push(format!(r#"{{"type":"deployment","id":"late","service":"svc{svc}","environment":"production","finished_at":"{at}"}}"#));
        more.push(format!(r#"{{"type":"incident","id":"late-inc","service":"svc{svc}","started_at":"2026-12-01T01:00:00Z","caused_by":"late"}}"#));
        let after = EventSet::from_events(parse_all(&more));
        let w = window(-30, 400);
        let cfg = EngineConfig::default();
        for scope in scopes() {
            let a = report(&before, &scope, w, &cfg).change_failure_rate;
            let b = report(&after, &scope, w, &cfg).change_failure_rate;
            if scope.contains(&Name::parse(&format!("svc{svc}")).unwrap()) {
                prop_assert_eq!(b.failed, a.failed + 1);
                prop_assert!(b.rate.unwrap() >= a.rate.unwrap_or(0.0));
            } else {
                prop_assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn a_ledger_indexed_by_service_gives_every_scope_the_same_report(
        seed in any::<u64>(),
        from_day in -10i64..40,
        days in 1i64..60,
        members in proptest::collection::btree_set(0usize..5, 0..5),
    ) {
        let ev = EventSet::from_events(parse_all(&history(seed)));
        let cfg = EngineConfig::default();
        let input = ReportInput::from_events(ev, &cfg);
        let plain = Ledger::build(&input, &cfg);
        let indexed = Ledger::build(&input, &cfg).with_scope_index();
        // svc4 and svc5 deploy nothing: a scope may name services without events.
        let name = |i: usize| Name::parse(&format!("svc{}", i + 1)).unwrap();
        let mut all = scopes();
        all.push(Scope::Service(name(3)));
        all.push(Scope::Team { name: Name::parse("t").unwrap(), services: members.iter().map(|&i| name(i)).collect() });
        // Also windows that start or end exactly at a deployment.
        let mut windows = vec![window(from_day, days)];
        let times: Vec<Timestamp> = input.deployments.iter().map(|d| d.finished_at).collect();
        for pair in times.windows(2) {
            let (a, b) = (pair[0].min(pair[1]), pair[0].max(pair[1]));
            windows.extend(Window::new(a, b).ok());
        }
        for w in windows {
            for scope in &all {
                prop_assert_eq!(plain.report(scope, w), indexed.report(scope, w), "scope {:?}, window {:?}", scope, w);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// issue 23's kept form: tallies kept per service and UTC day, added up
    /// over any window of whole days, give the report's own figures.
    #[test]
    fn day_tallies_added_over_whole_days_give_the_report(
        seed in any::<u64>(),
        from_day in -10i64..40,
        days in 1i64..60,
        members in proptest::collection::btree_set(0usize..5, 0..5),
    ) {
        let (input, cfg) = history_input(seed);
        let ledger = Ledger::build(&input, &cfg);
        let kept = ledger.day_tallies(&Scope::Org, &window(-400, 1000));
        let all = scopes_and_team(&members);
        let w = window(from_day, days);
        let (first, end) = (w.from.micros() / MICROS_PER_DAY, w.to.micros() / MICROS_PER_DAY);
        for scope in &all {
            let mut sum = DeployTally::default();
            for ((service, day), t) in &kept {
                if scope.contains(service) && (first..end).contains(day) {
                    sum.add(t);
                }
            }
            let direct = ledger.report(scope, w);
            prop_assert_eq!(ledger.report_with(scope, w, sum), direct, "scope {:?}, window {:?}", scope, w);
        }
    }

    /// A report over whole days from kept days alone — no deployment read —
    /// is the report from the whole history, hygiene and panels included.
    #[test]
    fn a_report_from_kept_days_is_the_report_from_the_deployments(
        seed in any::<u64>(),
        from_day in -10i64..40,
        days in 1i64..60,
        members in proptest::collection::btree_set(0usize..5, 0..5),
    ) {
        let (input, cfg) = history_input(seed);
        let ledger = Ledger::build(&input, &cfg);
        let w = window(from_day, days);
        // Kept as built (a tally a day), and as a store reads them for
        // this window's report: each service's days between the window's
        // cuts added up into one tally.
        let merged = KeptCuts::of(&[w]);
        for cuts in [KeptCuts::every_day(), merged] {
            let kept = kept_input(&input, &ledger, cuts);
            // The organisation's, from kept pull-request tallies too.
            let mut org = kept.clone();
            org.pull_requests.clear();
            org.pull_request_facts.clear();
            let from_kept_org = Ledger::build(&org, &cfg);
            prop_assert_eq!(from_kept_org.report(&Scope::Org, w), ledger.report(&Scope::Org, w));
            let mut kept = kept;
            if let Some(k) = &mut kept.kept {
                k.pull_requests = None;
            }
            let from_kept = Ledger::build(&kept, &cfg);
            let all = scopes_and_team(&members);
            for scope in &all {
                prop_assert_eq!(from_kept.report(scope, w), ledger.report(scope, w), "scope {:?}, window {:?}", scope, w);
                prop_assert_eq!(from_kept.lead_times_by_service(scope, &w), ledger.lead_times_by_service(scope, &w));
                let mut finishes = from_kept.production_finishes(scope, &w);
                finishes.sort();
                let mut expected = ledger.production_finishes(scope, &w);
                expected.sort();
                prop_assert_eq!(finishes, expected);
            }
        }
    }
}

/// `input` with its deployments (and pull requests) given as kept tallies
/// only, read day by day into spans between `cuts` as a store reads them.
fn kept_input(input: &ReportInput, ledger: &Ledger, cuts: KeptCuts) -> ReportInput {
    let all_time = window(-400, 1000);
    let mut deployments = KeptTallies::<DeployTally>::new(cuts.clone());
    let mut deployed = Vec::new();
    // By day, then service, as stores read them.
    let mut days: Vec<((Name, i64), DeployTally)> = ledger
        .day_tallies(&Scope::Org, &all_time)
        .into_iter()
        .collect();
    days.sort_by(|((s, d), _), ((t, e), _)| (d, s).cmp(&(e, t)));
    for ((service, day), t) in days {
        deployments.day(&service, day).add(&t);
        deployed.push((service, day));
    }
    let mut prs = KeptTallies::<PrTally>::new(cuts);
    for ((repo, day), t) in ledger.pr_day_tallies(&all_time) {
        prs.day(&repo, day).add(&t);
    }
    let mut kept = input.clone();
    kept.kept = Some(KeptDays {
        tallies: deployments.finish(),
        deployed,
        linked_incidents: ledger
            .incident_links_by_service()
            .into_iter()
            .map(|(id, _)| id)
            .collect(),
        pull_requests: Some(prs.finish()),
    });
    kept.deployments.clear();
    kept.deployment_facts.clear();
    kept.rollouts = Rollouts::default();
    kept
}
