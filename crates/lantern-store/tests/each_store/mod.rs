//! One suite, both stores: each test runs on a SQLite file and on a fresh
//! PostgreSQL database (when `LANTERN_TEST_POSTGRES` names a server; else
//! it says that half was skipped).

#![allow(dead_code)]

use lantern_store::Location;
use lantern_store::testing::{TestDatabase, database};

/// A store's place for one run of a test, removed afterwards.
pub struct Place {
    pub location: Location,
    _dir: Option<tempfile::TempDir>,
    _db: Option<TestDatabase>,
}

pub fn sqlite_place() -> Place {
    let dir = tempfile::tempdir().unwrap();
    Place {
        location: Location::Sqlite(dir.path().join("l.db")),
        _dir: Some(dir),
        _db: None,
    }
}

pub fn postgres_place(test: &str) -> Option<Place> {
    let db = database(test)?;
    Some(Place {
        location: Location::Postgres(db.url.clone()),
        _dir: None,
        _db: Some(db),
    })
}

/// Runs `test` against a new SQLite store, then a new PostgreSQL one.
/// Declares tests that run their body on each store:
/// `test_name("database name") => body;`.
#[macro_export]
macro_rules! on_each_store {
    ($($test:ident($name:literal) => $body:path;)*) => {
        $(
            #[test]
            fn $test() {
                each_store($name, $body);
            }
        )*
    };
}

pub fn each_store(name: &str, test: impl Fn(&Location)) {
    test(&sqlite_place().location);
    if let Some(place) = postgres_place(name) {
        test(&place.location);
    }
}

/// A new, empty store of the same kind as `at`.
pub fn fresh_like(at: &Location, test: &str) -> Place {
    match at {
        Location::Sqlite(_) => sqlite_place(),
        Location::Postgres(_) => postgres_place(test).expect("a PostgreSQL server was reachable"),
    }
}

/// Runs SQL on the store behind the store's back (to make it refuse a
/// write, or to look like a newer Lantern's).
pub fn raw_sql(location: &Location, sqlite: &str, postgres: &str) {
    match location {
        Location::Sqlite(path) => rusqlite::Connection::open(path)
            .unwrap()
            .execute_batch(sqlite)
            .unwrap(),
        Location::Postgres(url) => postgres::Client::connect(url, postgres::NoTls)
            .unwrap()
            .batch_execute(postgres)
            .unwrap(),
    }
}
