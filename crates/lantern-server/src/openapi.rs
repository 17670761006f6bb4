//! The OpenAPI 3.1 document's frame (title, security scheme); its paths
//! come from the route table (`crate::routes`).

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lantern",
        description = "DORA delivery metrics for services, teams and the organisation, never for a person."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub(crate) struct ApiDoc;

/// Every API route takes `Authorization: Bearer <token>` (or the session
/// cookie from `POST /api/v1/session`); health checks and receivers are
/// the exceptions.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// One readable tag per operation, by what its path serves, each tag
/// described once in the document's `tags` (utoipa would name none, or
/// the handler's module path).
pub(crate) fn readable_tags(document: &mut utoipa::openapi::OpenApi) {
    /// (path prefix, tag, what it holds), the first match winning.
    const TAGS: [(&[&str], &str, &str); 13] = [
        (
            &["/healthz", "/readyz"],
            "Health",
            "Liveness and readiness, for load balancers",
        ),
        (
            &["/api/v1/report"],
            "Reports",
            "The DORA report of a service, a team or the organisation",
        ),
        (
            &["/api/v1/flow"],
            "Flow",
            "flow.md's figures of a team's work items",
        ),
        (
            &["/api/v1/slos", "/api/v1/gate"],
            "SLOs and the gate",
            "Service level objectives and the deploy gate",
        ),
        (
            &["/api/v1/catalog", "/api/v1/metrics"],
            "Catalog",
            "Teams, services and what each metric means",
        ),
        (
            &["/api/v1/services/"],
            "Event detail",
            "A service's deployments, incidents and changes, for its team",
        ),
        (
            &["/api/v1/annotations", "/api/v1/disputes"],
            "Annotations and disputes",
            "Context beside the figures (governance rule 8)",
        ),
        (
            &[
                "/api/v1/session",
                "/api/v1/whoami",
                "/api/v1/tokens",
                "/api/v1/access-review",
                "/api/v1/audit",
            ],
            "Access and audit",
            "Sessions, tokens, the access review and the audit log",
        ),
        (
            &[
                "/api/v1/pulse",
                "/api/v1/experiments",
                "/api/v1/team-health",
            ],
            "Team health",
            "Pulse rounds, experiments, operational load and strain (health.md)",
        ),
        (
            &["/hooks/"],
            "Receivers",
            "Webhooks that turn a source's payloads into canonical events",
        ),
        (&["/api/v1/openapi.json"], "Documentation", "This document"),
        (
            &["/metrics"],
            "Prometheus",
            "Lantern's figures for Prometheus, per service",
        ),
        (
            &["/api/v1/backstage"],
            "Backstage",
            "The data Backstage's DORA plugins read, keyed by the lantern.dev/service annotation",
        ),
    ];
    let tag_of = |path: &str| {
        TAGS.iter()
            .find(|(prefixes, _, _)| prefixes.iter().any(|p| path.starts_with(p)))
            .map_or("Other", |(_, tag, _)| tag)
    };
    let mut used = std::collections::BTreeSet::new();
    for (path, item) in document.paths.paths.iter_mut() {
        let tag = tag_of(path);
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            op.tags = Some(vec![tag.to_string()]);
            used.insert(tag);
        }
    }
    document.tags = Some(
        TAGS.iter()
            .filter(|(_, tag, _)| used.contains(tag))
            .map(|(_, tag, about)| {
                utoipa::openapi::tag::TagBuilder::new()
                    .name(*tag)
                    .description(Some(*about))
                    .build()
            })
            .chain(used.contains("Other").then(|| {
                utoipa::openapi::tag::TagBuilder::new()
                    .name("Other")
                    .build()
            }))
            .collect(),
    );
}

/// An example for every response body of the document, made from its
/// schema: what a client generator shows and what a reader of the
/// document sees first. Values follow the field's name where it says what
/// it holds (`service` → "checkout", `…_at` → an instant, `…_s` → seconds,
/// `rate` → a share), else its type; a `oneOf` shows its first choice.
pub(crate) fn examples(document: &mut utoipa::openapi::OpenApi) {
    use serde_json::Value;
    use utoipa::openapi::RefOr;
    let curated: Value =
        serde_json::from_str(include_str!("openapi_examples.json")).unwrap_or(Value::Null);
    let schemas = document
        .components
        .as_ref()
        .and_then(|c| serde_json::to_value(&c.schemas).ok())
        .unwrap_or(Value::Null);
    for (path, item) in document.paths.paths.iter_mut() {
        for (method, operation) in [
            ("GET", &mut item.get),
            ("POST", &mut item.post),
            ("PUT", &mut item.put),
            ("PATCH", &mut item.patch),
            ("DELETE", &mut item.delete),
        ] {
            let Some(operation) = operation else {
                continue;
            };
            for (status, response) in operation.responses.responses.iter_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                for (media, body) in response.content.iter_mut() {
                    if body.example.is_some() {
                        continue;
                    }
                    let real = curated
                        .get(format!("{method} {path} {status} {media}"))
                        .or_else(|| curated.get(format!("* {status} {media}")));
                    let failure = !status.starts_with('2') && media == "application/json";
                    body.example = Some(match media.as_str() {
                        _ if real.is_some() => real.cloned().unwrap_or_default(),
                        _ if failure => problem_example(status),
                        "text/csv" => Value::String(
                            "scope,from,to,deployment_frequency.per_day,lead_time.median_s\r\nteam payments,2026-09-02T00:00:00Z,2026-12-01T00:00:00Z,2.5,7200\r\n".into(),
                        ),
                        m if m.starts_with("text/") => Value::String(
                            "# TYPE lantern_deployments_total counter\nlantern_deployments_total{service=\"checkout\",environment=\"production\",result=\"success\"} 42\n".into(),
                        ),
                        _ => {
                            let schema = serde_json::to_value(&body.schema).unwrap_or(Value::Null);
                            example_of(&schema, "", &schemas, 0)
                        }
                    });
                }
            }
        }
    }
}

/// A problem document (RFC 9457) with `status`.
fn problem_example(status: &str) -> serde_json::Value {
    let code = status
        .parse::<u16>()
        .ok()
        .and_then(|c| axum::http::StatusCode::from_u16(c).ok())
        .unwrap_or(axum::http::StatusCode::BAD_REQUEST);
    let (slug, detail) = match code.as_u16() {
        401 => (
            "unauthorized",
            "no token: send Authorization: Bearer <token>",
        ),
        403 => ("forbidden", "this needs an admin token, not org_viewer"),
        404 => ("not-found", "no service `chekout` in the catalog"),
        409 => ("conflict", "round 3 is closed"),
        413 => ("payload-too-large", "the body is over 1 MiB"),
        503 => (
            "unavailable",
            "the store is not reachable; try again shortly",
        ),
        _ => ("bad-request", "from: `2026-13-01` is not a date"),
    };
    serde_json::json!({
        "type": format!("urn:lantern:problem:{slug}"),
        "title": code.canonical_reason().unwrap_or("Error"),
        "status": code.as_u16(),
        "detail": detail,
    })
}

/// An example value of `schema` for a field named `name`.
fn example_of(
    schema: &serde_json::Value,
    name: &str,
    schemas: &serde_json::Value,
    depth: usize,
) -> serde_json::Value {
    use serde_json::{Value, json};
    if depth > 12 {
        return Value::Null;
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let key = reference.rsplit('/').next().unwrap_or("");
        return example_of(&schemas[key], name, schemas, depth + 1);
    }
    for choice in ["oneOf", "anyOf"] {
        if let Some(first) = schema[choice]
            .as_array()
            .and_then(|c| c.iter().find(|s| s["type"] != "null").or_else(|| c.first()))
        {
            return example_of(first, name, schemas, depth + 1);
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        let mut merged = serde_json::Map::new();
        for part in all {
            if let Value::Object(fields) = example_of(part, name, schemas, depth + 1) {
                merged.extend(fields);
            }
        }
        return Value::Object(merged);
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    if let Some(example) = schema.get("example").or_else(|| schema.get("default")) {
        return example.clone();
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|k| *k != "null")
            .unwrap_or("null")
            .to_string(),
        Value::String(k) => k.clone(),
        _ if schema.get("properties").is_some() => "object".into(),
        _ => String::new(),
    };
    match kind.as_str() {
        "object" => {
            let mut out = serde_json::Map::new();
            if let Some(properties) = schema["properties"].as_object() {
                for (field, sub) in properties {
                    out.insert(field.clone(), example_of(sub, field, schemas, depth + 1));
                }
            } else if let Some(values) =
                schema.get("additionalProperties").filter(|v| v.is_object())
            {
                out.insert(
                    "checkout".into(),
                    example_of(values, "", schemas, depth + 1),
                );
            }
            Value::Object(out)
        }
        "array" => json!([example_of(&schema["items"], name, schemas, depth + 1)]),
        "integer" => json!(match name {
            n if n.contains("port") => 8080,
            n if n.ends_with("_days") || n == "days" => 90,
            _ => 3,
        }),
        "number" => json!(match name {
            n if n.ends_with("_s") || n.ends_with("seconds") => 7200.0,
            n if n.contains("rate")
                || n.contains("share")
                || n == "objective"
                || n.contains("remaining") =>
                0.12,
            n if n.contains("per_day") => 2.5,
            _ => 1.5,
        }),
        "boolean" => json!(false),
        "string" => json!(match (name, schema["format"].as_str()) {
            (_, Some("date-time")) => "2026-11-30T09:00:00Z",
            (_, Some("date")) => "2026-11-30",
            (n, _) if n.ends_with("_at") || n == "from" || n == "to" || n == "at" =>
                "2026-11-30T09:00:00Z",
            ("service" | "repository", _) => "checkout",
            ("team", _) => "payments",
            ("environment", _) => "production",
            ("sha" | "merge_sha" | "head_sha", _) => "9fceb02d0ae598e95dc970b74767f19372d61af8",
            ("id", _) => "d-1042",
            ("reason", _) => "fewer than 3 contributors",
            ("name", _) => "checkout-availability",
            ("services", _) => "checkout",
            ("teams", _) => "payments",
            ("role", _) => "team_member",
            ("status", _) => "active",
            ("purpose", _) => "the payments team's retrospective",
            ("source", _) => "github",
            ("token", _) => "ltn_6QmF0b2tlbi1zaG93bi1vbmNl",
            ("title", _) => "Quarter-end change freeze",
            _ => "text",
        }),
        _ => Value::Null,
    }
}
