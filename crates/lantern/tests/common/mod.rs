//! The real binary, run in a temp dir with its own database and config:
//! `./lantern.db`, or with `LANTERN_TEST_STORE=postgres` a fresh database
//! on the server `LANTERN_TEST_POSTGRES` names (given to the binary as
//! `LANTERN_DB`, with the key where SQLite's would be), so that the same
//! tests run on both stores.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

pub struct Env {
    pub dir: tempfile::TempDir,
    postgres: Option<lantern_store::testing::TestDatabase>,
}

impl Env {
    /// On the store `LANTERN_TEST_STORE` names (SQLite by default).
    pub fn new() -> Env {
        let postgres = match std::env::var("LANTERN_TEST_STORE").as_deref() {
            Ok("postgres") => Some(
                lantern_store::testing::database("the CLI suite")
                    .expect("LANTERN_TEST_STORE=postgres needs LANTERN_TEST_POSTGRES=postgres://…"),
            ),
            _ => None,
        };
        Env {
            dir: tempfile::tempdir().unwrap(),
            postgres,
        }
    }

    /// On this PostgreSQL database (several processes on one store).
    pub fn on(database: lantern_store::testing::TestDatabase) -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
            postgres: Some(database),
        }
    }

    /// For what only a SQLite file does (the demo, reading the file's bytes).
    pub fn sqlite() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
            postgres: None,
        }
    }

    /// The PostgreSQL database's address, when the tests run on one.
    pub fn postgres(&self) -> Option<&str> {
        self.postgres.as_ref().map(|db| db.url.as_str())
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, None)
    }

    /// The binary, to run in this environment on its store.
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lantern"));
        command
            .current_dir(self.dir.path())
            .env_remove("LANTERN_DB")
            .env_remove("LANTERN_KEY_FILE")
            .env_remove("LANTERN_CONFIG");
        if let Some(url) = self.postgres() {
            command
                .env("LANTERN_DB", url)
                .env("LANTERN_KEY_FILE", self.path("lantern.db.key"));
        }
        command
    }

    /// The store the binary uses here, to open beside it.
    pub fn location(&self) -> lantern_store::Location {
        match self.postgres() {
            Some(url) => lantern_store::Location::Postgres(url.to_string()),
            None => lantern_store::Location::Sqlite(self.path("lantern.db")),
        }
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        drop(child.stdin.take());
        child.wait_with_output().unwrap()
    }

    /// Everything the store holds, as bytes to search: the SQLite file, or
    /// every table of the PostgreSQL database as text.
    pub fn stored_bytes(&self) -> Vec<u8> {
        match self.postgres() {
            None => std::fs::read(self.path("lantern.db")).unwrap(),
            Some(url) => {
                let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
                let mut out = Vec::new();
                for table in lantern_store::TABLES {
                    let row = client
                        .query_one(
                            &format!(
                                "SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM {table} t"
                            ),
                            &[],
                        )
                        .unwrap();
                    out.extend_from_slice(row.get::<_, String>(0).as_bytes());
                }
                out
            }
        }
    }

    /// (text, flag) rows of a query, on whichever store the tests run on.
    pub fn query_text_flag(&self, sql: &str) -> Vec<(String, bool)> {
        match self.postgres() {
            None => {
                let conn = rusqlite::Connection::open(self.path("lantern.db")).unwrap();
                let mut stmt = conn.prepare(sql).unwrap();
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect()
            }
            Some(url) => postgres::Client::connect(url, postgres::NoTls)
                .unwrap()
                .query(sql, &[])
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
        }
    }

    /// The audit log's actions, oldest first.
    pub fn audit_actions(&self) -> Vec<String> {
        let out = self.run(&["audit", "list", "--json"]);
        let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        log.as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect()
    }

    /// A token made with `lantern token create`, as an operator makes one.
    pub fn token(&self, args: &[&str]) -> String {
        let mut all = vec!["token", "create", "--purpose", "tests of the binary"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// `lantern serve` on a free port; the process and its address.
    pub fn serve(&self) -> (Server, String) {
        let (server, address, _) = self.serve_saying();
        (server, address)
    }

    /// `serve`, and what the server said before it listened.
    pub fn serve_saying(&self) -> (Server, String, Vec<String>) {
        let mut said = Vec::new();
        let mut child = self
            .command()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let server = Server(child);
        let address = loop {
            let line = lines
                .next()
                .expect("the server says where it listens")
                .unwrap();
            if let Some(rest) = line.split("http://").nth(1) {
                break rest.split_whitespace().next().unwrap().to_string();
            }
            assert!(!line.contains("rror"), "the server failed to start: {line}");
            said.push(line);
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        (server, address, said)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// A server process, killed when a test ends early so that no orphan
/// keeps the test harness's output open.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The text of `key` in each object of a JSON array.
pub fn texts<'v>(list: &'v serde_json::Value, key: &str) -> Vec<&'v str> {
    let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
    items.iter().filter_map(|v| v[key].as_str()).collect()
}

/// Asserts that a command said `text` on stderr (and shows what it said).
#[track_caller]
pub fn assert_said(o: &Output, text: &str) {
    let said = stderr(o);
    assert!(said.contains(text), "expected {text:?} in: {said}");
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// One HTTP/1.1 request with a bearer token; (status, body).
pub fn http(address: &str, token: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(address).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// A command line's words: `words("report --format json")`.
pub fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}
