//! JSON Lines reading: one event a line, errors tied to their line number,
//! and a bad line never stops the good ones.

use lantern_events::{Event, FieldError, Pseudonymiser, parse_event_json};
use std::fmt;
use std::io::{self, BufRead};

/// A rejected line: its number (1-based) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub error: FieldError,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.error)
    }
}

/// Reads JSON Lines, calling `on_line` with each line's result. Blank lines
/// are skipped. Only an I/O failure of the reader itself stops the loop.
pub fn read_jsonl<R: BufRead>(
    mut reader: R,
    pseudonymiser: &Pseudonymiser,
    mut on_line: impl FnMut(Result<Event, LineError>, u64),
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut line = 0u64;
    loop {
        buf.clear();
        let read = reader.read_until(b'\n', &mut buf)?;
        if read == 0 {
            return Ok(());
        }
        line += 1;
        let result = match std::str::from_utf8(&buf) {
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => parse_event_json(text, pseudonymiser),
            Err(e) => Err(FieldError {
                field: String::new(),
                message: format!("not valid UTF-8 (byte {})", e.valid_up_to()),
            }),
        };
        on_line(
            result.map_err(|error| LineError { line, error }),
            read as u64,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_reported_by_number_and_good_lines_still_load() {
        let input = b"{\"type\":\"deployment\",\"id\":\"d1\",\"service\":\"s\",\"environment\":\"production\",\"finished_at\":\"2026-03-03T11:00:00Z\"}\n\n{\"type\":\"deployment\"}\n\xff\xfe\n{\"type\":\"deployment\",\"id\":\"d2\",\"service\":\"s\",\"environment\":\"production\",\"finished_at\":\"2026-03-03T12:00:00Z\"}";
        let mut ok = vec![];
        let mut bad = vec![];
        read_jsonl(
            &input[..],
            &Pseudonymiser::from_key([0; 32]),
            |r, _| match r {
                Ok(e) => ok.push(e.id().to_string()),
                Err(e) => bad.push(e.to_string()),
            },
        )
        .unwrap();
        assert_eq!(ok, ["d1", "d2"]);
        assert_eq!(bad.len(), 2);
        assert!(bad[0].starts_with("line 3: field `id`"), "{}", bad[0]);
        assert!(bad[1].starts_with("line 4: not valid UTF-8"), "{}", bad[1]);
    }

    #[test]
    fn bad_json_is_placed_within_its_line() {
        let mut bad = vec![];
        let input = b"{\"type\":\"deployment\",\n{\"type\": nope}\n";
        read_jsonl(&input[..], &Pseudonymiser::from_key([0; 32]), |r, _| {
            if let Err(e) = r {
                bad.push(e.to_string());
            }
        })
        .unwrap();
        assert_eq!(
            bad,
            [
                "line 1: not valid JSON at the end: EOF while parsing a value",
                "line 2: not valid JSON at column 11: expected ident",
            ]
        );
    }
}
