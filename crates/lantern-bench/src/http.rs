//! The benchmarks' HTTP/1.1 client: one keep-alive connection on a plain
//! `TcpStream`, answers read on the calling thread.
//!
//! Why not reqwest's blocking client: it runs a runtime thread of its own
//! per client and hands every request over to it and back. With 48
//! clients on two cores, those hand-overs took a quarter of the machine
//! in the replica run (`perf -a`), CPU the servers under test then lacked.
//! A load generator should cost as little as it can (wrk is written in C
//! for the same reason).

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

/// One client with one keep-alive connection, holding a token: what a
/// delivery tool or a dashboard reader is.
pub struct Connection {
    address: SocketAddr,
    token: Arc<str>,
    stream: Option<BufReader<TcpStream>>,
    request: Vec<u8>,
}

impl Connection {
    pub fn open(address: SocketAddr, token: &Arc<str>) -> Result<Self> {
        let mut connection = Connection {
            address,
            token: token.clone(),
            stream: None,
            request: Vec::with_capacity(1024),
        };
        connection.connect()?;
        Ok(connection)
    }

    fn connect(&mut self) -> Result<&mut BufReader<TcpStream>> {
        let stream = TcpStream::connect(self.address)
            .with_context(|| format!("{}: cannot connect", self.address))?;
        stream.set_nodelay(true)?;
        Ok(self
            .stream
            .insert(BufReader::with_capacity(64 * 1024, stream)))
    }

    /// Sends one request and reads its whole answer: (status, body). A
    /// connection the server closed while idle is opened again once.
    pub fn request(&mut self, method: &str, path: &str, body: &str) -> Result<(u16, String)> {
        self.request.clear();
        write!(
            self.request,
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n",
            self.address,
            self.token,
            body.len()
        )?;
        self.request.extend_from_slice(body.as_bytes());
        let fresh = self.stream.is_none();
        match self.exchange() {
            Ok(answer) => Ok(answer),
            // Only a connection that took nothing in is tried again: a
            // request the server may have acted on is not sent twice.
            Err(e) if !fresh && e.is::<Stale>() => {
                self.connect()?;
                self.exchange()
                    .with_context(|| format!("{path}: no answer"))
            }
            Err(e) => Err(e.context(format!("{path}: no answer"))),
        }
    }

    fn exchange(&mut self) -> Result<(u16, String)> {
        if self.stream.is_none() {
            self.connect()?;
        }
        let Some(stream) = &mut self.stream else {
            bail!("no connection");
        };
        let answer = exchange(stream, &self.request);
        if !answer.as_ref().is_ok_and(|a| !a.close) {
            self.stream = None;
        }
        answer.map(|a| (a.status, a.body))
    }
}

/// The server had closed the connection before this request.
#[derive(Debug)]
struct Stale;

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the server closed the connection")
    }
}

impl std::error::Error for Stale {}

struct Answer {
    status: u16,
    body: String,
    close: bool,
}

fn exchange(stream: &mut BufReader<TcpStream>, request: &[u8]) -> Result<Answer> {
    stream.get_mut().write_all(request).map_err(|_| Stale)?;
    let mut line = String::new();
    if stream.read_line(&mut line)? == 0 {
        return Err(Stale.into());
    }
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("not an HTTP status line: {line:?}"))?;
    let (mut length, mut chunked, mut close) = (None, false, false);
    loop {
        line.clear();
        if stream.read_line(&mut line)? == 0 {
            bail!("the answer ended in its headers");
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            bail!("not a header: {header:?}");
        };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = Some(value.parse::<usize>()?),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            stream.read_line(&mut line)?;
            let size = line.trim_end().split(';').next().unwrap_or_default();
            let size = usize::from_str_radix(size, 16)
                .with_context(|| format!("not a chunk size: {line:?}"))?;
            let start = body.len();
            body.resize(start + size, 0);
            stream.read_exact(&mut body[start..])?;
            line.clear();
            stream.read_line(&mut line)?;
            if size == 0 {
                break;
            }
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        stream.read_exact(&mut body)?;
    } else {
        stream.read_to_end(&mut body)?;
        close = true;
    }
    let body = String::from_utf8(body).context("the answer is not UTF-8")?;
    Ok(Answer {
        status,
        body,
        close,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-connection server that answers each request with the next
    /// canned answer, and hands back what it was sent.
    fn serve(answers: Vec<&'static str>) -> (SocketAddr, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut seen = String::new();
            for answer in answers {
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    seen.push_str(&line);
                    if let Some(v) = line.strip_prefix("content-length: ") {
                        length = v.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                seen.push_str(std::str::from_utf8(&body).unwrap());
                reader.get_mut().write_all(answer.as_bytes()).unwrap();
            }
            seen
        });
        (address, handle)
    }

    #[test]
    fn reads_sized_and_chunked_answers_on_one_connection() {
        let (address, server) = serve(vec![
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
            "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        ]);
        let mut c = Connection::open(address, &Arc::from("t0k")).unwrap();
        assert_eq!(
            c.request("POST", "/hooks/events", "{}").unwrap(),
            (200, "hello".to_string())
        );
        assert_eq!(
            c.request("GET", "/x", "").unwrap(),
            (404, "abcde".to_string())
        );
        let seen = server.join().unwrap();
        assert!(
            seen.starts_with("POST /hooks/events HTTP/1.1\r\n"),
            "{seen}"
        );
        assert!(seen.contains("authorization: Bearer t0k\r\n"), "{seen}");
        assert!(
            seen.contains("content-length: 2\r\n\r\n{}GET /x HTTP/1.1"),
            "{seen}"
        );
    }

    #[test]
    fn a_garbled_answer_is_an_error_not_a_panic() {
        let (address, _server) = serve(vec!["SPDY nonsense\r\n\r\n"]);
        let mut c = Connection::open(address, &Arc::from("t")).unwrap();
        let err = c.request("GET", "/", "").unwrap_err();
        assert!(
            format!("{err:#}").contains("not an HTTP status line"),
            "{err:#}"
        );
    }
}
