//! What every metric means, in one place: `lantern explain`, the API
//! (`GET /api/v1/metrics/docs`) and the dashboard all serve this text
//! (governance.md rule 7).

use serde::Serialize;

#[derive(Debug, Clone, Copy, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricDoc {
    /// The key in the report JSON.
    pub key: &'static str,
    pub title: &'static str,
    /// One line, for tables.
    pub summary: &'static str,
    pub measures: &'static str,
    pub does_not_measure: &'static str,
    pub misread_or_gamed: &'static str,
    pub definition: &'static str,
}

pub fn metric_docs() -> &'static [MetricDoc] {
    DOCS
}

/// Finds a metric by its report key, its title, or a common alias.
pub fn find_metric_doc(name: &str) -> Option<&'static MetricDoc> {
    let wanted = name.trim().to_lowercase().replace(['-', ' '], "_");
    let alias = match wanted.as_str() {
        "df" | "deploy_frequency" | "frequency" => "deployment_frequency",
        "lt" | "lead_time_for_changes" => "lead_time",
        "cfr" | "failure_rate" => "change_failure_rate",
        "recovery" | "fdrt" | "recovery_time" | "failed_deployment_recovery" => {
            "failed_deployment_recovery_time"
        }
        "rework" | "deployment_rework_rate" => "rework_rate",
        "mttr" | "ttr" | "restore" => "time_to_restore",
        "ttd" | "detect" => "time_to_detect",
        "success_rate" => "deployment_success_rate",
        "pr" | "pull_request_stages" | "stages" => "pr_stages",
        "quality" => "data_quality",
        "slo" | "sli" | "service_level_objectives" => "slos",
        "budget" | "error_budgets" | "burn_rate" => "error_budget",
        "deploy_gate" | "deployment_gate" => "gate",
        "velocity" | "throughput" => "flow_velocity",
        "cycle_time" | "flow" => "flow_time",
        "efficiency" => "flow_efficiency",
        "wip" | "work_in_progress" | "load" => "flow_load",
        "alerts" | "alert_noise" | "noise" => "alert_quality",
        "review" | "reviews" | "pr_size" | "batch_size" => "review_quality",
        "finding" | "security" | "static_analysis" => "findings",
        "ai" | "assist" | "copilot" | "assist_usage" => "ai_assist",
        "distribution" => "flow_distribution",
        other => other,
    };
    DOCS.iter().find(|d| d.key == alias)
}

const DOCS: &[MetricDoc] = &[
    MetricDoc {
        key: "deployment_frequency",
        title: "Deployment frequency",
        summary: "How often this scope ships to production.",
        measures: "How often successful deployments reach production: the count, the rate per day, the number of distinct days with a deployment, and the median number of deploy days per whole ISO week. A proxy for batch size: teams that deploy often ship smaller, safer changes.",
        does_not_measure: "The value, size or quality of what was shipped; how much anyone worked; deployments to staging or other non-production environments; failed or cancelled attempts.",
        misread_or_gamed: "Splitting one change into many empty deployments raises the count without changing anything; compare deploy days, not raw counts. A quiet month can be a change freeze, a holiday or a migration — read the annotations. Never compare teams by it: a payments ledger and a marketing site have different good rhythms.",
        definition: "P = successful production deployments of the scope with finished_at in the window. count = |P|; per_day = count ÷ window days; deploy_days = distinct UTC dates; weekly_median_deploy_days = median over whole ISO weeks inside the window of distinct deploy dates. Band (dora-2023): elite if the weekly median ≥ 5, high if ≥ 1, medium if the monthly median deployments ≥ 1 (or count×30÷days ≥ 1 when no month is whole), else low; none when no week is whole. Pages and tables show the band from 1 deployment: with none, every figure reads \"no data\", never a band.",
    },
    MetricDoc {
        key: "lead_time",
        title: "Lead time for changes",
        summary: "From commit to running in production.",
        measures: "For every commit a production deployment shipped, the time from its commit to that deployment finishing: how long finished work waits before users have it.",
        does_not_measure: "How long the work took to design or write (that is before the commit; see the coding stage of pr_stages); anyone's speed; commits that never reached production.",
        misread_or_gamed: "Rebasing or amending resets commit times and makes lead time look shorter; clock skew makes some values negative (they are left out and counted in data_quality). A service's first known deployment is a baseline and contributes nothing. Long-lived branches show up here only after they merge.",
        definition: "For each deployment d in P and each change c in shipped(d): d.finished_at − c.committed_at. shipped(d) is d's explicit change list, else the commits reachable from d.sha and not from the previous production deployment's sha, each change counted only once per service. Negative values are left out. Band on the median: elite < 1 day, high < 7 days, medium < 30 days, else low. Pages and tables show the band only from 5 changes (fewer: \"too few: n of 5\"); the report's band field is metrics.md's whatever the sample.",
    },
    MetricDoc {
        key: "change_failure_rate",
        title: "Change failure rate",
        summary: "Share of deployments that caused an incident, rollback or hotfix.",
        measures: "The share of production deployments that failed: an incident was linked to them (explicitly, by commit, or inferred from timing), they were rolled back, or the next deployment was a hotfix.",
        does_not_measure: "Failures that no incident, rollback or hotfix recorded; how severe a failure was; who wrote the change. It describes the delivery system — tests, review, rollout — not a person.",
        misread_or_gamed: "Not declaring incidents or rollbacks lowers it on paper: a falling rate with rising time to restore is a warning sign. Inferred links (a deployment shortly before an incident) can blame an innocent deployment; see by_cause and data_quality.inferred_incident_links, and mark external causes.",
        definition: "Over P. An incident is linked to at most one deployment: by caused_by, else by caused_by_sha (earliest production deployment of an affected service that shipped that commit), else — unless cause is external — inferred: the latest deployment of its service finished at or before it started and at most link_window (24 h) before. d failed when an incident is linked to it, a rollback names it (or rolls back to before it), or the next deployment is a hotfix. rate = failed ÷ |P|. Band: elite ≤ 5 %, high ≤ 10 %, medium ≤ 15 %, else low. Pages and tables show the band only from 10 deployments, where one failure moves the rate by at most 10 points (fewer: \"too few: n of 10\"); the report's band field is metrics.md's whatever the sample.",
    },
    MetricDoc {
        key: "failed_deployment_recovery_time",
        title: "Failed deployment recovery time",
        summary: "From a failed deployment to service restored.",
        measures: "For each failed deployment, the time from its finish to recovery: the latest resolution of its linked incidents, else its first rollback, else the hotfix deployment.",
        does_not_measure: "Recovery from failures no deployment caused (see time_to_restore); how hard people worked during the incident; failures still open (counted as unresolved, not as a value).",
        misread_or_gamed: "Resolving incidents early and reopening new ones shortens it on paper. Few failures make the median jumpy: read the count before the figure.",
        definition: "For each failed d in P: end = max resolved_at of linked incidents (unresolved if any is open), else finished_at of its first rollback, else finished_at of the hotfix; value = end − d.finished_at, negatives left out. Band on the median: elite < 1 hour, high < 1 day, medium < 7 days, else low. Pages and tables show the band only from 5 recoveries (fewer: \"too few: n of 5\"); the report's band field is metrics.md's whatever the sample.",
    },
    MetricDoc {
        key: "rework_rate",
        title: "Deployment rework rate",
        summary: "Share of deployments that were unplanned fixes.",
        measures: "The share of production deployments that were rework: hotfixes, rollbacks, or — when a deployment does not say what it is — deployments made while an incident on the service was open.",
        does_not_measure: "Whether the rework was well done; planned refactoring (that is not rework here); work that never reached production.",
        misread_or_gamed: "Labelling every deployment `planned` hides rework. A deployment during a long unrelated incident is counted as rework when its kind is not stated: send `kind` to be precise.",
        definition: "Over P: d is rework when kind is hotfix or rollback, or kind is absent and an incident affecting d's service was open at d.finished_at (started_at ≤ finished_at < resolved_at, or unresolved). rate = rework ÷ |P|.",
    },
    MetricDoc {
        key: "time_to_restore",
        title: "Time to restore service",
        summary: "From the start of an incident to its resolution.",
        measures: "For every incident affecting the scope that was resolved in the window, the time from the start of impact to resolution, whatever caused it (the pre-2023 DORA \"MTTR\").",
        does_not_measure: "Which incidents a deployment caused (see failed_deployment_recovery_time); open incidents; how well the incident was handled.",
        misread_or_gamed: "Splitting incidents, or declaring them late, shortens it. One long outage dominates the mean: read the median and p90.",
        definition: "Incidents with an affected service in the scope and resolved_at in the window: resolved_at − started_at. Stats object.",
    },
    MetricDoc {
        key: "time_to_detect",
        title: "Time to detect",
        summary: "From the start of impact to someone noticing.",
        measures: "For incidents that started in the window and record when they were detected, the time from impact to detection: how good alerting is.",
        does_not_measure: "Incidents without a detection time; the time to respond or repair.",
        misread_or_gamed: "Setting started_at to the alert time makes detection instant on paper; impact start is usually known only after the review.",
        definition: "Incidents with an affected service in the scope, started_at in the window and a detected_at: detected_at − started_at. Stats object.",
    },
    MetricDoc {
        key: "deployment_success_rate",
        title: "Deployment success rate",
        summary: "Share of production deployment attempts that succeeded.",
        measures: "Of the production deployment attempts that finished in the window as success or failure, the share that succeeded: how reliable the pipeline is.",
        does_not_measure: "Whether a successful deployment worked for users (see change_failure_rate); cancelled attempts.",
        misread_or_gamed: "Retrying a flaky pipeline until green hides the failures only if failed attempts are not reported.",
        definition: "Production deployments of the scope, finished_at in the window, status success or failure: attempts, succeeded, rate = succeeded ÷ attempts.",
    },
    MetricDoc {
        key: "pr_stages",
        title: "Pull-request stages",
        summary: "Where lead time goes: coding, pickup, review, deploy.",
        measures: "For pull requests merged in the window into a repository the scope deploys: coding (first commit → opened), pickup (opened → first review), review (first review → merged), deploy (merged → first production deployment containing it). It shows where work waits.",
        does_not_measure: "Anyone's effort or speed — waiting time is a property of the process (queues, handoffs, review load), not a person. Pull requests never merged.",
        misread_or_gamed: "Opening pull requests early as drafts moves time from coding to pickup; rubber-stamp reviews shorten review and raise change failure rate. Review detail may be sampled (see the sample rate in the report).",
        definition: "For each merged pull request: coding = opened_at − first_commit_at (else the earliest authored_at of its stored commits); pickup = first_review_at − opened_at; review = merged_at − first_review_at; deploy = finished_at − merged_at of the earliest production deployment of the scope that shipped any of its commits or has one as its head. Negatives are left out and counted.",
    },
    MetricDoc {
        key: "data_quality",
        title: "Data quality",
        summary: "What made the numbers less trustworthy, so you can fix the telemetry.",
        measures: "Counts of what was left out or guessed: negative durations (clock skew, rebased history), baseline deployments (first known deployment of a service), deployments whose changes are unknown, deployed shas not among stored commits, open incidents, and incident links inferred from timing.",
        does_not_measure: "Whether the figures are right — only where they are known to be weaker.",
        misread_or_gamed: "A clean data-quality block does not prove the data is complete: events that were never sent cannot be counted.",
        definition: "negative_lead_times, negative_recovery_times, negative_pr_stages: values left out; baseline_deployments: deployments in P whose shipped set neither an explicit list nor the commit graph could give; deployments_without_changes: shipped set empty after de-duplication; unknown_deployed_shas: deployed sha not among stored changes; open_incidents: started before the window's end, unresolved; inferred_incident_links: incidents linked by timing to a deployment in P; incident_links: the incidents linked to a deployment in P by how — by_id (caused_by), by_sha (caused_by_sha) and inferred (timing; the same count as inferred_incident_links).",
    },
    MetricDoc {
        key: "slos",
        title: "Service level objectives",
        summary: "Whether the service is healthy enough to serve its users, by its own objectives.",
        measures: "For each SLO of a service: the share of good events over its rolling window (the SLI) against its objective, from counts the service's own telemetry sends or Prometheus gives. DORA says how the system changes; SLOs say whether it serves its users.",
        does_not_measure: "Whether the objective is the right one, or whether anyone uses the service: an SLO met by a service nobody calls is met; what users who never reach the service experience; any person's work.",
        misread_or_gamed: "An objective set so low that it is always met; counting health checks as good events; dropping the bad intervals (a gap is no data, never good). Compare a service with its own objective over time, never services or teams with each other.",
        definition: "slo.md. An interval counts in [a, b) when its end lies in (a, b]. SLI = good ÷ total (null when total = 0); status at t over [t − window_days, t): no_data when total = 0, exhausted when the budget remaining ≤ 0, burning when a page alert fires, warning when a ticket alert fires or remaining < 0.25, else ok.",
    },
    MetricDoc {
        key: "error_budget",
        title: "Error budget and burn rate",
        summary: "How much unreliability the objective allows, how much is spent, and how fast.",
        measures: "budget = 1 − objective: the share of bad events the objective allows. Consumed = (bad ÷ total) ÷ budget over the window; remaining = 1 − consumed. The burn rate over the last 5 minutes to 3 days is the same ratio over that span: 1 spends the budget exactly over the window. Four alert tiers (fast, medium, slow, slowest) fire when a long and a short window both burn faster than the tier's threshold, max(1, share × window hours ÷ long window hours).",
        does_not_measure: "The cause of the burn, or who caused it; deployments are shown beside the burn (deployments followed by burn) as where to look, never as failures by themselves.",
        misread_or_gamed: "A fast burn over five minutes alone is noise, hence the paired windows; an exhausted budget says to slow planned change, not to stop fixing. Spending the budget on purpose (a risky migration) is what it is for.",
        definition: "slo.md. consumed = ((total − good) ÷ total) ÷ (1 − objective); burn rate over the w before t = consumed over [t − w, t) for w in 5m, 30m, 1h, 2h, 6h, 1d, 3d; tiers fast (page, 1 h and 5 min, share 0.02), medium (page, 6 h and 30 min, 0.05), slow (ticket, 1 d and 2 h, 0.10), slowest (ticket, 3 d and 6 h, 0.10), not evaluated when the long window exceeds the SLO's. A deployment is followed by burn when the burn rate over its next hour exceeds half the fast threshold.",
    },
    MetricDoc {
        key: "gate",
        title: "The deploy gate",
        summary: "Whether a planned deployment should wait while the service's error budget is spent.",
        measures: "For a pipeline step: allow, warn or deny for a deployment of a service now, from its SLOs' status, with the reason in one sentence; every answer is recorded in the audit log.",
        does_not_measure: "Whether the change itself is safe; it knows only how the service is doing now.",
        misread_or_gamed: "A gate that blocks the fix: hotfixes and rollbacks are always allowed, because they are what a spent budget asks for. A gate that is always overridden teaches nothing: start with enforce off, read the warnings, then turn it on. No data is unknown, never healthy.",
        definition: "slo.md. 1 an unknown service is an error (404, exit 2); 2 a hotfix or rollback is allowed; 3 any SLO exhausted or burning, or without data when no_data = deny: deny; 4 any SLO warning or without data: warn; 5 otherwise, and with no SLO: allow. With [gate] enforce = false (the default) a deny is answered as a warn. lantern gate exits 0 for allow or warn, 3 for deny.",
    },
    MetricDoc {
        key: "flow_velocity",
        title: "Flow velocity",
        summary: "Work items a team finished in the window, per week and by kind.",
        measures: "How many of the team's work items (tickets, issues, stories) reached done in the window after having started, per week, split into features, defects, risks and debt; items closed straight from the backlog are counted apart (closed_unstarted).",
        does_not_measure: "How big or valuable the items were; how hard anyone worked; who did them (items belong to a team, and no assignee is kept).",
        misread_or_gamed: "Splitting one piece of work into many tickets raises it without delivering more; closing stale tickets does not (they never started), and reopened items stop counting until done again. Teams size tickets differently: never compare teams by it.",
        definition: "flow.md. done_at(i) = at of the item's last work_state when that state is done; start(i) = at of its first active or waiting state. D = the scope's items with done_at in W and a start. count = |D|, per_week = |D| ÷ (days(W) ÷ 7), by_kind counts D's kinds, closed_unstarted counts the items done in W without a start.",
    },
    MetricDoc {
        key: "flow_time",
        title: "Flow time",
        summary: "How long finished work took from its start to done.",
        measures: "For each item finished in the window, the time from its first active or waiting state to done: the whole time work was in flow, waiting included. It starts before the first commit, where lead time cannot see.",
        does_not_measure: "The time in the backlog before work started; effort (a week of flow time can hold an hour of work); the time after done until users have it (that is lead time's and deployment's).",
        misread_or_gamed: "Moving tickets to in progress only at the last moment shortens it on paper; closing without doing is counted as done only when the item had started. Long-lived items reopened and finished again count once, with their whole history.",
        definition: "flow.md. The stats object (count, median_s, p75_s, p90_s, mean_s) of done_at(i) − start(i) over D.",
    },
    MetricDoc {
        key: "flow_efficiency",
        title: "Flow efficiency",
        summary: "Share of flow time work was actively worked on rather than waiting.",
        measures: "Of the flow time of the items finished in the window, the share spent in an active state; the rest was waiting (for a review, a build, a handoff) or back in the backlog. ratio is the ratio of sums; shares summarises each item's own share.",
        does_not_measure: "Whether the active time was well spent; anyone's utilisation. A low ratio is the system's queues, not a person's idleness.",
        misread_or_gamed: "It is only as good as the states: a board whose columns all map to active reads 100 %. Map review, QA and blocked columns to waiting ([flow.states]).",
        definition: "flow.md. active_time(i) = the time between start(i) and done_at(i) in active states (each lasts until the item's next state). ratio = Σ active_time ÷ Σ flow time over D (null when Σ flow time = 0); shares = the stats object of active_time ÷ flow time over the items of D with flow time > 0 (its _s fields hold plain shares).",
    },
    MetricDoc {
        key: "flow_load",
        title: "Flow load",
        summary: "Work in progress: items active or waiting at the end of each day.",
        measures: "How many of the team's items were in flow (active or waiting) at the end of each UTC day of the window: the mean over those days, the most, and the count at the window's end. High load with low velocity is work started and not finished.",
        does_not_measure: "How much work each item is; who holds it.",
        misread_or_gamed: "Items left open on the board after the work stopped inflate it; parking them in the backlog hides it. Read it with velocity and flow time, not alone.",
        definition: "flow.md. For each UTC day that W touches, the number of the scope's items whose state at min(next midnight, to) — the state of their last work_state with at before it — is active or waiting; mean over those days (whole and partial alike), max, and at_end = the same count at to.",
    },
    MetricDoc {
        key: "flow_distribution",
        title: "Flow distribution",
        summary: "What finished work was: features, defects, risks, debt.",
        measures: "The share of each kind among the items finished in the window: how much of the team's capacity went to new value, to fixing, to risk and to paying down debt.",
        does_not_measure: "Whether the balance is right: that depends on the product's stage and the team's situation.",
        misread_or_gamed: "Relabelling defects as features changes it without changing anything; items without a kind count as features.",
        definition: "flow.md. For each of feature, defect, risk, debt: its count in D ÷ |D|; every share null when D is empty.",
    },
    MetricDoc {
        key: "operational_load",
        title: "Operational load",
        summary: "A team's incidents, how many came outside its working time, and how long they were open.",
        measures: "For the team's services over the window: incidents that started in it, per week; how many were detected outside the team's working hours and days in its own time zone (summer time included), and their share; and the hours they were open (up to the window's end or now).",
        does_not_measure: "Who was paged or woke up; how severe each incident felt; on-call load from other teams' systems.",
        misread_or_gamed: "Fewer out-of-hours incidents can mean alerts were silenced rather than fixed; read it with time to restore and the team's pulse. A team across time zones needs its working time set in the catalog, or every night shift reads as out of hours.",
        definition: "health.md. Incidents of T: service or one of services belongs to T, started_at in W; per_week = count ÷ (days(W) ÷ 7); out_of_hours counts detected_at (else started_at) outside [working_hours) on working_days in timezone (defaults UTC, 09:00-18:00, Monday-Friday); incident_hours = Σ (min(resolved_at, to, now) − started_at) in hours.",
    },
    MetricDoc {
        key: "pulse",
        title: "Team pulse",
        summary: "Anonymous answers of a team to six statements about its health, per round.",
        measures: "Per statement (psychological safety, workload, clarity, on-call, decisions, satisfaction): how many answered, the mean on 1 (strongly disagree) to 5 (strongly agree), and how many gave each value — only once the round has closed.",
        does_not_measure: "Any person's answer: answers carry no code, token, address or time, and a statement fewer than max(3, min_group_size) people answered shows nothing to anyone, the team and admins included.",
        misread_or_gamed: "A pulse is a prompt for the team's own conversation, not a grade: never compare teams by it, and never ask who answered what. A round handed out only to some of the team says little about the rest.",
        definition: "health.md. Likert 1-5, each statement skippable. Results per question: responses, mean, counts[1..5] when responses >= max(3, min_group_size), else {suppressed, reason}; nothing while the round is open.",
    },
    MetricDoc {
        key: "strain",
        title: "Strain",
        summary: "Two facts that together suggest a team is under strain: rising incidents and a falling pulse.",
        measures: "Whether, at the window's end, the team's incidents in the last 30 days are at least 3 and at least 1.5 times those of the 30 days before, and its last closed pulse round's pooled mean is at least 0.5 below the round before. The team page says which facts hold.",
        does_not_measure: "How anyone feels; burnout; a score of any kind. It is never ranked and never shown across teams.",
        misread_or_gamed: "It is a prompt to talk about workload and on-call together, not a verdict. Skipping pulse rounds hides the second fact; it does not remove the strain.",
        definition: "health.md. Both: incidents in [to − 30 d, to) ≥ 3 and ≥ 1.5 × those in [to − 60 d, to − 30 d); and the pooled mean of all non-skipped answers to non-suppressed questions of the last closed round ≤ that of the round before − 0.5, both rounds with at least max(3, min_group_size) respondents.",
    },
    MetricDoc {
        key: "alert_quality",
        title: "Alert quality",
        summary: "How much of the scope's paging was noise, how fast it was acknowledged, how much of it a change caused.",
        measures: "Over the scope's incidents started in the window: how many were acknowledged and how long after detection (time to acknowledge), the noise — never acknowledged and resolved within 5 minutes of detection, alerts that fixed themselves before anyone looked — and the share linked to a deployment.",
        does_not_measure: "Who was paged, who acknowledged, or how hard anyone worked. For sources that never report acknowledgements (Alertmanager), noise is an upper bound: every short alert looks unacknowledged. Whether an alert was actionable beyond that.",
        misread_or_gamed: "Acknowledging everything at once lowers noise without fixing a single alert; silencing alerts lowers incidents and hides outages. A high noise share is a reason to tune alerts, not to page less.",
        definition: "Incidents whose service or one of whose services is in S, started_at in W. acknowledged: with acknowledged_at; time_to_acknowledge: stats of acknowledged_at − (detected_at, else started_at). noise: no acknowledged_at and 0 ≤ resolved_at − (detected_at, else started_at) ≤ 300 s; noise_share = noise ÷ incidents. linked_share: incidents linked to a deployment (as change failure rate links them) ÷ incidents; null when there are none.",
    },
    MetricDoc {
        key: "review_quality",
        title: "Review quality",
        summary: "How large the merged pull requests were and how many were reviewed before the merge.",
        measures: "Over the pull requests merged in the window whose repository the scope deploys: their size in changed lines (additions + deletions), the share larger than 400 lines (small batches are the leading indicator), and the share first reviewed at or before the merge.",
        does_not_measure: "Review depth or quality, who reviewed, how good the code was. Pull requests without sizes are left out of the size figures; pull requests whose review detail sampling dropped are left out of the review share.",
        misread_or_gamed: "Splitting one change into many tiny pull requests lowers the large share without lowering risk; rubber-stamp reviews raise the reviewed share without review. Never compare people's pull requests: there is no per-person view, by design.",
        definition: "P = pr_stages' set (merged_at in W, repo deployed by a service in S). merged = |P|; size: stats of additions + deletions over those giving both (line counts in the _s fields); large_share: share of those with more than 400 lines; reviewed_share: share with first_review_at ≤ merged_at over those whose review detail was kept (governance.md rule 6); unreviewed = kept − reviewed.",
    },
    MetricDoc {
        key: "findings",
        title: "Findings",
        summary: "Static-analysis and security findings opened, fixed and still open, by severity.",
        measures: "Over the repositories the scope deploys: findings opened and fixed in the window and open at its end, each by severity (critical, high, medium, low), the time to fix those fixed in the window, and the five rule families opened most — the conversation about secure-by-default templates.",
        does_not_measure: "Who introduced or fixed a finding, where in the code it is (no path, code or message is stored), or how exploitable it is. A sensor, not a verdict: scanners differ in what they report.",
        misread_or_gamed: "Dismissing findings as false positives counts as fixing them; turning rules off lowers the count. Few findings can mean a scanner that is not running.",
        definition: "Findings of S's repos (repos of any deployment of a service in S). opened: opened_at in W; fixed: fixed_at in W; open_at_end: opened_at < to and not fixed before to; each by severity. time_to_fix: stats of fixed_at − opened_at over fixed in W. top_categories: the five categories with most opened in W (ties by name).",
    },
    MetricDoc {
        key: "ai_assist",
        title: "AI assistance",
        summary: "How much the team's AI assistant was used and accepted — adoption, never productivity.",
        measures: "Over the team's days in the window with at least max(3, min_group_size) active users: the days, suggestions, acceptances, acceptance rate and mean active users, always shown beside the team's change failure rate and rework rate of the same window. A high acceptance rate may mean repetitive work, a low one good judgment.",
        does_not_measure: "Productivity, value or the quality of accepted code; any person's use (counts arrive already aggregated per team and day, and days with too few users are never shown, to anyone). Nothing about teams that do not send it.",
        misread_or_gamed: "Accepting suggestions to raise the rate; reading a high rate as speed without looking at stability beside it. AI amplifies what a team already does: a rising rate with a rising change failure rate is the pattern to see. Never rank teams by it.",
        definition: "assist_usage days of the team with day in W and active_users ≥ max(3, min_group_size): days, suggestions, acceptances, acceptance_rate = acceptances ÷ suggestions (null when none), mean_active_users = Σ active_users ÷ days; change_failure_rate and rework_rate are the team report's rates for W.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_report_metric_is_explained_and_found_by_alias() {
        for key in [
            "deployment_frequency",
            "lead_time",
            "change_failure_rate",
            "failed_deployment_recovery_time",
            "rework_rate",
            "time_to_restore",
            "time_to_detect",
            "deployment_success_rate",
            "pr_stages",
            "data_quality",
            "flow_velocity",
            "flow_time",
            "flow_efficiency",
            "flow_load",
            "flow_distribution",
            "alert_quality",
            "review_quality",
            "findings",
            "ai_assist",
        ] {
            let d = find_metric_doc(key).unwrap_or_else(|| panic!("{key}"));
            assert!(
                !d.measures.is_empty()
                    && !d.does_not_measure.is_empty()
                    && !d.misread_or_gamed.is_empty()
            );
        }
        assert_eq!(find_metric_doc("CFR").unwrap().key, "change_failure_rate");
        assert_eq!(find_metric_doc("lead-time").unwrap().key, "lead_time");
        assert_eq!(find_metric_doc("WIP").unwrap().key, "flow_load");
        assert_eq!(find_metric_doc("cycle time").unwrap().key, "flow_time");
        assert!(find_metric_doc("story_points").is_none());
    }
}
