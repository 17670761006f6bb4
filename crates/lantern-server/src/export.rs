//! Figures leaving Lantern through the API: JSON, or CSV when asked for
//! (`format=csv`, or `Accept: text/csv` without `format`), and every such
//! answer recorded in the audit log as an export, as the CLI's are
//! (governance.md rule 4).

use crate::policy::Principal;
use crate::problem::Problem;
use crate::state::AppState;
use axum::Json;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The format an answer is asked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

impl Format {
    /// `format` wins over `Accept`; an unknown `format` is a 400.
    pub fn asked(format: Option<&str>, headers: &HeaderMap) -> Result<Self, Problem> {
        match format {
            Some("json") => Ok(Format::Json),
            Some("csv") => Ok(Format::Csv),
            Some(other) => Err(Problem::bad_request(format!(
                "format `{other}`: `json` (the default) or `csv`"
            ))),
            None => {
                let accept = headers
                    .get(header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let csv = accept
                    .split(',')
                    .any(|t| t.split(';').next().map(str::trim) == Some("text/csv"));
                Ok(if csv { Format::Csv } else { Format::Json })
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }
}

/// Records the export (`what`: e.g. `report.export`; `scope`: the
/// scope's label; `detail`: the window) and answers `value` as JSON, or
/// `csv` as text/csv.
pub async fn answer<T: Serialize>(
    state: &AppState,
    principal: &Principal,
    format: Format,
    (what, scope, detail): (&str, &str, &str),
    value: T,
    csv: impl FnOnce(&T) -> String,
) -> Result<Response, Problem> {
    state
        .audit(principal.record(what, scope, &format!("{} {detail}", format.name())))
        .await?;
    Ok(match format {
        Format::Json => Json(value).into_response(),
        Format::Csv => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            csv(&value),
        )
            .into_response(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parameter_wins_over_the_accept_header() {
        let mut h = HeaderMap::new();
        assert_eq!(Format::asked(None, &h).unwrap(), Format::Json);
        h.insert(header::ACCEPT, "text/html, text/csv;q=0.9".parse().unwrap());
        assert_eq!(Format::asked(None, &h).unwrap(), Format::Csv);
        assert_eq!(Format::asked(Some("json"), &h).unwrap(), Format::Json);
        assert!(Format::asked(Some("xml"), &h).is_err());
    }
}
