//! lantern.toml is read from disk and from the environment: no text may
//! make reading it panic, and every refusal names where it is wrong.
//! `LANTERN_FUZZ_CASES` sets the cases (10 000 by default); `-- --ignored`
//! runs a million.

use lantern_app::Settings;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const EXAMPLE: &str = r#"
[[teams]]
name = "payments"
services = ["checkout", "billing"]

[environments]
production = ["Production", "prod"]

[incidents]
link_window_hours = 12
infer_links = false

[sources.github]
secrets = ["x"]
services = { "acme/shop" = "shop-api" }
deploy_workflows = ["Deploy"]

[governance]
min_group_size = 3
review_sample_rate = 0.5
raw_retention_days = 180
dead_letter_retention_days = 14
audit_retention_days = 730
aggregate_retention_days = 1825
charter = "for teams"

[[repos]]
name = "acme/payments-core"
critical = true

[git]
hotfix_patterns = ["*hotfix*"]
semver_patch_days = 14
"#;

fn cases() -> u32 {
    std::env::var("LANTERN_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
}

/// The example with one line replaced, removed or doubled, or a value
/// swapped for another of any type.
fn mutated() -> impl Strategy<Value = String> {
    let lines: Vec<&'static str> = EXAMPLE.lines().collect();
    let n = lines.len();
    let value = prop_oneof![
        Just("-1".to_string()),
        Just("1e400".to_string()),
        Just("nan".to_string()),
        Just("\"\"".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("18446744073709551616".to_string()),
        Just("\"\\u0000\"".to_string()),
        "\\PC{0,30}",
    ];
    (0..n, 0..4u8, value).prop_map(move |(i, how, value)| {
        let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        match how {
            0 => {
                out.remove(i);
            }
            1 => out.insert(i, lines[i].to_string()),
            2 => {
                if let Some((key, _)) = lines[i].split_once(" = ") {
                    out[i] = format!("{key} = {value}");
                }
            }
            _ => out[i] = value,
        }
        out.join("\n")
    })
}

fn run(cases: u32) {
    let config = Config {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        source_file: Some(file!()),
        ..Config::default()
    };
    let text = prop_oneof![mutated(), "\\PC{0,200}", ".{0,200}"];
    TestRunner::new(config)
        .run(&text, |text| {
            if let Err(e) = Settings::parse(&text, None) {
                prop_assert!(e.to_string().starts_with("configuration"), "{e}");
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_catalog_never_panics_and_names_what_is_wrong() {
    assert!(Settings::parse(EXAMPLE, None).is_ok());
    run(cases());
}

#[test]
#[ignore]
fn a_million_catalogs() {
    run(1_000_000);
}
