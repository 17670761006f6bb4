//! Tag names in version order (`v1.9.0` < `v1.10.0`), as
//! `git tag --sort=version:refname` orders them, except that a pre-release
//! (`v2.0.0-rc1`) comes before its release, as semver says.

use std::cmp::Ordering;

#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Number(u64, &'a str),
    Text(&'a str),
}

fn tokens(name: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let digit = bytes[i].is_ascii_digit();
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() == digit {
            i += 1;
        }
        let part = &name[start..i];
        out.push(match (digit, part.parse()) {
            (true, Ok(n)) => Token::Number(n, part),
            _ => Token::Text(part),
        });
    }
    out
}

pub fn compare(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (tokens(a), tokens(b));
    for (x, y) in ta.iter().zip(&tb) {
        let o = match (x, y) {
            (Token::Number(m, ms), Token::Number(n, ns)) => m.cmp(n).then(ms.cmp(ns)),
            (Token::Number(..), Token::Text(_)) => Ordering::Less,
            (Token::Text(_), Token::Number(..)) => Ordering::Greater,
            (Token::Text(s), Token::Text(t)) => s.cmp(t),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    // One is a prefix of the other: `v1.0.0-rc1` before `v1.0.0`, but
    // `v1.0` before `v1.0.1` and `v1.0.0` before `v1.0.0-hotfix1`.
    let pre_release =
        |rest: &[Token]| matches!(rest.first(), Some(Token::Text(t)) if is_pre_release(t));
    match ta.len().cmp(&tb.len()) {
        Ordering::Greater if pre_release(&ta[tb.len()..]) => Ordering::Less,
        Ordering::Less if pre_release(&tb[ta.len()..]) => Ordering::Greater,
        o => o.then(a.cmp(b)),
    }
}

/// `-rc`, `-beta.`, `.alpha`: a suffix that comes before the release.
fn is_pre_release(suffix: &str) -> bool {
    let Some(word) = suffix.strip_prefix(['-', '.', '_', '~']) else {
        return false;
    };
    let word = word
        .trim_start_matches(['-', '.', '_'])
        .to_ascii_lowercase();
    [
        "alpha", "beta", "rc", "pre", "dev", "preview", "snapshot", "nightly", "canary",
    ]
    .iter()
    .any(|p| word.starts_with(p))
}

/// `vX.Y.Z` or `X.Y.Z` (nothing after) as (X, Y, Z).
pub fn semver(name: &str) -> Option<(u64, u64, u64)> {
    let core = name.strip_prefix('v').unwrap_or(name);
    let mut parts = core.split('.');
    let mut next = || -> Option<u64> {
        let p = parts.next()?;
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    let v = (next()?, next()?, next()?);
    parts.next().is_none().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_numerically_with_pre_releases_first() {
        let mut tags = vec![
            "v1.10.0",
            "v1.9.0",
            "v2.0.0",
            "v2.0.0-rc1",
            "v1.9.1",
            "v1.9",
            "release",
            "v10.0.0",
            "v2.0.0-hotfix1",
            "v2.0.0-beta.2",
        ];
        tags.sort_by(|a, b| compare(a, b));
        assert_eq!(
            tags,
            vec![
                "release",
                "v1.9",
                "v1.9.0",
                "v1.9.1",
                "v1.10.0",
                "v2.0.0-beta.2",
                "v2.0.0-rc1",
                "v2.0.0",
                "v2.0.0-hotfix1",
                "v10.0.0"
            ]
        );
        // Equal numbers written differently still have one order.
        assert_eq!(compare("v01", "v1"), Ordering::Less);
        // Huge numbers do not overflow; they compare as text.
        assert_ne!(compare("v99999999999999999999999", "v1"), Ordering::Equal);
    }

    #[test]
    fn semver_patch_releases() {
        assert_eq!(semver("v1.2.3"), Some((1, 2, 3)));
        assert_eq!(semver("1.2.0"), Some((1, 2, 0)));
        assert_eq!(semver("v1.2"), None);
        assert_eq!(semver("v1.2.3-rc1"), None);
        assert_eq!(semver("v1..3"), None);
    }
}
