//! SQLite's allocations on mimalloc (`lantern::allocator`). A test binary
//! of its own: SQLite must not have been used in this process before.

use lantern_events::{Pseudonymiser, parse_event_json};
use lantern_store::{SqliteStore, Store};

#[test]
fn sqlite_takes_mimalloc_before_its_first_use_and_a_store_works_on_it() {
    assert!(
        lantern::allocator::sqlite_uses_mimalloc(),
        "SQLite refused the allocator before any connection"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("a.db")).unwrap();
    // Enough rows to make SQLite allocate, grow and free pages and cells.
    let lines: Vec<String> = (0..2_000)
        .map(|i| {
            format!(
                r#"{{"type":"deployment","id":"d{i}","service":"svc{}","environment":"production","finished_at":"2026-03-{:02}T10:00:00Z"}}"#,
                i % 7,
                1 + i % 28
            )
        })
        .collect();
    let events: Vec<_> = lines
        .iter()
        .map(|l| parse_event_json(l, &Pseudonymiser::from_key([1; 32])).unwrap())
        .collect();
    store.write(&events).unwrap();
    assert_eq!(store.load(None).unwrap().deployments.len(), 2_000);
    // Once SQLite is initialised, it keeps the allocator it has.
    assert!(!lantern::allocator::sqlite_uses_mimalloc());
}
