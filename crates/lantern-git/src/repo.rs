//! The only module that talks to gix: opening a repository, listing refs,
//! and reading commit, tag and tree objects. Objects are parsed here from
//! their raw bytes — the formats are small and stable, and parsing them
//! directly keeps the commit loop free of allocations.

use crate::GitError;
use gix::ObjectId;
use gix::prelude::Find;
use std::path::Path;

pub struct Repo {
    repo: gix::Repository,
    buf: Vec<u8>,
}

/// A ref that names a commit, peeled through annotated tags.
#[derive(Debug, Clone)]
pub struct RefTip {
    /// Full name, e.g. `refs/tags/v1.2.0`.
    pub name: String,
    pub commit: ObjectId,
    /// The tagger time of an annotated tag, in seconds.
    pub tagged_at: Option<i64>,
}

/// One commit, borrowed from the read buffer.
pub struct CommitView<'a> {
    pub id: ObjectId,
    pub tree: Option<ObjectId>,
    pub parents: &'a [ObjectId],
    /// Seconds since the epoch.
    pub author_time: i64,
    pub committer_time: i64,
    /// The author's e-mail address, else their name.
    pub author: &'a [u8],
    pub message: &'a [u8],
}

impl Repo {
    pub fn open(path: &Path) -> Result<Self, GitError> {
        if !path.exists() {
            return Err(GitError::NotARepository {
                path: path.display().to_string(),
                reason: "no such file or directory".into(),
            });
        }
        let repo = gix::open(path).map_err(|e| GitError::NotARepository {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(Repo {
            repo,
            buf: Vec::with_capacity(4096),
        })
    }

    pub fn is_shallow(&self) -> Result<bool, GitError> {
        self.repo
            .is_shallow()
            .map_err(GitError::read("the shallow-clone marker"))
    }

    /// Every ref under `prefix` (e.g. `refs/tags/`) that leads to a commit.
    pub fn refs(&mut self, prefix: &str) -> Result<Vec<RefTip>, GitError> {
        let platform = self.repo.references().map_err(GitError::read("the refs"))?;
        let iter = platform
            .prefixed(prefix)
            .map_err(GitError::read("the refs"))?;
        let mut named = Vec::new();
        for r in iter {
            let mut r = r.map_err(|e| GitError::Read {
                what: "a ref".into(),
                reason: e.to_string(),
            })?;
            // Peeling a symbolic ref renames it to its target: name first.
            let name = r.name().as_bstr().to_string();
            if let Some(target) = direct_target(&mut r) {
                named.push((name, target));
            }
        }
        drop(platform);
        let mut out = Vec::new();
        for (name, target) in named {
            if let Some(tip) = self.peel(name, target)? {
                out.push(tip);
            }
        }
        Ok(out)
    }

    /// The ref with this full name, when it exists and leads to a commit.
    pub fn find_ref(&mut self, name: &str) -> Result<Option<RefTip>, GitError> {
        let found = self
            .repo
            .try_find_reference(name)
            .map_err(GitError::read(name))?;
        let Some(mut r) = found else { return Ok(None) };
        let Some(target) = direct_target(&mut r) else {
            return Ok(None);
        };
        self.peel(name.to_string(), target)
    }

    /// Follows annotated tags down to a commit; the outermost tag's tagger
    /// time is the tag's time. Tags of trees or blobs lead nowhere.
    fn peel(&mut self, name: String, mut id: ObjectId) -> Result<Option<RefTip>, GitError> {
        let mut tagged_at = None;
        for _ in 0..16 {
            let Some(data) = self
                .repo
                .objects
                .try_find(&id, &mut self.buf)
                .map_err(GitError::read(&name))?
            else {
                return Ok(None);
            };
            match data.kind {
                gix::object::Kind::Commit => {
                    return Ok(Some(RefTip {
                        name,
                        commit: id,
                        tagged_at,
                    }));
                }
                gix::object::Kind::Tag => {
                    let (target, time) = parse_tag(data.data).ok_or_else(|| GitError::Read {
                        what: name.clone(),
                        reason: format!("the tag object {id} is malformed"),
                    })?;
                    if tagged_at.is_none() {
                        tagged_at = time;
                    }
                    id = target;
                }
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The bytes of an object when it exists and is of `kind`; `None` when
    /// it is missing (a shallow clone's boundary) or of another kind.
    fn object(
        &mut self,
        id: &ObjectId,
        kind: gix::object::Kind,
        what: &'static str,
    ) -> Result<Option<&[u8]>, GitError> {
        let found = self
            .repo
            .objects
            .try_find(id, &mut self.buf)
            .map_err(GitError::read(what))?;
        Ok(found.filter(|d| d.kind == kind).map(|d| d.data))
    }

    /// Reads a commit; `None` when the object is missing (a shallow clone's
    /// boundary) or is not a commit.
    pub fn commit<'a>(
        &'a mut self,
        id: ObjectId,
        parents: &'a mut Vec<ObjectId>,
    ) -> Result<Option<CommitView<'a>>, GitError> {
        let Some(data) = self.object(&id, gix::object::Kind::Commit, "a commit")? else {
            return Ok(None);
        };
        parse_commit(id, data, parents)
            .map(Some)
            .ok_or(GitError::Read {
                what: format!("commit {id}"),
                reason: "the commit object is malformed".into(),
            })
    }

    /// The id of the tree or blob at `path` (components split by `/`) in a
    /// commit's tree; `None` when the path does not exist there.
    pub fn entry_at(
        &mut self,
        tree: ObjectId,
        path: &[&str],
    ) -> Result<Option<ObjectId>, GitError> {
        let mut current = tree;
        let hash_len = self.repo.object_hash().len_in_bytes();
        for component in path {
            let Some(data) = self.object(&current, gix::object::Kind::Tree, "a tree")? else {
                return Ok(None);
            };
            match find_in_tree(data, component.as_bytes(), hash_len) {
                Some(id) => current = id,
                None => return Ok(None),
            }
        }
        Ok(Some(current))
    }
}

/// The object a ref names, following symbolic refs but not annotated tags
/// (their tagger time is wanted).
fn direct_target(r: &mut gix::Reference<'_>) -> Option<ObjectId> {
    match r.target().try_id() {
        Some(id) => Some(id.to_owned()),
        None => r.peel_to_id().ok().map(|id| id.detach()),
    }
}

fn find_in_tree(mut data: &[u8], name: &[u8], hash_len: usize) -> Option<ObjectId> {
    while !data.is_empty() {
        let space = data.iter().position(|&b| b == b' ')?;
        let rest = &data[space + 1..];
        let nul = rest.iter().position(|&b| b == 0)?;
        let entry_name = &rest[..nul];
        let id_bytes = rest.get(nul + 1..nul + 1 + hash_len)?;
        if entry_name == name {
            return ObjectId::try_from(id_bytes).ok();
        }
        data = &rest[nul + 1 + hash_len..];
    }
    None
}

fn parse_hex_id(hex: &[u8]) -> Option<ObjectId> {
    ObjectId::from_hex(hex).ok()
}

/// `<name> <<email>> <seconds> <offset>` → (email or name, seconds).
fn parse_signature(line: &[u8]) -> Option<(&[u8], i64)> {
    let end_email = line.iter().rposition(|&b| b == b'>')?;
    let start_email = line[..end_email].iter().rposition(|&b| b == b'<')?;
    let email = &line[start_email + 1..end_email];
    let who = if email.is_empty() {
        line[..start_email].trim_ascii()
    } else {
        email
    };
    let mut tail = line[end_email + 1..].trim_ascii().split(|&b| b == b' ');
    let seconds = std::str::from_utf8(tail.next()?).ok()?.parse().ok()?;
    Some((who, seconds))
}

fn parse_commit<'a>(
    id: ObjectId,
    data: &'a [u8],
    parents: &'a mut Vec<ObjectId>,
) -> Option<CommitView<'a>> {
    parents.clear();
    let mut tree = None;
    let mut author = None;
    let mut committer = None;
    let mut rest = data;
    loop {
        let nl = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = &rest[..nl];
        rest = rest.get(nl + 1..).unwrap_or(&[]);
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix(b"tree ") {
            tree = parse_hex_id(v);
        } else if let Some(v) = line.strip_prefix(b"parent ") {
            parents.push(parse_hex_id(v)?);
        } else if let Some(v) = line.strip_prefix(b"author ") {
            author = parse_signature(v);
        } else if let Some(v) = line.strip_prefix(b"committer ") {
            committer = parse_signature(v);
        }
        if rest.is_empty() {
            break;
        }
    }
    let (committer_time, author_time, who) = match (committer, author) {
        (Some((_, c)), Some((who, a))) => (c, a, who),
        (Some((who, c)), None) => (c, c, who),
        (None, Some((who, a))) => (a, a, who),
        (None, None) => return None,
    };
    Some(CommitView {
        id,
        tree,
        parents,
        author_time,
        committer_time,
        author: who,
        message: rest,
    })
}

/// An annotated tag: (the object it tags, the tagger's time).
fn parse_tag(data: &[u8]) -> Option<(ObjectId, Option<i64>)> {
    let mut target = None;
    let mut time = None;
    for line in data.split(|&b| b == b'\n') {
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix(b"object ") {
            target = parse_hex_id(v);
        } else if let Some(v) = line.strip_prefix(b"tagger ") {
            time = parse_signature(v).map(|(_, t)| t);
        }
    }
    Some((target?, time))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_parse_with_signed_headers_and_missing_pieces() {
        let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
parent 1111111111111111111111111111111111111111\n\
parent 2222222222222222222222222222222222222222\n\
author Ada L <ada@example.com> 1700000000 +0100\n\
committer Bob <bob@example.com> 1700000100 -0500\n\
gpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\
\n\
Merge pull request #7 from acme/x\n";
        let mut parents = Vec::new();
        let id = ObjectId::null(gix::hash::Kind::Sha1);
        let c = parse_commit(id, raw, &mut parents).unwrap();
        assert_eq!(c.parents.len(), 2);
        assert_eq!(c.author_time, 1_700_000_000);
        assert_eq!(c.committer_time, 1_700_000_100);
        assert_eq!(c.author, b"ada@example.com");
        assert_eq!(c.message, b"Merge pull request #7 from acme/x\n");
        // No author line: the committer stands in; garbage parents refuse.
        let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ncommitter <> 5 +0000\n\nx";
        let c = parse_commit(id, raw, &mut parents).unwrap();
        assert_eq!((c.author_time, c.author), (5, &b""[..]));
        assert!(parse_commit(id, b"parent zz\n\n", &mut parents).is_none());
        assert!(parse_commit(id, b"", &mut parents).is_none());
    }

    #[test]
    fn signatures_without_a_time_are_refused() {
        assert_eq!(
            parse_signature(b"A <a@b> 12 +0000"),
            Some((&b"a@b"[..], 12))
        );
        assert_eq!(parse_signature(b"A <a@b>"), None);
        assert_eq!(parse_signature(b"A a@b 12"), None);
    }

    /// Git objects come from any repository a user points Lantern at: the
    /// hand-written object parsers take any bytes without panicking —
    /// valid objects cut, spliced and garbled, and arbitrary bytes.
    /// `LANTERN_FUZZ_CASES` sets the cases (10 000 by default).
    #[test]
    fn object_parsers_never_panic() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let cases = std::env::var("LANTERN_FUZZ_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(10_000);
        let valid: Vec<&[u8]> = vec![
            b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 1111111111111111111111111111111111111111\nauthor Ada L <ada@example.com> 1700000000 +0100\ncommitter Bob <bob@example.com> 1700000100 -0500\n\nmsg\n",
            b"object 1111111111111111111111111111111111111111\ntype commit\ntag v1.0.0\ntagger T <t@x> 1700000000 +0000\n\nrelease\n",
            b"100644 README\0aaaaaaaaaaaaaaaaaaaa40000 src\0bbbbbbbbbbbbbbbbbbbb",
        ];
        let strategy = (
            0..valid.len(),
            prop::collection::vec(
                (any::<usize>(), prop::collection::vec(any::<u8>(), 0..8)),
                0..4,
            ),
            any::<usize>(),
            prop::collection::vec(any::<u8>(), 0..300),
            any::<bool>(),
        );
        let config = Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        };
        TestRunner::new(config)
            .run(&strategy, |(which, splices, cut, noise, use_noise)| {
                let mut data = if use_noise {
                    noise
                } else {
                    valid[which].to_vec()
                };
                for (at, bytes) in splices {
                    let at = at % (data.len() + 1);
                    data.splice(at..at, bytes);
                }
                data.truncate(cut % (data.len() + 1));
                let mut parents = Vec::new();
                let id = ObjectId::null(gix::hash::Kind::Sha1);
                let _ = parse_commit(id, &data, &mut parents);
                let _ = parse_tag(&data);
                let _ = parse_signature(&data);
                let _ = find_in_tree(&data, b"src", 20);
                Ok(())
            })
            .unwrap();
    }
}
