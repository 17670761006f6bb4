//! What a browser is told and asked beyond authentication: security
//! headers on every answer, and a refusal of cross-site writes that ride on
//! the session cookie (CSRF). SameSite=Strict already keeps the cookie off
//! cross-site requests; a sibling subdomain is "same site", so the origin
//! is checked too.

use crate::problem::Problem;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

/// No inline script (the one script is a file), no framing, nothing
/// loaded from elsewhere. Inline style attributes stay allowed: the
/// organisation page sizes its bars with one (`--n`), and maud escapes
/// every value that reaches an attribute.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The headers every answer carries.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Why a state-changing request that carries no bearer token (so a
/// browser's cookie, or nothing) is refused as cross-site, if it is: the
/// browser says it comes from another site (`Sec-Fetch-Site`), or its
/// `Origin` is not this server's host. Requests without either header
/// (older browsers, scripts) fall back on SameSite=Strict.
pub fn cross_site(method: &Method, headers: &HeaderMap) -> Option<Problem> {
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || headers.contains_key(header::AUTHORIZATION) {
        return None;
    }
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site"))
        && !matches!(site, "same-origin" | "none")
    {
        return Some(refusal(format!(
            "the browser says this request comes from a {site} page"
        )));
    }
    if let Some(origin) = text(header::ORIGIN) {
        let authority = origin.split_once("://").map(|(_, rest)| rest);
        // Behind a proxy that rewrites Host, the public host is in
        // X-Forwarded-Host (as the Secure cookie trusts X-Forwarded-Proto).
        let forwarded = text(header::HeaderName::from_static("x-forwarded-host"));
        let ours = |host: Option<&str>| host.is_some() && authority == host;
        if !ours(text(header::HOST)) && !ours(forwarded) {
            return Some(refusal(format!(
                "the request comes from {origin}, not this server"
            )));
        }
    }
    None
}

/// The form token of a session: every form a signed-in page shows carries
/// it, and a form post riding on the session cookie must send it back. It
/// is derived from the cookie's value (which a page on another site cannot
/// read), so it needs no storage and changes with every session.
pub fn form_token(session: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest([b"lantern form token\0".as_slice(), session.as_bytes()].concat());
    lantern_events::hex(&digest[..16])
}

/// The value of the session cookie a request carries, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|text| text.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("lantern_session="))
}

/// Whether a body of this type is one a page on another site can send
/// without asking (a form's): those must carry the form token.
pub fn is_form_body(headers: &HeaderMap) -> bool {
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    kind.is_empty()
        || [
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "text/plain",
        ]
        .iter()
        .any(|t| kind.starts_with(t))
}

/// Checks a form body's `form_token` field against the session's.
pub fn form_token_matches(body: &[u8], expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    form_urlencoded_field(body, "form_token")
        .is_some_and(|sent| bool::from(sent.as_bytes().ct_eq(expected.as_bytes())))
}

/// One field of an `application/x-www-form-urlencoded` body (the token is
/// hex, so it needs no decoding).
fn form_urlencoded_field<'b>(body: &'b [u8], name: &str) -> Option<&'b str> {
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

fn refusal(detail: String) -> Problem {
    tracing::warn!(detail, "refused a cross-site write");
    Problem::new(StatusCode::FORBIDDEN, "cross-site", detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn form_tokens_belong_to_one_session() {
        let a = form_token("aa");
        assert_eq!(a.len(), 32);
        assert_ne!(a, form_token("ab"));
        let body = format!("title=x&form_token={a}&next=%2F");
        assert!(form_token_matches(body.as_bytes(), &a));
        assert!(!form_token_matches(body.as_bytes(), &form_token("ab")));
        assert!(!form_token_matches(b"title=x", &a));
        let cookies = headers(&[("cookie", "a=1; lantern_session=ff00; b=2")]);
        assert_eq!(session_cookie(&cookies), Some("ff00"));
    }

    #[test]
    fn cookie_writes_from_another_site_are_refused() {
        let post = Method::POST;
        let home = [("host", "lantern.example:8080")];
        assert!(cross_site(&post, &headers(&home)).is_none());
        for (k, v) in [
            ("origin", "https://evil.example"),
            ("origin", "https://sub.lantern.example:8080"),
            ("origin", "null"),
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-site", "same-site"),
        ] {
            let h = headers(&[home[0], (k, v)]);
            assert!(cross_site(&post, &h).is_some(), "{k}: {v}");
        }
        let same = headers(&[
            home[0],
            ("origin", "http://lantern.example:8080"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert!(cross_site(&post, &same).is_none());
        // Behind a proxy that rewrites Host: the forwarded host counts.
        let proxied = headers(&[
            ("host", "lantern:8080"),
            ("x-forwarded-host", "lantern.example"),
            ("origin", "https://lantern.example"),
        ]);
        assert!(cross_site(&post, &proxied).is_none());
        // Reading is not writing; a bearer token is not ambient.
        let evil = headers(&[home[0], ("origin", "https://evil.example")]);
        assert!(cross_site(&Method::GET, &evil).is_none());
        let bearer = headers(&[
            home[0],
            ("origin", "https://evil.example"),
            ("authorization", "Bearer x"),
        ]);
        assert!(cross_site(&post, &bearer).is_none());
    }
}
