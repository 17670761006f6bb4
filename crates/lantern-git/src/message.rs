//! What a commit message says about delivery: which pull request it
//! merged, which branch it brought in, which commit it reverts. The message
//! itself is never kept — only these facts leave this module.

use gix::bstr::ByteSlice;
use lantern_events::Sha;

/// A pull request named by a commit message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrRef {
    /// GitHub's `#123`.
    Hash(u64),
    /// GitLab's `!45`.
    Bang(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HowMerged {
    /// A merge commit: the pull request's commits are its second parent's.
    Merge,
    /// One commit carrying the whole pull request (squash or rebase).
    Squash,
}

#[derive(Debug, Default, PartialEq)]
pub struct MessageFacts {
    pub pull_request: Option<(PrRef, HowMerged)>,
    /// The branch a merge commit brought in (`Merge branch 'x'`,
    /// `Merge pull request #1 from owner/x`).
    pub source_branch: Option<String>,
    /// `This reverts commit <sha>`.
    pub reverts: Option<Sha>,
}

/// Called for every commit, so it works on bytes and looks only where a
/// pattern can be: the subject, and lines that begin with one of the two
/// markers (found with a substring search, not line by line).
pub fn read(message: &[u8], is_merge: bool) -> MessageFacts {
    let subject_end = message.find_byte(b'\n').unwrap_or(message.len());
    let subject = String::from_utf8_lossy(message[..subject_end].trim_ascii());
    let mut facts = MessageFacts::default();
    if is_merge {
        if let Some(rest) = subject.strip_prefix("Merge pull request #") {
            let (number, rest) = leading_number(rest);
            if let Some(n) = number {
                facts.pull_request = Some((PrRef::Hash(n), HowMerged::Merge));
            }
            // `from owner/branch`: the branch may itself contain slashes.
            if let Some(from) = rest.trim_start().strip_prefix("from ") {
                let from = from.trim();
                let branch = from.split_once('/').map_or(from, |(_, b)| b);
                if !branch.is_empty() {
                    facts.source_branch = Some(branch.to_string());
                }
            }
        } else {
            facts.source_branch = merged_branch(&subject);
        }
    } else if let Some(n) = trailing_pr_number(&subject) {
        facts.pull_request = Some((PrRef::Hash(n), HowMerged::Squash));
    }
    let body = &message[subject_end..];
    for line in lines_starting_with(body, b"See merge request ") {
        // `group/project!45`
        if let Some(bang) = line.rfind_byte(b'!')
            && let (Some(n), _) = leading_number(&String::from_utf8_lossy(&line[bang + 1..]))
        {
            let how = if is_merge {
                HowMerged::Merge
            } else {
                HowMerged::Squash
            };
            facts.pull_request = Some((PrRef::Bang(n), how));
        }
    }
    if let Some(line) = lines_starting_with(body, b"This reverts commit ").next() {
        let hex = line
            .iter()
            .position(|b| !b.is_ascii_hexdigit())
            .map_or(line, |end| &line[..end]);
        if hex.len() == 40 || hex.len() == 64 {
            facts.reverts = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| Sha::parse(h).ok());
        }
    }
    facts
}

/// What follows `marker` on each line of `body` (after the first line)
/// that starts with it, leading blanks allowed.
fn lines_starting_with<'a>(
    body: &'a [u8],
    marker: &'a [u8],
) -> impl Iterator<Item = &'a [u8]> + 'a {
    body.find_iter(marker).filter_map(move |at| {
        let line_start = body[..at].rfind_byte(b'\n')? + 1;
        if !body[line_start..at]
            .iter()
            .all(|b| *b == b' ' || *b == b'\t')
        {
            return None;
        }
        let rest = &body[at + marker.len()..];
        let end = rest.find_byte(b'\n').unwrap_or(rest.len());
        Some(rest[..end].trim_ascii_end())
    })
}

fn leading_number(text: &str) -> (Option<u64>, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    (text[..end].parse().ok(), &text[end..])
}

/// `Subject (#123)`, as GitHub writes squash merges.
fn trailing_pr_number(subject: &str) -> Option<u64> {
    let inner = subject.strip_suffix(')')?;
    let open = inner.rfind("(#")?;
    let digits = &inner[open + 2..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `Merge branch 'x' into 'main'`, `Merge branch 'x'`,
/// `Merge remote-tracking branch 'origin/x'`.
fn merged_branch(subject: &str) -> Option<String> {
    let rest = subject
        .strip_prefix("Merge branch '")
        .or_else(|| subject.strip_prefix("Merge remote-tracking branch '"))?;
    let name = &rest[..rest.find('\'')?];
    let name = name.strip_prefix("origin/").unwrap_or(name);
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_and_squashes_name_their_pull_request_and_branch() {
        type Case<'a> = (&'a [u8], bool, Option<(PrRef, HowMerged)>, Option<&'a str>);
        let cases: [Case; 4] = [
            (
                b"Merge pull request #123 from acme/hotfix/login\n\nFix login\n",
                true,
                Some((PrRef::Hash(123), HowMerged::Merge)),
                Some("hotfix/login"),
            ),
            (
                b"Add search (#77)\n\n* wip\n",
                false,
                Some((PrRef::Hash(77), HowMerged::Squash)),
                None,
            ),
            // GitLab.
            (
                b"Merge branch 'fix-1' into 'main'\n\nFix it\n\nSee merge request group/sub/project!45\n",
                true,
                Some((PrRef::Bang(45), HowMerged::Merge)),
                Some("fix-1"),
            ),
            (
                b"Merge remote-tracking branch 'origin/release-2'",
                true,
                None,
                Some("release-2"),
            ),
        ];
        for (message, merge, pull_request, branch) in cases {
            let f = read(message, merge);
            assert_eq!(f.pull_request, pull_request, "{message:?}");
            assert_eq!(f.source_branch.as_deref(), branch, "{message:?}");
        }
        // A squash subject on a merge commit, and non-numbers, are not PRs.
        assert_eq!(read(b"Merge x (#77)", true).pull_request, None);
        assert_eq!(read(b"Bump (#7a)", false).pull_request, None);
        assert_eq!(read(b"Bump ()", false).pull_request, None);
    }

    #[test]
    fn reverts_need_a_full_commit_id() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let f = read(
            format!("Revert \"x\"\n\nThis reverts commit {sha}.\n").as_bytes(),
            false,
        );
        assert_eq!(f.reverts, Some(Sha::parse(sha).unwrap()));
        assert_eq!(
            read(b"x\n\nThis reverts commit 0123abc.", false).reverts,
            None
        );
        // Not in the subject: a revert names its target in the body.
        assert_eq!(
            read(format!("This reverts commit {sha}").as_bytes(), false).reverts,
            None
        );
    }

    #[test]
    fn markers_count_only_at_the_start_of_a_line() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let quoted = format!("Docs\n\nWrite \"This reverts commit {sha}\" to revert\n");
        assert_eq!(read(quoted.as_bytes(), false).reverts, None);
        let indented = format!("Squash (#3)\n\n* Revert\n\n  This reverts commit {sha}.\n");
        let f = read(indented.as_bytes(), false);
        assert_eq!(f.reverts, Some(Sha::parse(sha).unwrap()));
        assert_eq!(f.pull_request, Some((PrRef::Hash(3), HowMerged::Squash)));
        let crlf = format!("Revert\r\n\r\nThis reverts commit {sha}\r\n");
        assert!(read(crlf.as_bytes(), false).reverts.is_some());
    }

    #[test]
    fn odd_bytes_do_not_panic() {
        for m in [
            &b""[..],
            b"\xff\xfe",
            b"Merge pull request #",
            b"Merge branch '",
            b"(#)",
        ] {
            let _ = read(m, true);
            let _ = read(m, false);
        }
    }
}
