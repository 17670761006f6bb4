//! Schema migrations, versioned in code. `PRAGMA user_version` records how
//! many have been applied; each runs once, in its own transaction.

use crate::Result;
use crate::StoreError;
use rusqlite::Connection;

/// The window tables' secondary indexes. A refresh drops them, appends
/// rows in key order and builds them again: much faster than keeping them
/// up to date row by row. Part of migration 2, so never to be edited.
macro_rules! window_indexes {
    () => {
        "CREATE INDEX deployment_window_service ON deployment_window(service, finished_at);
        CREATE INDEX deployment_window_named_rollbacks ON deployment_window(finished_at) WHERE rollback_of IS NOT NULL;
        CREATE INDEX pull_request_window_repo ON pull_request_window(repo, merged_at);"
    };
}

/// Window indexes added after migration 2 (migrations 11, 14 and 22),
/// rebuilt with the others: what incidents name (hygiene.md: is an
/// incident linked?) is found by id, a rollout's members by rollout, and
/// a scope's rollbacks that name what they roll back by service (without
/// it, a service's report looked up each of its earlier deployments).
macro_rules! later_window_indexes {
    () => {
        "CREATE INDEX deployment_window_ids ON deployment_window(deployment);
        CREATE INDEX deployment_window_rollouts ON deployment_window(rollout) WHERE rollout IS NOT NULL;
        CREATE INDEX deployment_window_service_rollbacks ON deployment_window(service, finished_at) WHERE rollback_of IS NOT NULL;"
    };
}

pub(crate) const CREATE_WINDOW_INDEXES: &str =
    concat!(window_indexes!(), "\n", later_window_indexes!());
pub(crate) const DROP_WINDOW_INDEXES: &str = "DROP INDEX IF EXISTS deployment_window_service;
    DROP INDEX IF EXISTS deployment_window_ids;
    DROP INDEX IF EXISTS deployment_window_rollouts;
    DROP INDEX IF EXISTS deployment_window_named_rollbacks;
    DROP INDEX IF EXISTS deployment_window_service_rollbacks;
    DROP INDEX IF EXISTS pull_request_window_repo;";

/// Each entry is one migration, applied once and in order; several string
/// pieces form one migration when they are listed in one `concat!`.
const MIGRATIONS: &[&str] = &[
    // 1: the five canonical event types. Timestamps are microseconds since
    // the epoch (UTC); sha lists are space-separated hex; NULL = absent.
    r#"
    -- Keyed by id. The default id is `repo@sha`, so a repository's history
    -- is one range of the key; the few changes with other ids are found
    -- through a partial index. One B-tree to update per change, not two.
    CREATE TABLE changes (
        id TEXT PRIMARY KEY,
        repo TEXT NOT NULL,
        sha TEXT NOT NULL,
        parents TEXT NOT NULL,
        committed_at INTEGER NOT NULL,
        authored_at INTEGER NOT NULL,
        author TEXT,
        pull_request TEXT
    ) WITHOUT ROWID;
    CREATE INDEX changes_named_otherwise ON changes(repo) WHERE id != repo || '@' || sha;

    CREATE TABLE pull_requests (
        id TEXT PRIMARY KEY,
        repo TEXT NOT NULL,
        opened_at INTEGER NOT NULL,
        first_review_at INTEGER,
        approved_at INTEGER,
        merged_at INTEGER,
        closed_at INTEGER,
        merge_sha TEXT,
        head_sha TEXT,
        commits TEXT NOT NULL,
        first_commit_at INTEGER,
        additions INTEGER,
        deletions INTEGER,
        author TEXT
    ) WITHOUT ROWID;
    CREATE INDEX pull_requests_repo ON pull_requests(repo);

    CREATE TABLE deployments (
        id TEXT PRIMARY KEY,
        service TEXT NOT NULL,
        environment TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at INTEGER,
        finished_at INTEGER NOT NULL,
        repo TEXT,
        sha TEXT,
        changes TEXT,
        kind TEXT,
        rollback_of TEXT,
        automated INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX deployments_service ON deployments(service);

    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        service TEXT NOT NULL,
        services TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        detected_at INTEGER,
        acknowledged_at INTEGER,
        resolved_at INTEGER,
        severity TEXT,
        cause TEXT,
        caused_by TEXT,
        caused_by_sha TEXT,
        title TEXT
    ) WITHOUT ROWID;

    CREATE TABLE annotations (
        id TEXT PRIMARY KEY,
        scope_kind TEXT NOT NULL,
        scope_name TEXT,
        kind TEXT NOT NULL,
        from_at INTEGER NOT NULL,
        to_at INTEGER,
        title TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 2: facts derived from history (lantern_engine::Facts), kept in time
    // order with what a report reads of each deployment and pull request,
    // so that any window is one range scan.
    concat!(
        r#"
    CREATE TABLE deployment_window (
        finished_at INTEGER NOT NULL,
        deployment TEXT NOT NULL,
        service TEXT NOT NULL,
        environment TEXT NOT NULL,
        status TEXT NOT NULL,
        kind TEXT,
        rollback_of TEXT,
        repo TEXT,
        rule INTEGER,
        sha_known INTEGER,
        shipped BLOB,
        PRIMARY KEY (finished_at, deployment)
    ) WITHOUT ROWID;
    CREATE TABLE pull_request_window (
        merged_at INTEGER NOT NULL,
        pull_request TEXT NOT NULL,
        repo TEXT NOT NULL,
        opened_at INTEGER NOT NULL,
        first_review_at INTEGER,
        first_commit_at INTEGER,
        deploys BLOB NOT NULL,
        PRIMARY KEY (merged_at, pull_request)
    ) WITHOUT ROWID;
    "#,
        window_indexes!(),
        r#"
    CREATE TABLE incident_links (
        incident TEXT NOT NULL,
        service TEXT NOT NULL,
        finished_at INTEGER NOT NULL,
        deployment TEXT NOT NULL,
        PRIMARY KEY (incident, service)
    ) WITHOUT ROWID;
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    DROP INDEX deployments_service;
    CREATE INDEX deployments_service_repo ON deployments(service, repo);
    "#
    ),
    // 3: where each source adapter got to (e.g. the git tips an import
    // read), written in the same transaction as the events it produced.
    r#"
    CREATE TABLE source_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 4: webhook bodies that could not be mapped, kept (with why) until a
    // fixed mapping replays them or retention drops them.
    r#"
    CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY,
        received_at INTEGER NOT NULL,
        source TEXT NOT NULL,
        reason TEXT NOT NULL,
        headers TEXT NOT NULL,
        body BLOB NOT NULL
    );
    "#,
    // 5: which services and repositories have facts older than their
    // events, so that a refresh re-derives only what a write touched.
    r#"
    CREATE TABLE stale_facts (
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (kind, name)
    ) WITHOUT ROWID;
    -- The services that deploy a repository: a partial refresh's closure.
    CREATE INDEX deployments_repo ON deployments(repo) WHERE repo IS NOT NULL;
    "#,
    // 6: governance (governance.md): grants (token hashes, never tokens),
    // sign-in sessions, the hash-chained audit log, disputes.
    r#"
    CREATE TABLE grants (
        id TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        teams TEXT NOT NULL,
        source TEXT,
        purpose TEXT NOT NULL,
        secret_hash BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER,
        last_used_at INTEGER
    ) WITHOUT ROWID;
    CREATE TABLE sessions (
        hash BLOB PRIMARY KEY,
        grant_id TEXT NOT NULL REFERENCES grants(id),
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        purpose TEXT NOT NULL,
        action TEXT NOT NULL,
        scope TEXT NOT NULL,
        outcome TEXT NOT NULL,
        prev TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    -- 'head': the last entry appended; 'dropped': the last entry retention
    -- removed. Together they let `audit verify` see entries cut off either end.
    CREATE TABLE audit_chain (
        end_name TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL
    ) WITHOUT ROWID;
    -- Nobody edits the log through Lantern; retention removes only what
    -- it has first recorded as dropped.
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    WHEN old.seq > coalesce((SELECT seq FROM audit_chain WHERE end_name = 'dropped'), 0)
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TABLE disputes (
        id INTEGER PRIMARY KEY,
        metric TEXT NOT NULL,
        scope_kind TEXT NOT NULL,
        scope_name TEXT,
        from_at INTEGER NOT NULL,
        to_at INTEGER NOT NULL,
        context TEXT NOT NULL,
        opened_at INTEGER NOT NULL,
        resolution TEXT,
        resolved_at INTEGER
    );
    "#,
    // 7: retention (governance.md rule 5): what suppression and team
    // scopes need of purged events, without people or ids.
    r#"
    CREATE TABLE retained_contributors (
        repo TEXT NOT NULL, -- '' for the whole organisation
        day INTEGER NOT NULL, -- days since 1970-01-01, UTC
        contributors INTEGER NOT NULL,
        PRIMARY KEY (repo, day)
    ) WITHOUT ROWID;
    CREATE TABLE retained_deployed_repos (
        service TEXT NOT NULL,
        repo TEXT NOT NULL,
        PRIMARY KEY (service, repo)
    ) WITHOUT ROWID;
    "#,
    // 8: leases on periodic jobs (retention), shared with the PostgreSQL
    // store's contract: one holder at a time until its lease expires.
    r#"
    CREATE TABLE leases (
        job TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 9: the `sli` events of slo.md: an SLO's counts, read by the
    // interval's end.
    r#"
    CREATE TABLE slis (
        id TEXT PRIMARY KEY,
        slo TEXT NOT NULL,
        from_at INTEGER NOT NULL,
        to_at INTEGER NOT NULL,
        good INTEGER NOT NULL,
        total INTEGER NOT NULL
    ) WITHOUT ROWID;
    -- Covering: an SLO's status is a few range sums over this index.
    CREATE INDEX slis_by_end ON slis(slo, to_at, good, total);
    "#,
    // 10: the `pipeline_run` events of hygiene.md. A report reads a
    // window's runs by repository and time, and every attempt of the
    // same pipeline on the same commit (flaky runs).
    r#"
    CREATE TABLE pipeline_runs (
        id TEXT PRIMARY KEY,
        repo TEXT NOT NULL,
        sha TEXT NOT NULL,
        pipeline TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        finished_at INTEGER NOT NULL,
        status TEXT NOT NULL,
        attempt INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX pipeline_runs_by_time ON pipeline_runs(repo, finished_at);
    CREATE INDEX pipeline_runs_by_commit ON pipeline_runs(repo, sha, pipeline);
    CREATE INDEX pipeline_runs_finished ON pipeline_runs(finished_at);
    "#,
    // 11: hygiene.md's rollouts (a deployment's `rollout`), and what it
    // reads of a window's deployments besides the facts: when each started
    // (inverted intervals), whether it was automated, its rollout.
    // Forgetting the facts' fingerprint rebuilds every window row.
    r#"
    ALTER TABLE deployments ADD COLUMN rollout TEXT;
    ALTER TABLE deployment_window ADD COLUMN started_at INTEGER;
    ALTER TABLE deployment_window ADD COLUMN automated INTEGER;
    ALTER TABLE deployment_window ADD COLUMN rollout TEXT;
    CREATE INDEX deployment_window_rollouts ON deployment_window(rollout) WHERE rollout IS NOT NULL;
    DELETE FROM meta WHERE key = 'facts';
    "#,
    // 12: when Lantern received each event (hygiene.md F1 and F3), the
    // events dated well after it (so reports count them without a scan),
    // and the minutes in which each webhook receiver delivered.
    r#"
    ALTER TABLE changes ADD COLUMN received_at INTEGER;
    ALTER TABLE pull_requests ADD COLUMN received_at INTEGER;
    ALTER TABLE deployments ADD COLUMN received_at INTEGER;
    ALTER TABLE incidents ADD COLUMN received_at INTEGER;
    ALTER TABLE annotations ADD COLUMN received_at INTEGER;
    ALTER TABLE slis ADD COLUMN received_at INTEGER;
    ALTER TABLE pipeline_runs ADD COLUMN received_at INTEGER;
    CREATE TABLE future_events (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        services TEXT NOT NULL, -- newline-separated
        repo TEXT,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (kind, id)
    ) WITHOUT ROWID;
    CREATE INDEX future_events_received ON future_events(received_at);
    CREATE TABLE deliveries (
        receiver TEXT NOT NULL,
        minute INTEGER NOT NULL, -- minutes since 1970-01-01, UTC
        PRIMARY KEY (receiver, minute)
    ) WITHOUT ROWID;
    "#,
    // 13: the UTC days each repository had changes (hygiene.md F7, gaps
    // in the data), filled from the changes already stored. Anonymous, so
    // kept until the aggregate horizon like retention's measurements.
    r#"
    CREATE TABLE change_days (
        repo TEXT NOT NULL,
        day INTEGER NOT NULL, -- days since 1970-01-01, UTC
        PRIMARY KEY (repo, day)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO change_days
        SELECT DISTINCT repo, (committed_at - (committed_at % 86400000000 + 86400000000) % 86400000000) / 86400000000 FROM changes;
    -- Which repositories each service deploys, without a scan of the
    -- deployments (a gap check needs them for every service): derived,
    -- rebuilt with the facts of each refreshed service.
    CREATE TABLE service_repos (
        service TEXT NOT NULL,
        repo TEXT NOT NULL,
        PRIMARY KEY (service, repo)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO service_repos SELECT DISTINCT service, repo FROM deployments WHERE repo IS NOT NULL;
    "#,
    // 14: window rows by id (what incidents name, for hygiene.md's
    // unlinked incidents, without a scan of the window).
    "CREATE INDEX IF NOT EXISTS deployment_window_ids ON deployment_window(deployment);",
    // 15: the runs a report reads, summed per repository and UTC day
    // (hygiene.md F4, M9, M10): an organisation's 90 days hold hundreds of
    // thousands of runs. Derived, like the facts: a write notes the days
    // of the runs it adds (`runs::note_stale_days`, once per batch: a
    // trigger per row cost an import of 5 M runs half a minute), triggers
    // note what an update or a delete changes (a run's old day, and the
    // days of the failed attempts a removed successful re-run made flaky),
    // and the store sums them again before a report reads them (then a
    // successful re-run's failed attempts' days too). Windows' cut days
    // find their runs by (repo, finished_at), so the index by time alone
    // goes: one index fewer to write per run. The triggers say
    // ON CONFLICT DO NOTHING, not INSERT OR IGNORE: an upsert that fires
    // them would override OR IGNORE with its own ABORT.
    r#"
    CREATE TABLE run_days (
        day INTEGER NOT NULL, -- days since 1970-01-01, UTC
        repo TEXT NOT NULL,
        first_success INTEGER NOT NULL,
        first_failure INTEGER NOT NULL,
        flaky INTEGER NOT NULL,
        success BLOB NOT NULL, -- each successful run's duration, µs, i64 little-endian
        PRIMARY KEY (day, repo)
    ) WITHOUT ROWID;
    -- A scope's repositories' days, without a pass over every repository's.
    CREATE INDEX run_days_by_repo ON run_days(repo, day);
    -- The services whose deployments name commits without a repository
    -- (they read every repository), without a scan of every deployment.
    CREATE INDEX deployments_loose ON deployments(service)
        WHERE repo IS NULL AND (changes IS NOT NULL OR sha IS NOT NULL);
    CREATE TABLE run_days_stale (
        repo TEXT NOT NULL,
        day INTEGER NOT NULL,
        PRIMARY KEY (repo, day)
    ) WITHOUT ROWID;
    DROP INDEX pipeline_runs_finished;
    INSERT OR IGNORE INTO run_days_stale SELECT DISTINCT repo, ((finished_at) - ((finished_at) % 86400000000 + 86400000000) % 86400000000) / 86400000000 FROM pipeline_runs;
    CREATE TRIGGER pipeline_run_removed AFTER DELETE ON pipeline_runs BEGIN
    INSERT INTO run_days_stale VALUES (OLD.repo, ((OLD.finished_at) - ((OLD.finished_at) % 86400000000 + 86400000000) % 86400000000) / 86400000000) ON CONFLICT DO NOTHING;
    INSERT INTO run_days_stale
        SELECT repo, ((finished_at) - ((finished_at) % 86400000000 + 86400000000) % 86400000000) / 86400000000 FROM pipeline_runs
        WHERE OLD.status = 'success' AND OLD.attempt > 1 AND repo = OLD.repo AND sha = OLD.sha
          AND pipeline = OLD.pipeline AND status = 'failure' AND attempt < OLD.attempt
        ON CONFLICT DO NOTHING;
    END;
    CREATE TRIGGER pipeline_run_changed
    AFTER UPDATE OF repo, sha, pipeline, started_at, finished_at, status, attempt ON pipeline_runs BEGIN
    INSERT INTO run_days_stale VALUES (OLD.repo, ((OLD.finished_at) - ((OLD.finished_at) % 86400000000 + 86400000000) % 86400000000) / 86400000000) ON CONFLICT DO NOTHING;
    INSERT INTO run_days_stale VALUES (NEW.repo, ((NEW.finished_at) - ((NEW.finished_at) % 86400000000 + 86400000000) % 86400000000) / 86400000000) ON CONFLICT DO NOTHING;
    INSERT INTO run_days_stale
        SELECT repo, ((finished_at) - ((finished_at) % 86400000000 + 86400000000) % 86400000000) / 86400000000 FROM pipeline_runs
        WHERE OLD.status = 'success' AND OLD.attempt > 1 AND repo = OLD.repo AND sha = OLD.sha
          AND pipeline = OLD.pipeline AND status = 'failure' AND attempt < OLD.attempt
        ON CONFLICT DO NOTHING;
    INSERT INTO run_days_stale
        SELECT repo, ((finished_at) - ((finished_at) % 86400000000 + 86400000000) % 86400000000) / 86400000000 FROM pipeline_runs
        WHERE NEW.status = 'success' AND NEW.attempt > 1 AND repo = NEW.repo AND sha = NEW.sha
          AND pipeline = NEW.pipeline AND status = 'failure' AND attempt < NEW.attempt
        ON CONFLICT DO NOTHING;
    END;
    "#,
    // 16: the `work_item` and `work_state` events of flow.md. A team's
    // flow reads its items (by team, or by the services it owns) and
    // each item's states in history order; no assignee, reporter or
    // title has a column.
    r#"
    CREATE TABLE work_items (
        id TEXT PRIMARY KEY,
        team TEXT,
        service TEXT,
        kind TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        received_at INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX work_items_by_team ON work_items(team) WHERE team IS NOT NULL;
    CREATE INDEX work_items_by_service ON work_items(service) WHERE service IS NOT NULL;
    CREATE TABLE work_states (
        id TEXT PRIMARY KEY,
        item TEXT NOT NULL,
        at INTEGER NOT NULL,
        state TEXT NOT NULL,
        received_at INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX work_states_by_item ON work_states(item, at, id, state);
    "#,
    // 17: each work item's last state and first active or waiting state,
    // kept by every write that touches it (`flow::SUMMARY_UPDATE`), so a
    // window's flow reads only the items it can need.
    r#"
    ALTER TABLE work_items ADD COLUMN last_at INTEGER;
    ALTER TABLE work_items ADD COLUMN last_state TEXT;
    ALTER TABLE work_items ADD COLUMN first_flow_at INTEGER;
    UPDATE work_items SET
        last_at = (SELECT at FROM work_states WHERE item = work_items.id ORDER BY at DESC, id DESC LIMIT 1),
        last_state = (SELECT state FROM work_states WHERE item = work_items.id ORDER BY at DESC, id DESC LIMIT 1),
        first_flow_at = (SELECT min(at) FROM work_states WHERE item = work_items.id AND state IN ('active', 'waiting'));
    "#,
    // 18: team health (health.md). Pulse codes and answers are two tables
    // with nothing to join them, keyed by a hash and a random id without
    // a rowid; no column holds a time finer than a round's days.
    r#"
    CREATE TABLE pulse_rounds (
        id INTEGER PRIMARY KEY,
        team TEXT NOT NULL,
        visibility TEXT NOT NULL CHECK (visibility IN ('team', 'org')),
        opened_on INTEGER NOT NULL,
        closes_at INTEGER NOT NULL,
        closed_on INTEGER
    );
    CREATE TABLE pulse_codes (
        hash BLOB PRIMARY KEY,
        round INTEGER NOT NULL,
        used INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE pulse_answers (
        id TEXT PRIMARY KEY,
        round INTEGER NOT NULL,
        psychological_safety INTEGER CHECK (psychological_safety BETWEEN 1 AND 5),
        workload INTEGER CHECK (workload BETWEEN 1 AND 5),
        clarity INTEGER CHECK (clarity BETWEEN 1 AND 5),
        on_call INTEGER CHECK (on_call BETWEEN 1 AND 5),
        decisions INTEGER CHECK (decisions BETWEEN 1 AND 5),
        satisfaction INTEGER CHECK (satisfaction BETWEEN 1 AND 5)
    ) WITHOUT ROWID;
    CREATE INDEX pulse_answers_by_round ON pulse_answers(round, id);
    CREATE TABLE experiments (
        id INTEGER PRIMARY KEY,
        team TEXT NOT NULL,
        constraint_text TEXT NOT NULL,
        indicator TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('up', 'down')),
        from_at INTEGER NOT NULL,
        review_at INTEGER NOT NULL,
        expect_dip TEXT NOT NULL,
        ended_at INTEGER
    );
    "#,
    // 19: the outbox of notifications (`[[notify]]`): one message per
    // target and key, whatever the replicas that plan it.
    r#"
    CREATE TABLE notifications (
        id INTEGER PRIMARY KEY,
        target TEXT NOT NULL,
        key TEXT NOT NULL,
        kind TEXT NOT NULL,
        team TEXT NOT NULL,
        message TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL,
        next_at INTEGER NOT NULL,
        last_at INTEGER,
        last_error TEXT,
        UNIQUE (target, key)
    );
    CREATE INDEX notifications_due ON notifications(next_at) WHERE state = 'pending';
    "#,
    // 20: a version per service, bumped by each refresh that re-derives
    // its facts ('*': every service — a whole refresh, or retention), so
    // that a reader can keep figures of a service until they change.
    r#"
    CREATE TABLE fact_versions (
        service TEXT PRIMARY KEY,
        version INTEGER NOT NULL
    ) WITHOUT ROWID;
    -- What `/metrics` last read of each service (derived, replaced by any
    -- process): a restarted server starts from it.
    CREATE TABLE kept_exposition (
        service TEXT PRIMARY KEY,
        generation INTEGER NOT NULL,
        version INTEGER NOT NULL,
        day INTEGER NOT NULL,
        at_least INTEGER NOT NULL,
        contributors INTEGER NOT NULL,
        rows TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 21: panels.md. Findings (no path, code or message has a column)
    // and AI assistants' team days; whether sampling kept a pull
    // request's review detail, and its size beside what a window reads.
    r#"
    CREATE TABLE findings (
        id TEXT PRIMARY KEY,
        repo TEXT NOT NULL,
        severity TEXT NOT NULL,
        category TEXT NOT NULL,
        opened_at INTEGER NOT NULL,
        fixed_at INTEGER,
        received_at INTEGER NOT NULL
    );
    CREATE INDEX findings_by_repo ON findings(repo, opened_at);
    CREATE TABLE assist_usage (
        id TEXT PRIMARY KEY,
        team TEXT NOT NULL,
        day INTEGER NOT NULL,
        active_users INTEGER NOT NULL,
        suggestions INTEGER NOT NULL,
        acceptances INTEGER NOT NULL,
        lines_suggested INTEGER,
        lines_accepted INTEGER,
        received_at INTEGER NOT NULL
    );
    CREATE INDEX assist_usage_by_day ON assist_usage(day, team);
    ALTER TABLE pull_requests ADD COLUMN review_kept INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE pull_request_window ADD COLUMN size INTEGER;
    ALTER TABLE pull_request_window ADD COLUMN review_kept INTEGER NOT NULL DEFAULT 1;
    UPDATE pull_request_window SET size = (
        SELECT p.additions + p.deletions FROM pull_requests p WHERE p.id = pull_request_window.pull_request
    );
    "#,
    // 22: issue 23. A report finds the incidents of its window, and of
    // its scope, by index rather than by reading every incident ever
    // stored (four times for one service's report); and a scope's named
    // rollbacks by service.
    r#"
    CREATE INDEX incidents_started ON incidents(started_at);
    CREATE INDEX incidents_of_service ON incidents(service, started_at);
    CREATE INDEX incidents_of_several ON incidents(started_at) WHERE services != '';
    CREATE INDEX incidents_blaming ON incidents(caused_by) WHERE caused_by IS NOT NULL;
    CREATE INDEX IF NOT EXISTS deployment_window_service_rollbacks ON deployment_window(service, finished_at) WHERE rollback_of IS NOT NULL;
    "#,
    // 23: issue 23's kept form (`sqlite/kept.rs`). Per UTC day and
    // service, the tally of its deployments (`lantern_engine::DeployTally`,
    // `tally_codec`), so that a large scope's report over whole days adds
    // tallies instead of reading deployments; the incidents linked to a
    // deployment, by its service; per UTC day and repository, the
    // organisation's pull-request tally (`PrTally`); and the services and
    // repositories whose tallies a refresh made stale. Nothing is kept until the first report that
    // reads them builds them all (meta `tallies` names the settings).
    r#"
    CREATE TABLE deployment_days (
        day INTEGER NOT NULL,
        service TEXT NOT NULL,
        tally BLOB NOT NULL,
        PRIMARY KEY (day, service)
    ) WITHOUT ROWID;
    CREATE INDEX deployment_days_service ON deployment_days(service);
    CREATE TABLE linked_incidents (
        incident TEXT NOT NULL,
        service TEXT NOT NULL,
        PRIMARY KEY (incident, service)
    ) WITHOUT ROWID;
    CREATE INDEX linked_incidents_service ON linked_incidents(service);
    CREATE TABLE stale_tallies (service TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TABLE pull_request_days (
        day INTEGER NOT NULL,
        repo TEXT NOT NULL,
        tally BLOB NOT NULL,
        PRIMARY KEY (day, repo)
    ) WITHOUT ROWID;
    CREATE INDEX pull_request_days_repo ON pull_request_days(repo);
    CREATE TABLE stale_pr_tallies (repo TEXT PRIMARY KEY) WITHOUT ROWID;
    "#,
    // 24: issue 23. `change_days` packed 64 days to a row, kept beside it
    // by every write and purge: the organisation's 90 days were 45 000
    // rows to read (a fifth of its report), they are some 1 000 here.
    // `change_days` stays what `lantern migrate` copies.
    r#"
    CREATE TABLE change_day_bits (
        repo TEXT NOT NULL,
        block INTEGER NOT NULL, -- days since 1970-01-01, floor-divided by 64
        bits INTEGER NOT NULL,  -- bit (day mod 64) set: a change on that day
        PRIMARY KEY (repo, block)
    ) WITHOUT ROWID;
    INSERT INTO change_day_bits
        SELECT repo, (day - ((day % 64) + 64) % 64) / 64, SUM(1 << (((day % 64) + 64) % 64))
        FROM change_days GROUP BY 1, 2;
    "#,
];

pub const LATEST: i64 = MIGRATIONS.len() as i64;

pub fn migrate(conn: &mut Connection, path: &str) -> Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    StoreError::check_version(path, current, LATEST)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
