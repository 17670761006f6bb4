//! The report JSON of every scope of the demo, byte for byte, against the
//! documents recorded before the application layer was introduced: a
//! refactoring that changes a figure, a field's order or a number's format
//! fails here. After a deliberate change of the report, regenerate with
//! `LANTERN_BLESS=1 cargo test -p lantern --test golden` and review the diff.

mod common;

use common::{Env, stderr, stdout, words};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/demo_reports.txt");

/// Each scope of the demo's catalog: the organisation, its teams, then
/// its services, from the catalog the demo writes.
fn scopes(catalog: &str) -> Vec<Vec<String>> {
    let mut scopes = vec![vec![]];
    let mut services = Vec::new();
    for line in catalog.lines() {
        if let Some(name) = line.strip_prefix("name = ") {
            scopes.push(vec!["--team".into(), name.trim_matches('"').into()]);
        }
        if let Some(list) = line.strip_prefix("services = [") {
            services.extend(
                list.trim_end_matches(']')
                    .split(", ")
                    .map(|s| s.trim_matches('"').to_string()),
            );
        }
    }
    services.sort();
    assert!(scopes.len() > 2 && services.len() > 4, "{catalog}");
    scopes.extend(services.into_iter().map(|s| vec!["--service".into(), s]));
    scopes
}

#[test]
fn every_scope_of_the_demo_reports_the_same_bytes() {
    let env = Env::sqlite();
    let demo = env.run(&words("demo --no-serve --seed 11 --until 2026-11-01"));
    assert!(demo.status.success(), "{}", stderr(&demo));
    let catalog = std::fs::read_to_string(env.path("lantern-demo.toml")).unwrap();
    let mut recorded = String::new();
    for scope in scopes(&catalog) {
        for extra in [&[][..], &["--bucket", "month"][..]] {
            let mut args = words(
                "--db lantern-demo.db --config lantern-demo.toml report --from 2026-08-03 --to 2026-11-01 --format json",
            );
            args.extend(scope.iter().map(String::as_str));
            args.extend_from_slice(extra);
            let out = env.run(&args);
            assert!(out.status.success(), "{args:?}: {}", stderr(&out));
            recorded.push_str(&format!("## {}\n{}\n", args[4..].join(" "), stdout(&out)));
        }
    }
    if std::env::var_os("LANTERN_BLESS").is_some() {
        std::fs::create_dir_all(std::path::Path::new(GOLDEN).parent().unwrap()).unwrap();
        std::fs::write(GOLDEN, &recorded).unwrap();
    }
    let golden = std::fs::read_to_string(GOLDEN).expect("tests/golden/demo_reports.txt");
    if golden != recorded {
        let first = golden
            .lines()
            .zip(recorded.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(golden.lines().count().min(recorded.lines().count()));
        panic!(
            "the report JSON changed; first differing line {}:\nrecorded: {:?}\nnow:      {:?}",
            first + 1,
            golden.lines().nth(first),
            recorded.lines().nth(first)
        );
    }
}
