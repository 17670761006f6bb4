//! The PostgreSQL schema: the same tables as SQLite's migrations 1, 3, 4,
//! 6 and 7 (events, source positions, dead letters, governance, what
//! retention keeps) and the retained rows of its window tables, in
//! PostgreSQL's types. Timestamps stay microseconds
//! since the epoch (BIGINT), so both stores hold the same values and
//! `lantern migrate` copies them unchanged.
//!
//! Several replicas may start at once: migrations run under a session
//! advisory lock, and each one in its own transaction with the version
//! bump, so a replica either sees a migration whole or applies it itself.

use crate::Result;
use crate::StoreError;
use postgres::Client;

/// The advisory lock keys (any constant both replicas agree on): one for
/// migrations, one that serialises appends to the audit chain.
pub(crate) const MIGRATION_LOCK: i64 = 0x4c61_6e74_6572_6e01;
pub(crate) const AUDIT_LOCK: i64 = 0x4c61_6e74_6572_6e02;
/// Writers hold it shared, a facts refresh exclusive (see facts.rs).
pub(crate) const FACTS_LOCK: i64 = 0x4c61_6e74_6572_6e03;

const MIGRATIONS: &[&str] = &[
    // 1: everything the embedded store keeps except its derived facts
    // (migrations 2 and 3).
    r#"
    CREATE TABLE changes (
        id TEXT PRIMARY KEY,
        repo TEXT NOT NULL,
        sha TEXT NOT NULL,
        parents TEXT NOT NULL,
        committed_at BIGINT NOT NULL,
        authored_at BIGINT NOT NULL,
        author TEXT,
        pull_request TEXT
    );
    CREATE INDEX changes_repo ON changes(repo, committed_at);
    CREATE INDEX changes_sha ON changes(sha);

    CREATE TABLE pull_requests (
        id TEXT PRIMARY KEY,
        repo TEXT NOT NULL,
        opened_at BIGINT NOT NULL,
        first_review_at BIGINT,
        approved_at BIGINT,
        merged_at BIGINT,
        closed_at BIGINT,
        merge_sha TEXT,
        head_sha TEXT,
        commits TEXT NOT NULL,
        first_commit_at BIGINT,
        additions BIGINT,
        deletions BIGINT,
        author TEXT
    );
    CREATE INDEX pull_requests_repo ON pull_requests(repo, merged_at);

    CREATE TABLE deployments (
        id TEXT PRIMARY KEY,
        service TEXT NOT NULL,
        environment TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at BIGINT,
        finished_at BIGINT NOT NULL,
        repo TEXT,
        sha TEXT,
        changes TEXT,
        kind TEXT,
        rollback_of TEXT,
        automated BOOLEAN
    );
    CREATE INDEX deployments_service ON deployments(service, finished_at);
    CREATE INDEX deployments_repo ON deployments(repo) WHERE repo IS NOT NULL;

    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        service TEXT NOT NULL,
        services TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        detected_at BIGINT,
        acknowledged_at BIGINT,
        resolved_at BIGINT,
        severity TEXT,
        cause TEXT,
        caused_by TEXT,
        caused_by_sha TEXT,
        title TEXT
    );

    CREATE TABLE annotations (
        id TEXT PRIMARY KEY,
        scope_kind TEXT NOT NULL,
        scope_name TEXT,
        kind TEXT NOT NULL,
        from_at BIGINT NOT NULL,
        to_at BIGINT,
        title TEXT NOT NULL
    );

    CREATE TABLE source_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );

    CREATE TABLE dead_letters (
        id BIGSERIAL PRIMARY KEY,
        received_at BIGINT NOT NULL,
        source TEXT NOT NULL,
        reason TEXT NOT NULL,
        headers TEXT NOT NULL,
        body BYTEA NOT NULL
    );

    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );

    CREATE TABLE grants (
        id TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        teams TEXT NOT NULL,
        source TEXT,
        purpose TEXT NOT NULL,
        secret_hash BYTEA NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        revoked_at BIGINT,
        last_used_at BIGINT
    );
    CREATE TABLE sessions (
        hash BYTEA PRIMARY KEY,
        grant_id TEXT NOT NULL REFERENCES grants(id),
        expires_at BIGINT NOT NULL
    );
    CREATE TABLE audit_log (
        seq BIGINT PRIMARY KEY,
        at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        purpose TEXT NOT NULL,
        action TEXT NOT NULL,
        scope TEXT NOT NULL,
        outcome TEXT NOT NULL,
        prev TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TABLE audit_chain (
        end_name TEXT PRIMARY KEY,
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL
    );
    -- Nobody edits the log through Lantern; retention removes only what it
    -- has first recorded as dropped.
    CREATE FUNCTION lantern_audit_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' OR OLD.seq > coalesce((SELECT seq FROM audit_chain WHERE end_name = 'dropped'), 0) THEN
            RAISE EXCEPTION 'the audit log is append-only';
        END IF;
        RETURN OLD;
    END
    $$ LANGUAGE plpgsql;
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION lantern_audit_append_only();

    CREATE TABLE disputes (
        id BIGSERIAL PRIMARY KEY,
        metric TEXT NOT NULL,
        scope_kind TEXT NOT NULL,
        scope_name TEXT,
        from_at BIGINT NOT NULL,
        to_at BIGINT NOT NULL,
        context TEXT NOT NULL,
        opened_at BIGINT NOT NULL,
        resolution TEXT,
        resolved_at BIGINT
    );

    CREATE TABLE retained_contributors (
        repo TEXT NOT NULL,
        day BIGINT NOT NULL,
        contributors BIGINT NOT NULL,
        PRIMARY KEY (repo, day)
    );
    CREATE TABLE retained_deployed_repos (
        service TEXT NOT NULL,
        repo TEXT NOT NULL,
        PRIMARY KEY (service, repo)
    );

    -- Periodic jobs (retention) run on one replica at a time: the holder
    -- of a job's lease until it expires.
    CREATE TABLE leases (
        job TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    "#,
    // 2: what reports read of purged events (retention.rs): SQLite keeps
    // these as the aliased rows of its window tables, with the same
    // columns, so `lantern migrate` copies them across unchanged.
    r#"
    CREATE TABLE retained_deployments (
        finished_at BIGINT NOT NULL,
        deployment TEXT NOT NULL,
        service TEXT NOT NULL,
        environment TEXT NOT NULL,
        status TEXT NOT NULL,
        kind TEXT,
        rollback_of TEXT,
        repo TEXT,
        rule BIGINT,
        sha_known BOOLEAN,
        shipped BYTEA,
        PRIMARY KEY (finished_at, deployment)
    );
    CREATE INDEX retained_deployments_service ON retained_deployments(service, finished_at);
    CREATE TABLE retained_pull_requests (
        merged_at BIGINT NOT NULL,
        pull_request TEXT NOT NULL,
        repo TEXT NOT NULL,
        opened_at BIGINT NOT NULL,
        first_review_at BIGINT,
        first_commit_at BIGINT,
        deploys BYTEA NOT NULL,
        PRIMARY KEY (merged_at, pull_request)
    );
    CREATE INDEX retained_pull_requests_repo ON retained_pull_requests(repo, merged_at);
    CREATE TABLE retained_incident_links (
        incident TEXT NOT NULL,
        service TEXT NOT NULL,
        finished_at BIGINT NOT NULL,
        deployment TEXT NOT NULL,
        PRIMARY KEY (incident, service, deployment)
    );
    "#,
    // 3: kept facts (facts.rs): what each successful production deployment
    // shipped, each merged pull request's first commit and deployments,
    // each sha-blamed incident's first deployment per service, and what
    // writes have made stale since.
    r#"
    CREATE TABLE deployment_facts (
        deployment TEXT PRIMARY KEY,
        service TEXT NOT NULL,
        rule BIGINT NOT NULL,
        sha_known BOOLEAN NOT NULL,
        shipped BYTEA NOT NULL
    );
    CREATE INDEX deployment_facts_service ON deployment_facts(service);
    CREATE TABLE pull_request_facts (
        pull_request TEXT PRIMARY KEY,
        repo TEXT NOT NULL,
        first_commit_at BIGINT,
        deploys BYTEA NOT NULL
    );
    CREATE INDEX pull_request_facts_repo ON pull_request_facts(repo);
    CREATE TABLE incident_links (
        incident TEXT NOT NULL,
        service TEXT NOT NULL,
        finished_at BIGINT NOT NULL,
        deployment TEXT NOT NULL,
        PRIMARY KEY (incident, service)
    );
    CREATE TABLE stale_facts (
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (kind, name)
    );
    CREATE INDEX deployments_finished ON deployments(finished_at);
    CREATE INDEX deployments_rollbacks ON deployments(finished_at) WHERE rollback_of IS NOT NULL;
    CREATE INDEX pull_requests_merged ON pull_requests(merged_at) WHERE merged_at IS NOT NULL;
    "#,
    // The `sli` events of slo.md: an SLO's counts, read by the interval's end.
    r#"
    CREATE TABLE slis (
        id TEXT PRIMARY KEY,
        slo TEXT NOT NULL,
        from_at BIGINT NOT NULL,
        to_at BIGINT NOT NULL,
        good BIGINT NOT NULL,
        total BIGINT NOT NULL
    );
    -- Covering: an SLO's status is a few range sums over this index.
    CREATE INDEX slis_by_end ON slis(slo, to_at) INCLUDE (good, total);
    "#,
    // The `pipeline_run` events of hygiene.md: a window's runs by
    // repository and time, and every attempt on one commit (flaky runs).
    r#"
    CREATE TABLE pipeline_runs (
        id TEXT PRIMARY KEY,
        repo TEXT NOT NULL,
        sha TEXT NOT NULL,
        pipeline TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        finished_at BIGINT NOT NULL,
        status TEXT NOT NULL,
        attempt BIGINT NOT NULL
    );
    CREATE INDEX pipeline_runs_by_time ON pipeline_runs(repo, finished_at);
    CREATE INDEX pipeline_runs_by_commit ON pipeline_runs(repo, sha, pipeline);
    CREATE INDEX pipeline_runs_finished ON pipeline_runs(finished_at);
    "#,
    // hygiene.md's rollouts, and what it reads of a deployment retention
    // kept, as SQLite's window rows keep it (same columns, same order, for
    // `lantern migrate`).
    r#"
    ALTER TABLE deployments ADD COLUMN rollout TEXT;
    CREATE INDEX deployments_rollouts ON deployments(rollout) WHERE rollout IS NOT NULL;
    ALTER TABLE retained_deployments ADD COLUMN started_at BIGINT;
    ALTER TABLE retained_deployments ADD COLUMN automated BOOLEAN;
    ALTER TABLE retained_deployments ADD COLUMN rollout TEXT;
    "#,
    // When Lantern received each event (hygiene.md F1 and F3), the events
    // dated well after it, and the minutes in which each webhook receiver
    // delivered: as in the SQLite store, for `lantern migrate`.
    r#"
    ALTER TABLE changes ADD COLUMN received_at BIGINT;
    ALTER TABLE pull_requests ADD COLUMN received_at BIGINT;
    ALTER TABLE deployments ADD COLUMN received_at BIGINT;
    ALTER TABLE incidents ADD COLUMN received_at BIGINT;
    ALTER TABLE annotations ADD COLUMN received_at BIGINT;
    ALTER TABLE slis ADD COLUMN received_at BIGINT;
    ALTER TABLE pipeline_runs ADD COLUMN received_at BIGINT;
    CREATE TABLE future_events (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        services TEXT NOT NULL,
        repo TEXT,
        received_at BIGINT NOT NULL,
        PRIMARY KEY (kind, id)
    );
    CREATE INDEX future_events_received ON future_events(received_at);
    CREATE TABLE deliveries (
        receiver TEXT NOT NULL,
        minute BIGINT NOT NULL,
        PRIMARY KEY (receiver, minute)
    );
    "#,
    // The UTC days each repository had changes (hygiene.md F7), filled
    // from the changes already stored; kept like retention's measurements.
    r#"
    CREATE TABLE change_days (
        repo TEXT NOT NULL,
        day BIGINT NOT NULL,
        PRIMARY KEY (repo, day)
    );
    INSERT INTO change_days
        SELECT DISTINCT repo, floor(committed_at / 86400000000.0)::BIGINT FROM changes
        ON CONFLICT DO NOTHING;
    CREATE TABLE service_repos (
        service TEXT NOT NULL,
        repo TEXT NOT NULL,
        PRIMARY KEY (service, repo)
    );
    INSERT INTO service_repos SELECT DISTINCT service, repo FROM deployments WHERE repo IS NOT NULL
        ON CONFLICT DO NOTHING;
    "#,
    // The `work_item` and `work_state` events of flow.md (as SQLite's 16).
    r#"
    CREATE TABLE work_items (
        id TEXT PRIMARY KEY,
        team TEXT,
        service TEXT,
        kind TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        received_at BIGINT
    );
    CREATE INDEX work_items_by_team ON work_items(team) WHERE team IS NOT NULL;
    CREATE INDEX work_items_by_service ON work_items(service) WHERE service IS NOT NULL;
    CREATE TABLE work_states (
        id TEXT PRIMARY KEY,
        item TEXT NOT NULL,
        at BIGINT NOT NULL,
        state TEXT NOT NULL,
        received_at BIGINT
    );
    CREATE INDEX work_states_by_item ON work_states(item, at, id COLLATE "C") INCLUDE (state);
    "#,
    // Each work item's last state and first active or waiting state (as
    // SQLite's 17).
    r#"
    ALTER TABLE work_items ADD COLUMN last_at BIGINT;
    ALTER TABLE work_items ADD COLUMN last_state TEXT;
    ALTER TABLE work_items ADD COLUMN first_flow_at BIGINT;
    UPDATE work_items SET
        last_at = (SELECT at FROM work_states WHERE item = work_items.id ORDER BY at DESC, id COLLATE "C" DESC LIMIT 1),
        last_state = (SELECT state FROM work_states WHERE item = work_items.id ORDER BY at DESC, id COLLATE "C" DESC LIMIT 1),
        first_flow_at = (SELECT min(at) FROM work_states WHERE item = work_items.id AND state IN ('active', 'waiting'));
    "#,
    // Team health (as SQLite's 18). An answer's write also rewrites every
    // code and answer row of its round (`health.rs`), so that a row's
    // transaction id (xmin) does not tell which code an answer used.
    r#"
    CREATE TABLE pulse_rounds (
        id BIGSERIAL PRIMARY KEY,
        team TEXT NOT NULL,
        visibility TEXT NOT NULL CHECK (visibility IN ('team', 'org')),
        opened_on BIGINT NOT NULL,
        closes_at BIGINT NOT NULL,
        closed_on BIGINT
    );
    CREATE TABLE pulse_codes (
        hash BYTEA PRIMARY KEY,
        round BIGINT NOT NULL,
        used BOOLEAN NOT NULL
    );
    CREATE INDEX pulse_codes_by_round ON pulse_codes(round);
    CREATE TABLE pulse_answers (
        id TEXT PRIMARY KEY,
        round BIGINT NOT NULL,
        psychological_safety BIGINT CHECK (psychological_safety BETWEEN 1 AND 5),
        workload BIGINT CHECK (workload BETWEEN 1 AND 5),
        clarity BIGINT CHECK (clarity BETWEEN 1 AND 5),
        on_call BIGINT CHECK (on_call BETWEEN 1 AND 5),
        decisions BIGINT CHECK (decisions BETWEEN 1 AND 5),
        satisfaction BIGINT CHECK (satisfaction BETWEEN 1 AND 5)
    );
    CREATE INDEX pulse_answers_by_round ON pulse_answers(round);
    CREATE TABLE experiments (
        id BIGSERIAL PRIMARY KEY,
        team TEXT NOT NULL,
        constraint_text TEXT NOT NULL,
        indicator TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('up', 'down')),
        from_at BIGINT NOT NULL,
        review_at BIGINT NOT NULL,
        expect_dip TEXT NOT NULL,
        ended_at BIGINT
    );
    "#,
    // The outbox of notifications (as SQLite's 19).
    r#"
    CREATE TABLE notifications (
        id BIGSERIAL PRIMARY KEY,
        target TEXT NOT NULL,
        key TEXT NOT NULL,
        kind TEXT NOT NULL,
        team TEXT NOT NULL,
        message TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts BIGINT NOT NULL,
        next_at BIGINT NOT NULL,
        last_at BIGINT,
        last_error TEXT,
        UNIQUE (target, key)
    );
    CREATE INDEX notifications_due ON notifications(next_at) WHERE state = 'pending';
    "#,
    // Facts' versions per service (as SQLite's 20).
    r#"
    CREATE TABLE fact_versions (
        service TEXT PRIMARY KEY,
        version BIGINT NOT NULL
    );
    CREATE TABLE kept_exposition (
        service TEXT PRIMARY KEY,
        generation BIGINT NOT NULL,
        version BIGINT NOT NULL,
        day BIGINT NOT NULL,
        at_least BIGINT NOT NULL,
        contributors BIGINT NOT NULL,
        rows TEXT NOT NULL
    );
    "#,
    // panels.md (as SQLite's 21).
    r#"
    CREATE TABLE findings (
        id TEXT PRIMARY KEY,
        repo TEXT NOT NULL,
        severity TEXT NOT NULL,
        category TEXT NOT NULL,
        opened_at BIGINT NOT NULL,
        fixed_at BIGINT,
        received_at BIGINT NOT NULL
    );
    CREATE INDEX findings_by_repo ON findings(repo, opened_at);
    CREATE TABLE assist_usage (
        id TEXT PRIMARY KEY,
        team TEXT NOT NULL,
        day BIGINT NOT NULL,
        active_users BIGINT NOT NULL,
        suggestions BIGINT NOT NULL,
        acceptances BIGINT NOT NULL,
        lines_suggested BIGINT,
        lines_accepted BIGINT,
        received_at BIGINT NOT NULL
    );
    CREATE INDEX assist_usage_by_day ON assist_usage(day, team);
    ALTER TABLE pull_requests ADD COLUMN review_kept BOOLEAN NOT NULL DEFAULT true;
    ALTER TABLE retained_pull_requests ADD COLUMN size BIGINT;
    ALTER TABLE retained_pull_requests ADD COLUMN review_kept BOOLEAN NOT NULL DEFAULT true;
    "#,
    // Issue 23 (as SQLite's 22). A report finds the incidents of its
    // window, and of its scope, by index rather than by reading every
    // incident ever stored.
    r#"
    CREATE INDEX incidents_started ON incidents(started_at);
    CREATE INDEX incidents_of_service ON incidents(service, started_at);
    CREATE INDEX incidents_of_several ON incidents(started_at) WHERE services <> '';
    CREATE INDEX incidents_blaming ON incidents(caused_by) WHERE caused_by IS NOT NULL;
    "#,
    // Issue 23: the stale closure (crate::closure) lists the services
    // deploying without a repository before every report that finds
    // something stale; SQLite has had this index since its 15th.
    r#"
    CREATE INDEX deployments_loose ON deployments(service)
        WHERE repo IS NULL AND (changes IS NOT NULL OR sha IS NOT NULL);
    "#,
    // Issue 23: the organisation's report reads the window's deployments
    // and their facts as two range scans joined by hash, not a million
    // facts hashed (or 125 000 looked up by id): facts carry their
    // deployment's finish.
    r#"
    ALTER TABLE deployment_facts ADD COLUMN finished_at BIGINT;
    UPDATE deployment_facts f SET finished_at = d.finished_at FROM deployments d
     WHERE d.id = f.deployment;
    CREATE INDEX deployment_facts_finished ON deployment_facts(finished_at);
    "#,
    // Issue 23: the secondary indexes a bulk import into empty tables
    // dropped, to be built at its end (postgres/bulk.rs).
    r#"
    CREATE TABLE bulk_dropped_indexes (
        name TEXT PRIMARY KEY,
        definition TEXT NOT NULL
    );
    "#,
    // Issue 23: every text column compares as bytes (`COLLATE "C"`), as
    // SQLite's do. Under a database's default collation (`C.UTF-8`,
    // `en_US.UTF-8`) each comparison of ids, shas and names in a B-tree
    // or a sort went through the C library's `strcoll`: building the
    // index of five million shas took 19.7 s, bytewise 8.9 s. Equality is
    // the same under both; only orders change, to SQLite's. One
    // `ALTER TABLE` a table (its indexes are built again once; the rows
    // are not rewritten; each is analysed again). A later migration's new
    // text columns say `COLLATE "C"` themselves.
    r#"
    DO $$
    DECLARE t record;
    BEGIN
      FOR t IN
        SELECT table_name, string_agg(format('ALTER COLUMN %I TYPE text COLLATE "C"', column_name), ', ') AS changes
          FROM information_schema.columns
         WHERE table_schema = current_schema() AND data_type = 'text'
           AND collation_name IS DISTINCT FROM 'C'
         GROUP BY table_name
      LOOP
        EXECUTE format('ALTER TABLE %I %s', t.table_name, t.changes);
        -- A column's statistics go with its old type: without them the
        -- planner guessed, and a one-service report took 180 ms, not 50.
        EXECUTE format('ANALYZE %I', t.table_name);
      END LOOP;
    END $$;
    "#,
    // Issue 23: the organisation's report reads the window's merged pull
    // requests and their facts as two range scans joined by hash, as it
    // reads deployments (migration 23): a million facts were scanned and
    // hashed for the window's 120 000. Facts carry their pull request's
    // merge (written together, so the same whenever facts are fresh).
    r#"
    ALTER TABLE pull_request_facts ADD COLUMN merged_at BIGINT;
    UPDATE pull_request_facts f SET merged_at = p.merged_at FROM pull_requests p
     WHERE p.id = f.pull_request;
    CREATE INDEX pull_request_facts_merged ON pull_request_facts(merged_at);
    ANALYZE pull_request_facts;
    "#,
    // Issue 23: a window's change days by day. The key (repo, day) served
    // only a scope's repositories; the organisation's window scanned every
    // day ever kept (365 000 rows at full size, 31 ms). SQLite's planner
    // skips through its key by repository instead.
    r#"
    CREATE INDEX change_days_by_day ON change_days(day, repo);
    "#,
    // Issue 23: the kept form (postgres/kept.rs, as SQLite's 23rd): per
    // UTC day and service, the tally of its deployments (`DeployTally`);
    // the incidents linked to a deployment, by its service; per UTC day
    // and repository, the organisation's pull-request tally (`PrTally`);
    // and the services and repositories a refresh made stale. Nothing is
    // kept until the first report that reads them builds them all (meta
    // `tallies` names the settings).
    r#"
    CREATE TABLE deployment_days (
        day BIGINT NOT NULL,
        service TEXT COLLATE "C" NOT NULL,
        tally BYTEA NOT NULL,
        PRIMARY KEY (day, service)
    );
    CREATE INDEX deployment_days_service ON deployment_days(service);
    CREATE TABLE linked_incidents (
        incident TEXT COLLATE "C" NOT NULL,
        service TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (incident, service)
    );
    CREATE INDEX linked_incidents_service ON linked_incidents(service);
    CREATE TABLE stale_tallies (service TEXT COLLATE "C" PRIMARY KEY);
    CREATE TABLE pull_request_days (
        day BIGINT NOT NULL,
        repo TEXT COLLATE "C" NOT NULL,
        tally BYTEA NOT NULL,
        PRIMARY KEY (day, repo)
    );
    CREATE INDEX pull_request_days_repo ON pull_request_days(repo);
    CREATE TABLE stale_pr_tallies (repo TEXT COLLATE "C" PRIMARY KEY);
    "#,
];

pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

pub(crate) fn migrate(client: &mut Client, url: &str) -> Result<()> {
    // Nearly every connection finds the schema current: one statement
    // then, not the six of taking the lock (a tenth of a one-service
    // report as a process). Any other answer, or none, takes the lock.
    // The same statement says whether an import left indexes to build.
    if let Ok(Some(row)) = super::query_opt(
        client,
        "SELECT version, EXISTS (SELECT 1 FROM bulk_dropped_indexes) FROM lantern_schema",
        &[],
    ) && row.try_get::<_, i64>(0).ok() == Some(LATEST)
    {
        return match row.try_get::<_, bool>(1).ok() {
            Some(false) => Ok(()),
            _ => super::bulk::recover(client),
        };
    }
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let result = apply(client, url);
    // Unlocked whatever happened; the session ends soon after an error anyway.
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    result?;
    unlocked?;
    super::bulk::recover(client)
}

fn apply(client: &mut Client, url: &str) -> Result<()> {
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS lantern_schema (version BIGINT NOT NULL);
         INSERT INTO lantern_schema SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM lantern_schema);",
    )?;
    let current: i64 = super::query_one(client, "SELECT version FROM lantern_schema", &[])?.get(0);
    StoreError::check_version(url, current, LATEST)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let mut tx = client.transaction()?;
        tx.batch_execute(sql)?;
        tx.execute("UPDATE lantern_schema SET version = $1", &[&(i as i64 + 1)])?;
        tx.commit()?;
    }
    Ok(())
}
