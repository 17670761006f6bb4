//! A synthetic repository with the shape of a busy product repository —
//! pull requests merged as true merges and as squashes, direct commits,
//! release tags (annotated and lightweight) and quick patch releases —
//! written through `git fast-import`, for `lantern bench git`.

use anyhow::{Context, Result, bail};
use lantern::rng::Rng;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};

pub struct Shape {
    pub commits: u64,
    pub seed: u64,
}

/// What was written, to check the import against.
#[derive(Debug, Default)]
pub struct Written {
    pub commits: u64,
    pub merges: u64,
    pub squashes: u64,
    pub tags: u64,
}

const START: i64 = 1_546_300_800; // 2019-01-01T00:00:00Z
const DIRS: u64 = 40;
const FILES_PER_DIR: u64 = 25;

pub fn generate(dir: &Path, shape: &Shape) -> Result<Written> {
    std::fs::create_dir_all(dir)?;
    git(dir, &["init", "-q", "-b", "main"])?;
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .spawn()
        .context("running git fast-import (is git installed?)")?;
    let stdin = child.stdin.take().context("git fast-import's input")?;
    let written = write_stream(BufWriter::with_capacity(1 << 20, stdin), shape)?;
    let status = child.wait()?;
    if !status.success() {
        bail!("git fast-import failed ({status})");
    }
    // A real clone's pack has deltas; fast-import's is loosely packed.
    git(dir, &["repack", "-adq"])?;
    git(dir, &["branch", "-q", "-D", "topic"])?;
    git(dir, &["checkout", "-q", "main"])?;
    Ok(written)
}

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .status()
        .with_context(|| format!("running git {}", args.join(" ")))?;
    if !status.success() {
        bail!("git {} failed ({status})", args.join(" "));
    }
    Ok(())
}

struct Stream<W: Write> {
    out: W,
    rng: Rng,
    next_mark: u64,
    clock: i64,
    written: Written,
}

impl<W: Write> Stream<W> {
    fn commit(
        &mut self,
        branch: &str,
        parents: &[u64],
        authored: i64,
        message: &str,
    ) -> Result<u64> {
        self.next_mark += 1;
        let mark = self.next_mark;
        let author = self.rng.below(200);
        let path = format!(
            "src/module{:02}/file{:02}.rs",
            self.rng.below(DIRS),
            self.rng.below(FILES_PER_DIR)
        );
        let content = format!(
            "// change {mark}\npub fn f{mark}() -> u64 {{\n    {}\n}}\n",
            self.rng.below(1_000_000)
        );
        writeln!(self.out, "commit refs/heads/{branch}\nmark :{mark}")?;
        writeln!(
            self.out,
            "author Dev {author} <dev{author}@example.com> {authored} +0000"
        )?;
        writeln!(
            self.out,
            "committer Dev {author} <dev{author}@example.com> {} +0000",
            self.clock
        )?;
        writeln!(self.out, "data {}\n{message}", message.len())?;
        for (i, p) in parents.iter().enumerate() {
            let verb = if i == 0 { "from" } else { "merge" };
            writeln!(self.out, "{verb} :{p}")?;
        }
        writeln!(
            self.out,
            "M 100644 inline {path}\ndata {}\n{content}",
            content.len()
        )?;
        self.written.commits += 1;
        Ok(mark)
    }

    fn tick(&mut self, max_minutes: u64) -> i64 {
        self.clock += 60 * (1 + self.rng.below(max_minutes)) as i64;
        self.clock
    }

    fn tag(&mut self, name: &str, mark: u64, annotated: bool) -> Result<()> {
        if annotated {
            let message = format!("Release {name}\n");
            writeln!(
                self.out,
                "tag {name}\nfrom :{mark}\ntagger Release Bot <bot@example.com> {} +0000\ndata {}\n{message}",
                self.clock + 600,
                message.len()
            )?;
        } else {
            writeln!(self.out, "reset refs/tags/{name}\nfrom :{mark}\n")?;
        }
        self.written.tags += 1;
        Ok(())
    }
}

fn write_stream<W: Write>(out: W, shape: &Shape) -> Result<Written> {
    let mut s = Stream {
        out,
        rng: Rng::new(shape.seed),
        next_mark: 0,
        clock: START,
        written: Written::default(),
    };
    let mut main = s.commit("main", &[], START, "Initial commit\n")?;
    let (mut minor, mut since_tag, mut pr) = (0u64, 0u64, 0u64);
    while s.written.commits < shape.commits {
        pr += 1;
        let roll = s.rng.below(100);
        if roll < 55 {
            // A pull request merged with a merge commit.
            let branch = "topic";
            let mut tip = main;
            for i in 0..1 + s.rng.below(4) {
                let t = s.tick(30);
                tip = s.commit(branch, &[tip], t, &format!("Work on {pr}, part {i}\n"))?;
            }
            s.tick(240);
            let message =
                format!("Merge pull request #{pr} from acme/feature-{pr}\n\nFeature {pr}\n");
            let at = s.clock;
            main = s.commit("main", &[main, tip], at, &message)?;
            s.written.merges += 1;
        } else if roll < 85 {
            let at = s.tick(240);
            main = s.commit(
                "main",
                &[main],
                at - 3600,
                &format!("Feature {pr} (#{pr})\n"),
            )?;
            s.written.squashes += 1;
        } else {
            let at = s.tick(120);
            main = s.commit("main", &[main], at, &format!("Tidy up {pr}\n"))?;
        }
        since_tag += 1;
        if since_tag >= 15 + s.rng.below(20) {
            since_tag = 0;
            minor += 1;
            let name = format!("v1.{minor}.0");
            let annotated = minor % 2 == 0;
            s.tag(&name, main, annotated)?;
            if s.rng.below(10) == 0 {
                let at = s.tick(600);
                main = s.commit("main", &[main], at, &format!("Fix release {minor}\n"))?;
                s.tag(&format!("v1.{minor}.1"), main, false)?;
            }
        }
    }
    writeln!(s.out, "reset refs/heads/main\nfrom :{main}\n")?;
    s.out.flush()?;
    Ok(s.written)
}
