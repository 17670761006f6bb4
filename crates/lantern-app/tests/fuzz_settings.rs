//! lantern.toml is read from disk and from the environment: no text may
//! make reading it panic, and every refusal names where it is wrong.
//! `LANTERN_FUZZ_CASES` sets the cases (10 000 by default); `-- --ignored`
//! runs a million.

#[path = "../../lantern-sources/tests/support/mod.rs"]
mod support;

use lantern_app::Settings;
use proptest::prelude::*;

/// Every section and key of lantern.toml, set.
const EXAMPLE: &str = include_str!("example.toml");

/// The example with one line replaced, removed or doubled, or a value
/// swapped for another of any type.
fn mutated() -> impl Strategy<Value = String> {
    let lines: Vec<&'static str> = EXAMPLE.lines().collect();
    let n = lines.len();
    let odd = [
        "-1",
        "1e400",
        "nan",
        "\"\"",
        "[]",
        "{}",
        "18446744073709551616",
        "\"\\u0000\"",
    ];
    let value = prop_oneof![
        prop::sample::select(odd.to_vec()).prop_map(str::to_string),
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
    let text = prop_oneof![mutated(), "\\PC{0,200}", ".{0,200}"];
    support::runner(cases, file!())
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
    run(support::cases());
}

#[test]
#[ignore]
fn a_million_catalogs() {
    run(1_000_000);
}
