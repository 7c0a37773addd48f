//! The control plane's side of `POST /invocations`: one HTTP/1.1 exchange over a kept-alive
//! connection to a serving process, driven inside the task that took the client's request.
//!
//! A general client hands each connection to a task of its own and talks to it over channels, so
//! every invocation costs two extra task wake-ups on top of the socket I/O; on a small machine
//! shared with the serving process that is most of what the proxy hop costs. Here the request is
//! written with one vectored write (head and body, the body not copied) and the answer is read
//! into the connection's buffer and parsed with `httparse`. Answers may be framed by
//! `Content-Length`, by chunked transfer coding, or by the server closing the connection
//! (RFC 9112 §6.3); only a connection whose answer was read to its end cleanly goes back to the
//! pool. A connection dropped mid-exchange (the caller went away, a timeout) is closed.

use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

/// The largest answer taken from a serving process (SageMaker's real-time response limit).
pub(crate) const MAX_ANSWER: usize = 6 * 1024 * 1024;
/// The most a status line and headers may take.
const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 64;
/// A chunk-size line longer than this is not a chunk-size line.
const MAX_CHUNK_LINE: usize = 4096;

/// A serving process's answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
}

/// Why an exchange failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The connection failed (refused, reset, closed early, malformed answer): the process is
    /// unreachable on it.
    Io(String),
    /// The answer is larger than [`MAX_ANSWER`].
    TooLarge,
}

/// Where a serving process takes connections.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Tcp(std::net::SocketAddr),
    Unix(std::path::PathBuf),
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    async fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs).await,
            Stream::Unix(s) => s.write_vectored(bufs).await,
        }
    }

    async fn read_buf(&mut self, buf: &mut BytesMut) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read_buf(buf).await,
            Stream::Unix(s) => s.read_buf(buf).await,
        }
    }
}

/// One kept-alive connection to a serving process.
pub(crate) struct Conn {
    stream: Stream,
    buf: BytesMut,
    head: Vec<u8>,
    /// Cleared when the server asked to close, or an answer's end could not be told.
    reusable: bool,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Io(why) => f.write_str(why),
            Failure::TooLarge => write!(f, "the answer is larger than {MAX_ANSWER} bytes"),
        }
    }
}

fn io(what: &str, e: impl std::fmt::Display) -> Failure {
    Failure::Io(format!("{what}: {e}"))
}

impl Conn {
    pub(crate) async fn connect(target: &Target) -> Result<Conn, Failure> {
        let stream = match target {
            Target::Tcp(addr) => {
                let s = TcpStream::connect(addr).await.map_err(|e| io(&format!("connecting to {addr}"), e))?;
                let _ = s.set_nodelay(true);
                Stream::Tcp(s)
            }
            Target::Unix(path) => Stream::Unix(UnixStream::connect(path).await.map_err(|e| io(&format!("connecting to {}", path.display()), e))?),
        };
        Ok(Conn { stream, buf: BytesMut::with_capacity(8 * 1024), head: Vec::with_capacity(256), reusable: true })
    }

    /// Whether the connection can carry another exchange.
    pub(crate) fn reusable(&self) -> bool {
        self.reusable
    }

    /// Whether an idle connection still looks open: the server has not closed it (or sent
    /// anything unasked) as far as the reactor has seen. No system call when nothing happened.
    pub(crate) fn looks_open(&self) -> bool {
        let mut probe = [0u8; 1];
        let r = match &self.stream {
            Stream::Tcp(s) => s.try_read(&mut probe),
            Stream::Unix(s) => s.try_read(&mut probe),
        };
        matches!(r, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }

    /// Sends `POST /invocations` and reads the answer in full.
    pub(crate) async fn invoke(&mut self, host: &str, content_type: &str, accept: Option<&str>, body: &Bytes) -> Result<Answer, Failure> {
        self.reusable = false;
        self.head.clear();
        self.head.extend_from_slice(b"POST /invocations HTTP/1.1\r\nhost: ");
        self.head.extend_from_slice(host.as_bytes());
        self.head.extend_from_slice(b"\r\ncontent-type: ");
        self.head.extend_from_slice(content_type.as_bytes());
        if let Some(a) = accept {
            self.head.extend_from_slice(b"\r\naccept: ");
            self.head.extend_from_slice(a.as_bytes());
        }
        self.head.extend_from_slice(b"\r\ncontent-length: ");
        self.head.extend_from_slice(body.len().to_string().as_bytes());
        self.head.extend_from_slice(b"\r\n\r\n");
        self.write_request(body).await?;
        self.read_answer().await
    }

    async fn write_request(&mut self, body: &[u8]) -> Result<(), Failure> {
        let (mut head, mut body) = (&self.head[..], body);
        while !head.is_empty() || !body.is_empty() {
            let n = self.stream.write_vectored(&[IoSlice::new(head), IoSlice::new(body)]).await.map_err(|e| io("sending the request", e))?;
            if n == 0 {
                return Err(Failure::Io("sending the request: the connection closed".into()));
            }
            let from_head = n.min(head.len());
            head = &head[from_head..];
            body = &body[n - from_head..];
        }
        Ok(())
    }

    /// Reads more bytes into the buffer; `what` names the part being read for the error.
    async fn fill(&mut self, what: &str) -> Result<usize, Failure> {
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(8192);
        }
        self.stream.read_buf(&mut self.buf).await.map_err(|e| io(what, e))
    }

    /// Reads until the buffer holds `need` bytes.
    async fn fill_to(&mut self, need: usize, what: &str) -> Result<(), Failure> {
        if self.buf.len() < need {
            self.buf.reserve(need - self.buf.len());
        }
        while self.buf.len() < need {
            if self.fill(what).await? == 0 {
                return Err(Failure::Io(format!("{what}: the connection closed before the answer ended")));
            }
        }
        Ok(())
    }

    async fn read_answer(&mut self) -> Result<Answer, Failure> {
        // Bytes left from an earlier answer mean the framing was not understood; such a
        // connection never returns to the pool, so the buffer starts empty here.
        self.buf.clear();
        loop {
            let (head_len, head) = loop {
                if let Some(parsed) = parse_head(&self.buf)? {
                    break parsed;
                }
                if self.buf.len() > MAX_HEAD {
                    return Err(Failure::Io(format!("the answer's headers exceed {MAX_HEAD} bytes")));
                }
                if self.fill("reading the answer").await? == 0 {
                    return Err(Failure::Io("the connection closed before an answer".into()));
                }
            };
            self.buf.advance(head_len);
            // Interim answers (100 Continue and the like) come before the real one.
            if (100..200).contains(&head.status) {
                continue;
            }
            let body = match head.framing {
                _ if head.status == 204 || head.status == 304 => Bytes::new(),
                Framing::Length(n) => {
                    if n > MAX_ANSWER as u64 {
                        return Err(Failure::TooLarge);
                    }
                    let n = n as usize;
                    self.fill_to(n, "reading the answer's body").await?;
                    // A copy of the body, so the buffer stays this connection's alone and is
                    // reused by the next exchange instead of being allocated anew each time.
                    let body = Bytes::copy_from_slice(&self.buf[..n]);
                    self.buf.advance(n);
                    body
                }
                Framing::Chunked => self.read_chunked().await?,
                Framing::UntilClose => {
                    while self.fill("reading the answer's body").await? > 0 {
                        if self.buf.len() > MAX_ANSWER {
                            return Err(Failure::TooLarge);
                        }
                    }
                    self.buf.split().freeze()
                }
            };
            self.reusable = head.keep_alive && !matches!(head.framing, Framing::UntilClose) && self.buf.is_empty();
            return Ok(Answer { status: head.status, content_type: head.content_type, body });
        }
    }

    async fn read_chunked(&mut self) -> Result<Bytes, Failure> {
        let mut out = BytesMut::new();
        loop {
            let size = loop {
                match httparse::parse_chunk_size(&self.buf) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        self.buf.advance(used);
                        break size;
                    }
                    Ok(httparse::Status::Partial) if self.buf.len() <= MAX_CHUNK_LINE => {
                        if self.fill("reading a chunk size").await? == 0 {
                            return Err(Failure::Io("the connection closed inside a chunked answer".into()));
                        }
                    }
                    _ => return Err(Failure::Io("the answer's chunked coding is malformed".into())),
                }
            };
            if size == 0 {
                return self.skip_trailers().await.map(|()| out.freeze());
            }
            if out.len() as u64 + size > MAX_ANSWER as u64 {
                return Err(Failure::TooLarge);
            }
            let size = size as usize;
            self.fill_to(size + 2, "reading a chunk").await?;
            if &self.buf[size..size + 2] != b"\r\n" {
                return Err(Failure::Io("a chunk of the answer does not end with CRLF".into()));
            }
            out.extend_from_slice(&self.buf[..size]);
            self.buf.advance(size + 2);
        }
    }

    /// Trailer fields after the last chunk, up to the empty line; their content is not used.
    async fn skip_trailers(&mut self) -> Result<(), Failure> {
        let mut seen = 0usize;
        loop {
            match self.buf.windows(2).position(|w| w == b"\r\n") {
                Some(0) => {
                    self.buf.advance(2);
                    return Ok(());
                }
                Some(i) => {
                    seen += i + 2;
                    self.buf.advance(i + 2);
                }
                None => {
                    if seen + self.buf.len() > MAX_HEAD {
                        return Err(Failure::Io(format!("the answer's trailers exceed {MAX_HEAD} bytes")));
                    }
                    if self.fill("reading the answer's trailers").await? == 0 {
                        return Err(Failure::Io("the connection closed inside the answer's trailers".into()));
                    }
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}

#[derive(Debug)]
struct Head {
    status: u16,
    content_type: Option<String>,
    framing: Framing,
    keep_alive: bool,
}

/// Parses a status line and headers at the start of `buf`: `None` until they are complete.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, Head)>, Failure> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let used = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(Failure::Io(format!("the answer is not HTTP/1.1: {e}"))),
    };
    let status = resp.code.unwrap_or(0);
    let mut keep_alive = resp.version == Some(1);
    // `chunked`: Some(whether chunked is the last coding) once Transfer-Encoding is seen.
    let (mut length, mut chunked, mut content_type) = (None::<u64>, None::<bool>, None);
    for h in resp.headers.iter() {
        let value = std::str::from_utf8(h.value).map_err(|_| Failure::Io(format!("the answer's {} header is not text", h.name)))?.trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            let n: u64 = value.parse().map_err(|_| Failure::Io(format!("the answer's Content-Length {value:?} is not a number")))?;
            if length.is_some_and(|l| l != n) {
                return Err(Failure::Io("the answer has conflicting Content-Length headers".into()));
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked must be the last coding; any other coding leaves the length unknown.
            chunked = Some(value.rsplit(',').next().is_some_and(|c| c.trim().eq_ignore_ascii_case("chunked")));
        } else if h.name.eq_ignore_ascii_case("connection") {
            if value.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")) {
                keep_alive = false;
            }
        } else if h.name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.to_string());
        }
    }
    // Transfer-Encoding overrides Content-Length (RFC 9112 §6.3).
    let framing = match (chunked, length) {
        (Some(true), _) => Framing::Chunked,
        (Some(false), _) | (None, None) => Framing::UntilClose,
        (None, Some(n)) => Framing::Length(n),
    };
    Ok(Some((used, Head { status, content_type, framing, keep_alive })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    /// A server that reads one request (head and `content-length` body) per answer in
    /// `answers`, writes the answer in pieces of `piece` bytes, and reports the requests it saw.
    async fn server(answers: Vec<Vec<u8>>, piece: usize) -> (std::net::SocketAddr, tokio::task::JoinHandle<Vec<Vec<u8>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buf = Vec::new();
            for answer in answers {
                let (end, len) = loop {
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                        let len: usize = head.lines().find_map(|l| l.strip_prefix("content-length: ")).unwrap().parse().unwrap();
                        break (end + 4, len);
                    }
                    let mut b = [0u8; 4096];
                    let n = s.read(&mut b).await.unwrap();
                    assert!(n > 0, "client closed early");
                    buf.extend_from_slice(&b[..n]);
                };
                while buf.len() < end + len {
                    let mut b = [0u8; 4096];
                    let n = s.read(&mut b).await.unwrap();
                    buf.extend_from_slice(&b[..n]);
                }
                seen.push(buf.drain(..end + len).collect());
                for p in answer.chunks(piece) {
                    s.write_all(p).await.unwrap();
                    s.flush().await.unwrap();
                    tokio::task::yield_now().await;
                }
            }
            seen
        });
        (addr, task)
    }

    fn ok(body: &str) -> Vec<u8> {
        format!("HTTP/1.1 200 OK\r\ncontent-type: text/csv\r\ncontent-length: {}\r\n\r\n{body}", body.len()).into_bytes()
    }

    #[tokio::test]
    async fn sends_the_request_and_reads_length_framed_answers_on_one_connection() {
        let (addr, server) = server(vec![ok("3.5\n4.0\n"), ok("1.0\n")], 3).await;
        let mut c = Conn::connect(&Target::Tcp(addr)).await.unwrap();
        let a = c.invoke("h:1", "text/csv", Some("text/csv"), &Bytes::from_static(b"1,2\n3,4\n")).await.unwrap();
        assert_eq!((a.status, a.content_type.as_deref(), &a.body[..]), (200, Some("text/csv"), &b"3.5\n4.0\n"[..]));
        assert!(c.reusable());
        let a = c.invoke("h:1", "application/json", None, &Bytes::from_static(b"{}")).await.unwrap();
        assert_eq!(&a.body[..], b"1.0\n");
        let seen = server.await.unwrap();
        let first = String::from_utf8(seen[0].clone()).unwrap();
        assert!(first.starts_with("POST /invocations HTTP/1.1\r\n"), "{first}");
        assert!(first.contains("\r\nhost: h:1\r\n") && first.contains("\r\ncontent-type: text/csv\r\n") && first.contains("\r\naccept: text/csv\r\n"), "{first}");
        assert!(first.ends_with("\r\ncontent-length: 8\r\n\r\n1,2\n3,4\n"), "{first}");
        assert!(!String::from_utf8_lossy(&seen[1]).contains("accept:"));
    }

    #[tokio::test]
    async fn reads_chunked_answers_with_extensions_and_trailers() {
        let answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/csv\r\n\r\n4;ext=1\r\n3.5\n\r\n4\r\n4.0\n\r\n0\r\nx-trailer: y\r\n\r\n".to_vec();
        let (addr, server) = server(vec![answer, ok("ok")], 5).await;
        let mut c = Conn::connect(&Target::Tcp(addr)).await.unwrap();
        let a = c.invoke("h", "text/csv", None, &Bytes::from_static(b"1,2\n")).await.unwrap();
        assert_eq!(&a.body[..], b"3.5\n4.0\n");
        assert!(c.reusable(), "a chunked answer read to its end leaves the connection usable");
        assert_eq!(&c.invoke("h", "text/csv", None, &Bytes::new()).await.unwrap().body[..], b"ok");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn an_idle_connection_the_server_closed_no_longer_looks_open() {
        let (addr, server) = server(vec![ok("1")], 64).await;
        let mut c = Conn::connect(&Target::Tcp(addr)).await.unwrap();
        c.invoke("h", "text/csv", None, &Bytes::from_static(b"x")).await.unwrap();
        assert!(c.looks_open());
        server.await.unwrap(); // the server task ends, closing its side
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while c.looks_open() {
            assert!(std::time::Instant::now() < deadline, "the close was never seen");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn skips_interim_answers_and_honours_connection_close() {
        let mut answer = b"HTTP/1.1 100 Continue\r\n\r\n".to_vec();
        answer.extend_from_slice(b"HTTP/1.1 500 Internal Server Error\r\nconnection: close\r\ncontent-length: 4\r\n\r\nboom");
        let (addr, server) = server(vec![answer], 7).await;
        let mut c = Conn::connect(&Target::Tcp(addr)).await.unwrap();
        let a = c.invoke("h", "text/csv", None, &Bytes::from_static(b"x")).await.unwrap();
        assert_eq!((a.status, &a.body[..]), (500, &b"boom"[..]));
        assert!(!c.reusable());
        server.await.unwrap();
    }

    #[tokio::test]
    async fn an_answer_without_length_ends_with_the_connection() {
        let (addr, server) = server(vec![b"HTTP/1.1 200 OK\r\n\r\nall of it".to_vec()], 4).await;
        let mut c = Conn::connect(&Target::Tcp(addr)).await.unwrap();
        let body = Bytes::from_static(b"x");
        let call = c.invoke("h", "text/csv", None, &body);
        let (a, _) = tokio::join!(call, server);
        assert_eq!(&a.unwrap().body[..], b"all of it");
        assert!(!c.reusable());
    }

    #[tokio::test]
    async fn refuses_oversized_truncated_and_malformed_answers() {
        let big = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", MAX_ANSWER + 1).into_bytes();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (big, "too large"),
            (b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort".to_vec(), "closed before the answer ended"),
            (b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nabc".to_vec(), "conflicting Content-Length"),
            (b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n".to_vec(), "not a number"),
            (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n".to_vec(), "chunked coding is malformed"),
            (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabcXY".to_vec(), "does not end with CRLF"),
            (b"SMTP ready\r\n\r\n".to_vec(), "not HTTP/1.1"),
        ];
        for (answer, want) in cases {
            let (addr, server) = server(vec![answer], 1 << 20).await;
            let mut c = Conn::connect(&Target::Tcp(addr)).await.unwrap();
            let body = Bytes::from_static(b"x");
            let call = c.invoke("h", "text/csv", None, &body);
            // The server ends (closing the connection) once it has written its answer.
            let (r, _) = tokio::join!(call, server);
            let why = match r {
                Err(Failure::TooLarge) => "too large".to_string(),
                Err(Failure::Io(why)) => why,
                Ok(a) => panic!("accepted {a:?} (wanted {want})"),
            };
            assert!(why.contains(want), "{why} (wanted {want})");
            assert!(!c.reusable());
        }
    }
}
