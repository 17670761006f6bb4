//! `lantern_git::import` on real repositories built with the git CLI: the
//! exact events, incremental re-runs, every deployment rule, monorepo
//! prefixes, bare and shallow clones, and the errors a user can hit.

mod common;

use common::*;
use lantern_events::{
    Change, Deployment, DeploymentKind, Event, Pseudonymiser, PullRequest, Sha, Timestamp,
};
use lantern_git::{
    DeployRefs, DeployRule, GitError, HotfixRule, ImportState, Options, Outcome, Prior, RepoState,
    import,
};
use std::collections::BTreeMap;
use std::path::Path;

fn options(rule: &str) -> Options {
    Options {
        service: lantern_events::Name::parse("shop-api").unwrap(),
        repo: lantern_events::Name::parse("shop").unwrap(),
        deploys: rule.parse().unwrap(),
        path_prefix: None,
        hotfix: HotfixRule::default(),
    }
}

/// Plays the part of the database: every change emitted so far and the
/// repository's state, passed back to the next run.
#[derive(Default)]
struct Db {
    changes: Vec<Change>,
    repo: RepoState,
}

/// The first run of a rule over a repository.
fn first_run(path: &Path, rule: &str) -> Outcome {
    run(
        path,
        &options(rule),
        &mut Db::default(),
        ImportState::default(),
    )
    .1
}

/// One run. The streamed pull requests are put before the deployments in
/// the outcome's events.
fn run(
    path: &Path,
    options: &Options,
    store: &mut Db,
    state: ImportState,
) -> (Vec<Change>, Outcome) {
    let mut new = Vec::new();
    let mut others = Vec::new();
    let mut outcome = import(
        DeployRefs::read(path, &options.deploys).unwrap(),
        options,
        Prior {
            changes: store.changes.clone(),
            state,
            repo: store.repo.clone(),
        },
        &Pseudonymiser::from_key([7; 32]),
        &mut |_| {},
        &mut |batch| {
            for e in batch {
                match e {
                    Event::Change(c) => new.push(c),
                    other => others.push(other),
                }
            }
        },
    )
    .unwrap();
    assert!(
        outcome
            .events
            .iter()
            .all(|e| matches!(e, Event::Deployment(_))),
        "only deployments are held back"
    );
    others.append(&mut outcome.events);
    outcome.events = others;
    store.changes.extend(new.iter().cloned());
    store.repo = outcome.repo_state.clone();
    (new, outcome)
}

/// The ids of shop-api's deployments from these tags of repository shop.
fn tag_ids(tags: &[&str]) -> Vec<String> {
    tags.iter()
        .map(|t| format!("git:shop-api:shop:tag:{t}"))
        .collect()
}

fn ids<'d>(deployments: &[&'d Deployment]) -> Vec<&'d str> {
    deployments.iter().map(|d| d.id.as_str()).collect()
}

/// The events of one type in an outcome, in order.
fn of_type<'o, T>(o: &'o Outcome, pick: fn(&'o Event) -> Option<&'o T>) -> Vec<&'o T> {
    o.events.iter().filter_map(pick).collect()
}

fn deployments(o: &Outcome) -> Vec<&Deployment> {
    of_type(o, |e| match e {
        Event::Deployment(d) => Some(d),
        _ => None,
    })
}

fn pull_requests(o: &Outcome) -> Vec<&PullRequest> {
    of_type(o, |e| match e {
        Event::PullRequest(p) => Some(p),
        _ => None,
    })
}

fn sha(hex: &str) -> Sha {
    Sha::parse(hex).unwrap()
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_micros(seconds * 1_000_000)
}

fn sorted(shas: &[&String]) -> Vec<Sha> {
    let mut v: Vec<Sha> = shas.iter().map(|s| sha(s)).collect();
    v.sort();
    v
}

fn shipped(d: &Deployment) -> Option<Vec<Sha>> {
    d.changes.as_ref().map(|c| {
        let mut c = c.clone();
        c.sort();
        c
    })
}

/// The release history most tests share; returns the commits by name.
fn release_history(r: &mut TestRepo) -> BTreeMap<&'static str, String> {
    let mut c = BTreeMap::new();
    c.insert("c1", r.at(T0).commit("Initial commit"));
    r.at(T0 + HOUR).tag("v1.0.0");
    r.tag("nightly");
    r.at(T0 + DAY).git(&["checkout", "-q", "-b", "feature"]);
    c.insert("c2", r.commit("Add login form"));
    c.insert("c3", r.at(T0 + DAY + 2 * HOUR).commit("Validate login"));
    r.git(&["checkout", "-q", "main"]);
    c.insert(
        "m1",
        r.at(T0 + 2 * DAY)
            .merge("feature", "Merge pull request #1 from acme/feature"),
    );
    c.insert("c4", r.at(T0 + 2 * DAY + HOUR).commit("Add search (#2)"));
    r.at(T0 + 3 * DAY).annotated_tag("v1.1.0");
    c.insert("c5", r.at(T0 + 4 * DAY).commit("Risky change"));
    r.at(T0 + 4 * DAY + HOUR).tag("v1.2.0");
    let bad = c["c5"].clone();
    c.insert("r1", r.at(T0 + 4 * DAY + 3 * HOUR).revert(&bad));
    r.at(T0 + 4 * DAY + 4 * HOUR).annotated_tag("v1.2.1");
    c.insert("c6", r.at(T0 + 20 * DAY).commit("Refactor"));
    r.git(&["checkout", "-q", "-b", "hotfix-login"]);
    c.insert("c7", r.at(T0 + 20 * DAY + HOUR).commit("Fix login"));
    r.git(&["checkout", "-q", "main"]);
    c.insert(
        "m2",
        r.at(T0 + 20 * DAY + 2 * HOUR)
            .merge("hotfix-login", "Merge branch 'hotfix-login'"),
    );
    r.at(T0 + 21 * DAY).annotated_tag("v1.3.0");
    c.insert("c8", r.at(T0 + 21 * DAY + HOUR).commit("Patch"));
    r.at(T0 + 21 * DAY + 2 * HOUR)
        .annotated_tag("v1.3.0-hotfix1");
    c
}

#[test]
fn tags_give_deployments_in_version_order_with_rollbacks_hotfixes_and_pull_requests() {
    let mut r = TestRepo::new();
    let c = release_history(&mut r);
    let opts = options("tags:v*");
    let mut store = Db::default();
    let (changes, o) = run(r.path(), &opts, &mut store, ImportState::default());

    assert_eq!(changes.len(), 11, "every commit reachable from a tag");
    let m1 = changes.iter().find(|x| x.sha == sha(&c["m1"])).unwrap();
    assert_eq!(m1.parents, vec![sha(&c["c1"]), sha(&c["c3"])]);
    assert_eq!(m1.committed_at, at(T0 + 2 * DAY));
    assert_eq!(m1.id.as_str(), format!("shop@{}", c["m1"]));
    let author = m1.author.clone().expect("authors are kept as pseudonyms");
    assert!(!author.as_stored().contains("ada"));

    let d = deployments(&o);
    let tags = [
        "v1.0.0",
        "v1.1.0",
        "v1.2.0",
        "v1.2.1",
        "v1.3.0",
        "v1.3.0-hotfix1",
    ];
    assert_eq!(ids(&d), tag_ids(&tags));
    // Lightweight tags deploy at their commit's time, annotated ones at the tagger's.
    let times: Vec<Timestamp> = d.iter().map(|d| d.finished_at).collect();
    assert_eq!(
        times,
        [
            T0,
            T0 + 3 * DAY,
            T0 + 4 * DAY,
            T0 + 4 * DAY + 4 * HOUR,
            T0 + 21 * DAY,
            T0 + 21 * DAY + 2 * HOUR
        ]
        .map(at)
    );
    assert_eq!(shipped(d[0]), None, "the first deployment is the baseline");
    assert_eq!(
        shipped(d[1]),
        Some(sorted(&[&c["c2"], &c["c3"], &c["m1"], &c["c4"]]))
    );
    assert_eq!(shipped(d[2]), Some(sorted(&[&c["c5"]])));
    assert_eq!(shipped(d[3]), Some(sorted(&[&c["r1"]])));
    assert_eq!(shipped(d[4]), Some(sorted(&[&c["c6"], &c["c7"], &c["m2"]])));
    assert_eq!(shipped(d[5]), Some(sorted(&[&c["c8"]])));
    let kinds: Vec<Option<DeploymentKind>> = d.iter().map(|d| d.kind).collect();
    // v1.2.1 is also a quick patch release, but a rollback first; v1.3.0
    // tags the merge of `hotfix-login`; v1.3.0-hotfix1 is named so.
    assert_eq!(
        kinds,
        [
            None,
            None,
            None,
            Some(DeploymentKind::Rollback),
            Some(DeploymentKind::Hotfix),
            Some(DeploymentKind::Hotfix)
        ]
    );
    assert_eq!(
        d[3].rollback_of.as_ref().unwrap().as_str(),
        "git:shop-api:shop:tag:v1.2.0"
    );
    for x in &d {
        assert_eq!(x.environment.as_str(), "production");
        assert_eq!(x.service.as_str(), "shop-api");
        assert_eq!(x.repo.as_ref().unwrap().as_str(), "shop");
    }
    assert_eq!(d[1].sha, Some(sha(&c["c4"])));

    let prs = pull_requests(&o);
    assert_eq!(prs.len(), 2);
    assert_eq!(prs[0].id.as_str(), "shop#1");
    assert_eq!(prs[0].merge_sha, Some(sha(&c["m1"])));
    assert_eq!(prs[0].head_sha, Some(sha(&c["c3"])));
    let mut commits = prs[0].commits.clone();
    commits.sort();
    assert_eq!(commits, sorted(&[&c["c2"], &c["c3"]]));
    assert_eq!(prs[0].first_commit_at, Some(at(T0 + DAY)));
    assert_eq!(prs[0].merged_at, Some(at(T0 + 2 * DAY)));
    assert_eq!(
        prs[0].opened_at,
        at(T0 + 2 * DAY),
        "git has no open time: the merge stands in"
    );
    assert_eq!(prs[1].id.as_str(), "shop#2");
    assert_eq!(prs[1].commits, vec![sha(&c["c4"])]);
    assert_eq!(prs[1].head_sha, None);

    assert_eq!(o.summary.commits, 11);
    assert_eq!((o.summary.deployments, o.summary.pull_requests), (6, 2));
    assert_eq!((o.summary.rollbacks, o.summary.hotfixes), (1, 2));
    assert!(o.warnings.is_empty());
    assert_eq!(o.repo_state.reverts.get(&c["r1"]), Some(&c["c5"]));
}

#[test]
fn re_runs_read_only_what_is_new_and_resolve_late_reverts() {
    let mut r = TestRepo::new();
    release_history(&mut r);
    let opts = options("tags:v*");
    let mut store = Db::default();
    let (_, first) = run(r.path(), &opts, &mut store, ImportState::default());

    let (new, again) = run(r.path(), &opts, &mut store, first.state.clone());
    assert!(again.summary.up_to_date && new.is_empty() && again.events.is_empty());
    assert_eq!(again.state, first.state);

    let c9 = r.at(T0 + 30 * DAY).commit("Another");
    r.at(T0 + 30 * DAY + HOUR).annotated_tag("v1.4.0");
    let (new, o) = run(r.path(), &opts, &mut store, again.state);
    assert_eq!(
        new.iter().map(|c| c.sha).collect::<Vec<_>>(),
        vec![sha(&c9)]
    );
    let d = deployments(&o);
    assert_eq!(d.len(), 1, "old deployments are not sent again");
    assert_eq!(d[0].id.as_str(), "git:shop-api:shop:tag:v1.4.0");
    assert_eq!(shipped(d[0]), Some(vec![sha(&c9)]));

    let bad = r.at(T0 + 31 * DAY).commit("Breaks things");
    r.at(T0 + 31 * DAY + HOUR).annotated_tag("v1.5.0");
    let (_, o) = run(r.path(), &opts, &mut store, o.state);
    // The revert comes after the tag: no ref moves, so nothing is read yet.
    let revert = r.at(T0 + 31 * DAY + 5 * HOUR).revert(&bad);
    let (new, o) = run(r.path(), &opts, &mut store, o.state);
    assert!(o.summary.up_to_date && new.is_empty());
    r.at(T0 + 31 * DAY + 6 * HOUR).annotated_tag("v1.5.1");
    let (new, o) = run(r.path(), &opts, &mut store, o.state);
    assert_eq!(
        new.iter().map(|c| c.sha).collect::<Vec<_>>(),
        vec![sha(&revert)]
    );
    let d = deployments(&o);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].kind, Some(DeploymentKind::Rollback));
    assert_eq!(
        d[0].rollback_of.as_ref().unwrap().as_str(),
        "git:shop-api:shop:tag:v1.5.0"
    );
    assert_eq!(o.repo_state.reverts.len(), 2);
    assert_eq!(store.changes.len(), 14);
}

#[test]
fn branch_rules_deploy_every_first_parent_commit_or_every_merge() {
    let mut r = TestRepo::new();
    let c = release_history(&mut r);
    let o = first_run(r.path(), "first-parent:main");
    let d = deployments(&o);
    let line: Vec<Sha> = d.iter().map(|d| d.sha.unwrap()).collect();
    let expected: Vec<Sha> = ["c1", "m1", "c4", "c5", "r1", "c6", "m2", "c8"]
        .iter()
        .map(|k| sha(&c[k]))
        .collect();
    assert_eq!(line, expected);
    assert_eq!(shipped(d[1]), Some(sorted(&[&c["c2"], &c["c3"], &c["m1"]])));
    // The revert rolls back the deployment of the reverted commit; the
    // merge of `hotfix-login` is a hotfix by its branch's name.
    assert_eq!(d[4].kind, Some(DeploymentKind::Rollback));
    assert_eq!(d[4].rollback_of, Some(d[3].id.clone()));
    assert_eq!(d[6].kind, Some(DeploymentKind::Hotfix));
    assert_eq!(d[0].finished_at, at(T0));
    assert_eq!(d[4].finished_at, at(T0 + 4 * DAY + 3 * HOUR));

    let o = first_run(r.path(), "merges:main");
    let d = deployments(&o);
    assert_eq!(
        d.iter().map(|d| d.sha.unwrap()).collect::<Vec<_>>(),
        vec![sha(&c["m1"]), sha(&c["m2"])]
    );
    assert_eq!(shipped(d[0]), None);
    // The bad commit and its revert shipped together: no rollback.
    assert_eq!(d[1].kind, Some(DeploymentKind::Hotfix));
    assert_eq!(
        shipped(d[1]),
        Some(sorted(&[
            &c["c4"], &c["c5"], &c["r1"], &c["c6"], &c["c7"], &c["m2"]
        ]))
    );
}

/// Two services' folders, a first commit in each, tagged `v1`.
fn monorepo() -> TestRepo {
    let mut r = TestRepo::new();
    r.at(T0).commit_in("svc-a", "a: start");
    r.commit_in("svc-b", "b: start");
    r.at(T0 + HOUR).tag("v1");
    r
}

#[test]
fn a_path_prefix_keeps_the_commits_that_touch_it() {
    let mut r = monorepo();
    let a1 = r.at(T0 + DAY).commit_in("svc-a", "a: one");
    r.at(T0 + DAY + HOUR).commit_in("svc-b", "b: one");
    r.git(&["checkout", "-q", "-b", "topic"]);
    let a2 = r.at(T0 + 2 * DAY).commit_in("svc-a/deep", "a: two");
    r.git(&["checkout", "-q", "main"]);
    r.at(T0 + 2 * DAY + HOUR).commit_in("svc-b", "b: two");
    // A clean merge touches nothing itself: svc-a equals the topic side.
    r.at(T0 + 3 * DAY).merge("topic", "Merge branch 'topic'");
    r.at(T0 + 3 * DAY + HOUR).tag("v2");
    let mut opts = options("tags:v*");
    opts.path_prefix = Some("svc-a".into());
    let (_, o) = run(r.path(), &opts, &mut Db::default(), ImportState::default());
    let d = deployments(&o);
    assert_eq!(shipped(d[1]), Some(sorted(&[&a1, &a2])));
    opts.path_prefix = Some("missing/dir".into());
    let (_, o) = run(r.path(), &opts, &mut Db::default(), ImportState::default());
    assert_eq!(shipped(deployments(&o)[1]), Some(vec![]));
}

#[test]
fn services_of_one_monorepo_each_see_their_own_reverts() {
    let mut r = monorepo();
    let bad = r.at(T0 + DAY).commit_in("svc-b", "b: risky");
    r.at(T0 + DAY + HOUR).commit_in("svc-a", "a: fine");
    r.at(T0 + DAY + 2 * HOUR).tag("v2");
    r.at(T0 + 2 * DAY).revert(&bad);
    r.at(T0 + 2 * DAY + HOUR).tag("v3");
    let mut db = Db::default();
    let service = |name: &str, prefix: &str| {
        let mut o = options("tags:v*");
        o.service = lantern_events::Name::parse(name).unwrap();
        o.path_prefix = Some(prefix.into());
        o
    };
    // Service a reads the history first; service b then reads nothing new
    // from git, but still learns of the revert from the repository's state.
    let mut import = |name, prefix| {
        run(
            r.path(),
            &service(name, prefix),
            &mut db,
            ImportState::default(),
        )
    };
    let (new_a, a) = import("a", "svc-a");
    let (new_b, b) = import("b", "svc-b");
    assert_eq!((new_a.len(), new_b.len()), (5, 0));
    let kinds = |o: &Outcome| -> Vec<Option<DeploymentKind>> {
        deployments(o).iter().map(|d| d.kind).collect()
    };
    assert_eq!(
        kinds(&a),
        vec![None, None, None],
        "a's commits were not reverted"
    );
    assert_eq!(kinds(&b), vec![None, None, Some(DeploymentKind::Rollback)]);
    assert_eq!(
        deployments(&b)[2].rollback_of.as_ref().unwrap().as_str(),
        "git:b:shop:tag:v2"
    );
    assert_eq!(shipped(deployments(&b)[1]), Some(vec![sha(&bad)]));
}

#[test]
fn bare_clones_give_the_same_events_and_shallow_clones_warn() {
    let mut r = TestRepo::new();
    release_history(&mut r);
    let opts = options("tags:v*");
    let (work_changes, work) = run(r.path(), &opts, &mut Db::default(), ImportState::default());
    let dir = tempfile::tempdir().unwrap();
    let bare = clone_into(r.path(), &dir.path().join("shop.git"), &["--bare"]);
    let (bare_changes, bare_out) = run(&bare, &opts, &mut Db::default(), ImportState::default());
    let key = |v: &[Change]| {
        let mut v: Vec<String> = v.iter().map(|c| format!("{c:?}")).collect();
        v.sort();
        v
    };
    assert_eq!(key(&work_changes), key(&bare_changes));
    assert_eq!(work.events, bare_out.events);

    let shallow = clone_into(
        r.path(),
        &dir.path().join("shallow"),
        &["--depth", "2", "--no-single-branch"],
    );
    let (_, o) = run(&shallow, &opts, &mut Db::default(), ImportState::default());
    assert!(
        o.warnings.iter().any(|w| w.contains("shallow")),
        "{:?}",
        o.warnings
    );
}

fn import_error(path: &Path, rule: &str) -> GitError {
    let options = options(rule);
    DeployRefs::read(path, &options.deploys)
        .and_then(|refs| {
            import(
                refs,
                &options,
                Prior::default(),
                &Pseudonymiser::from_key([7; 32]),
                &mut |_| {},
                &mut |_| {},
            )
        })
        .unwrap_err()
}

#[test]
fn mistakes_get_errors_that_say_what_exists() {
    let dir = tempfile::tempdir().unwrap();
    let e = import_error(dir.path(), "tags:v*");
    assert!(matches!(e, GitError::NotARepository { .. }), "{e}");
    let e = import_error(&dir.path().join("nowhere"), "tags:v*");
    assert!(e.to_string().contains("not a git repository"), "{e}");

    let mut r = TestRepo::new();
    r.commit("one");
    let e = import_error(r.path(), "tags:v*");
    assert!(matches!(e, GitError::NoTags), "{e}");
    r.tag("release-1");
    r.tag("release-2");
    let e = import_error(r.path(), "tags:v*").to_string();
    assert!(
        e.contains("no tag matches `v*`") && e.contains("release-1, release-2"),
        "{e}"
    );
    let e = import_error(r.path(), "first-parent:develop").to_string();
    assert!(
        e.contains("no branch `develop`") && e.contains("main"),
        "{e}"
    );
    assert!(
        "branch:main"
            .parse::<DeployRule>()
            .unwrap_err()
            .contains("tags:GLOB")
    );
    assert!("tags:".parse::<DeployRule>().is_err());
}

/// Writes a raw commit object (whatever its headers) and returns its id.
fn raw_commit(r: &TestRepo, body: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("git")
        .args([
            "hash-object",
            "-t",
            "commit",
            "-w",
            "--stdin",
            "--literally",
        ])
        .current_dir(r.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn odd_histories_import_without_a_panic() {
    let mut r = TestRepo::new();
    let base = r.at(T0).commit("base");
    r.at(T0 + HOUR).tag("v1.0.0");
    // An octopus merge of three branches.
    for b in ["x", "y"] {
        r.git(&["checkout", "-q", "-b", b, &base]);
        r.commit(&format!("on {b}"));
    }
    r.git(&["checkout", "-q", "main"]);
    r.at(T0 + DAY).git(&[
        "merge",
        "-q",
        "--no-ff",
        "x",
        "y",
        "-m",
        "Merge branches 'x' and 'y'",
    ]);
    let tree = r.git(&["rev-parse", "HEAD^{tree}"]).trim().to_string();
    let head = r.head();
    // Signed-looking headers with continuation lines, no e-mail, a
    // negative time zone, a Latin-1 message, a mergetag header.
    let mut body = format!(
        "tree {tree}\nparent {head}\nauthor Nobody <> {t} -0230\ncommitter Nobody <> {t} -0230\n\
         encoding ISO-8859-1\nmergetag object {head}\n type commit\n tag inner\n \n inner message\n\
         gpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\n",
        t = T0 + 2 * DAY
    )
    .into_bytes();
    body.extend_from_slice(b"Caf\xe9 (#12)\n\nThis reverts commit zzzz.\n");
    let odd = raw_commit(&r, &body);
    r.git(&["update-ref", "refs/heads/main", &odd]);
    r.at(T0 + 3 * DAY).tag("v1.1.0");
    // A tag of a tree and a tag of a tag of a commit.
    r.git(&["tag", "v0-tree", &tree]);
    r.git(&["tag", "-a", "inner", "-m", "inner", &odd]);
    r.at(T0 + 4 * DAY)
        .git(&["tag", "-a", "v1.2.0", "-m", "outer", "inner"]);

    let (changes, o) = run(
        r.path(),
        &options("tags:v*"),
        &mut Db::default(),
        ImportState::default(),
    );
    assert_eq!(changes.len(), 5);
    let octopus = changes
        .iter()
        .find(|c| c.parents.len() == 3)
        .expect("the octopus merge");
    assert_eq!(octopus.committed_at, at(T0 + DAY));
    let odd_change = changes.iter().find(|c| c.sha == sha(&odd)).unwrap();
    // No e-mail: the name tells contributors apart (as a pseudonym).
    let base_author = changes
        .iter()
        .find(|c| c.sha == sha(&base))
        .unwrap()
        .author
        .clone();
    assert!(odd_change.author.is_some() && odd_change.author != base_author);
    assert_eq!(odd_change.committed_at, at(T0 + 2 * DAY));
    let d = deployments(&o);
    assert_eq!(
        ids(&d),
        tag_ids(&["v1.0.0", "v1.1.0", "v1.2.0"]),
        "the tree's tag leads nowhere; a tag of a tag reaches its commit"
    );
    assert_eq!(d[2].finished_at, at(T0 + 4 * DAY), "the outer tag's time");
    assert_eq!(d[2].sha, Some(sha(&odd)));
    // The odd subject still names a squashed pull request.
    assert!(pull_requests(&o).iter().any(|p| p.id.as_str() == "shop#12"));
}

/// metrics.md orders deployments by time (ties by id) and gives a change
/// to its first deployment in that order: a fix on a maintenance line,
/// merged up into a release, ships with that release even when the
/// maintenance tag that also reaches it is made later, though it comes
/// first in version order.
#[test]
fn what_shipped_follows_deployment_time_not_version_order() {
    let mut r = TestRepo::new();
    r.at(T0).commit("Initial commit");
    r.at(T0 + HOUR).annotated_tag("v1.0.0");
    r.git(&["checkout", "-q", "-b", "maint"]);
    let fix = r.at(T0 + DAY).commit("Fix on the maintenance line");
    r.git(&["checkout", "-q", "main"]);
    let feature = r.at(T0 + 2 * DAY).commit("Feature");
    let up = r.at(T0 + 3 * DAY).merge("maint", "Merge branch 'maint'");
    r.at(T0 + 4 * DAY).annotated_tag("v1.1.0");
    r.git(&["checkout", "-q", "maint"]);
    r.at(T0 + 5 * DAY).annotated_tag("v1.0.1");
    // Two tags in the same second: the id decides (v1.0.2 < v1.2.0).
    r.git(&["checkout", "-q", "main"]);
    let next = r.at(T0 + 6 * DAY).commit("Next");
    r.at(T0 + 7 * DAY).annotated_tag("v1.2.0");
    r.git(&["checkout", "-q", "maint"]);
    r.at(T0 + 7 * DAY).annotated_tag("v1.0.2");

    let o = first_run(r.path(), "tags:v*");
    let d = deployments(&o);
    let labels: Vec<&str> = d
        .iter()
        .map(|d| d.id.as_str().rsplit(':').next().unwrap())
        .collect();
    assert_eq!(labels, ["v1.0.0", "v1.1.0", "v1.0.1", "v1.0.2", "v1.2.0"]);
    assert_eq!(shipped(d[1]), Some(sorted(&[&fix, &feature, &up])));
    // The maintenance tags reach nothing no earlier deployment shipped.
    assert!(
        shipped(d[2]).unwrap_or_default().is_empty(),
        "{:?}",
        shipped(d[2])
    );
    assert!(
        shipped(d[3]).unwrap_or_default().is_empty(),
        "{:?}",
        shipped(d[3])
    );
    assert_eq!(shipped(d[4]), Some(sorted(&[&next])));
}

/// A fix cherry-picked onto a maintenance line is a commit of its own: the
/// maintenance release ships it (its lead time runs from the cherry-pick),
/// while the release of the main line ships the original.
#[test]
fn a_cherry_picked_fix_is_its_own_change() {
    let mut r = TestRepo::new();
    r.at(T0).commit("Initial commit");
    r.at(T0 + HOUR).annotated_tag("v1.0.0");
    r.git(&["branch", "maint"]);
    let fix = r.at(T0 + DAY).commit("Fix the crash");
    r.at(T0 + 2 * DAY).annotated_tag("v1.1.0");
    r.git(&["checkout", "-q", "maint"]);
    r.at(T0 + 3 * DAY).git(&["cherry-pick", "-x", &fix]);
    let picked = r.head();
    assert_ne!(picked, fix);
    r.at(T0 + 4 * DAY).annotated_tag("v1.0.1");

    let o = first_run(r.path(), "tags:v*");
    let d = deployments(&o);
    assert_eq!(d.len(), 3);
    assert_eq!(shipped(d[1]), Some(sorted(&[&fix])));
    assert_eq!(shipped(d[2]), Some(sorted(&[&picked])));
}
