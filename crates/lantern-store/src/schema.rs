//! Schema migrations, versioned in code. `PRAGMA user_version` records how
//! many have been applied; each runs once, in its own transaction.

use crate::StoreError;
use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: the five canonical event types. Timestamps are microseconds since
    // the epoch (UTC); sha lists are space-separated hex; NULL = absent.
    r#"
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
    CREATE INDEX changes_repo ON changes(repo);
    CREATE INDEX changes_sha ON changes(sha);

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
    // 2: facts derived from history (lantern_engine::Facts), so a report
    // reads only its window; and indexes for windowed reads.
    r#"
    CREATE TABLE deployment_facts (
        deployment TEXT PRIMARY KEY,
        rule INTEGER NOT NULL,
        sha_known INTEGER NOT NULL,
        shipped BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE pull_request_facts (
        pull_request TEXT PRIMARY KEY,
        first_commit_at INTEGER
    ) WITHOUT ROWID;
    CREATE TABLE first_deploys (
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        service TEXT NOT NULL,
        finished_at INTEGER NOT NULL,
        deployment TEXT NOT NULL,
        PRIMARY KEY (kind, subject, service)
    ) WITHOUT ROWID;
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    DROP INDEX deployments_service;
    CREATE INDEX deployments_finished ON deployments(finished_at);
    CREATE INDEX deployments_service_finished ON deployments(service, finished_at);
    CREATE INDEX deployments_named_rollbacks ON deployments(finished_at) WHERE rollback_of IS NOT NULL;
    CREATE INDEX incidents_service ON incidents(service);
    CREATE INDEX incidents_caused_by ON incidents(caused_by);
    CREATE INDEX pull_requests_merged ON pull_requests(merged_at);
    "#,
];

pub const LATEST: i64 = MIGRATIONS.len() as i64;

pub fn migrate(conn: &mut Connection, path: &str) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > LATEST {
        return Err(StoreError::TooNew {
            path: path.to_string(),
            found: current,
            known: LATEST,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
