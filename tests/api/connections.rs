//! Refusals keep the connection (issue 18): after a 401, 403 or 429 on a request whose body was
//! never read, the same keep-alive connection carries the next request; a body too large to
//! read gets an explicit `Connection: close`; every refusal, 414 included, is JSON with a request
//! id. Spoken over a raw TCP connection, so that what happens to the connection is visible.

use crate::common::{Backend, TestApp};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;

/// One keep-alive HTTP/1.1 connection to the app.
struct Conn {
    read: BufReader<OwnedReadHalf>,
    write: tokio::net::tcp::OwnedWriteHalf,
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The API's error shape, with a request id.
    fn assert_error(&self, code: &str) {
        assert_eq!(self.body["error"]["code"], code, "{}", self.body);
        assert!(self.body["error"]["message"].is_string(), "{}", self.body);
        assert!(self.header("x-request-id").is_some(), "{:?}", self.headers);
        assert!(
            self.header("content-type")
                .is_some_and(|v| v.starts_with("application/json")),
            "{:?}",
            self.headers
        );
    }
}

impl Conn {
    async fn open(app: &TestApp) -> Conn {
        let addr = app.address.trim_start_matches("http://");
        let (read, write) = TcpStream::connect(addr).await.unwrap().into_split();
        Conn {
            read: BufReader::new(read),
            write,
        }
    }

    /// Sends a request (its body written whole, alongside reading the answer, as a client that
    /// does not wait for `100 Continue` would) and reads the answer. `None`: the connection was
    /// closed instead.
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Vec<u8>,
    ) -> Option<Answer> {
        let len = body.len();
        self.send_declaring(method, path, key, body, len).await
    }

    /// A GET of `path` with `extra` header lines (each ending in CRLF) added to its head.
    async fn get_with(&mut self, path: &str, extra: &str) -> Option<Answer> {
        let request = format!("GET {path} HTTP/1.1\r\nhost: test\r\n{extra}\r\n");
        self.write.write_all(request.as_bytes()).await.ok()?;
        read_answer(&mut self.read).await
    }

    /// As `send`, with a Content-Length that may differ from the body sent.
    async fn send_declaring(
        &mut self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Vec<u8>,
        declared: usize,
    ) -> Option<Answer> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: {declared}\r\n"
        );
        if let Some(k) = key {
            head.push_str(&format!("authorization: Bearer {k}\r\n"));
        }
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(&body);
        let write = &mut self.write;
        let (written, answer) = tokio::join!(
            async move { write.write_all(&request).await },
            read_answer(&mut self.read)
        );
        // A server that answers and closes may leave the write broken: only the answer counts.
        let _ = written;
        answer
    }
}

async fn read_answer(read: &mut BufReader<OwnedReadHalf>) -> Option<Answer> {
    let mut line = String::new();
    if read.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let status: u16 = line.split_whitespace().nth(1)?.parse().ok()?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        read.read_line(&mut line).await.ok()?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (n, v) = l.split_once(':')?;
        headers.push((n.trim().to_owned(), v.trim().to_owned()));
    }
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0u8; len];
    read.read_exact(&mut body).await.ok()?;
    Some(Answer {
        status,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    })
}

/// A 1 MiB JSON body: larger than hyper reads ahead, so a refusal leaves most of it unread.
fn big_body() -> Vec<u8> {
    let mut body = b"{\"pad\":\"".to_vec();
    body.extend(std::iter::repeat_n(b'x', 1 << 20));
    body.extend_from_slice(b"\"}");
    body
}

#[tokio::test]
async fn a_connection_carries_on_after_a_401_and_a_403() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let assessor = app.partner_key("assessor").await;
    let mut conn = Conn::open(&app).await;

    let no_key = conn
        .send("POST", "/v1/scores", None, big_body())
        .await
        .unwrap();
    assert_eq!(no_key.status, 401);
    no_key.assert_error("unauthorized");
    assert_ne!(no_key.header("connection"), Some("close"));

    let wrong_role = conn
        .send("POST", "/v1/scores", Some(&assessor), big_body())
        .await
        .expect("the connection survived the 401");
    assert_eq!(wrong_role.status, 403);
    wrong_role.assert_error("role_not_allowed");

    let health = conn
        .send("GET", "/healthz", None, vec![])
        .await
        .expect("the connection survived the 403");
    assert_eq!(health.status, 200);
    app.stop().await;
}

#[tokio::test]
async fn a_connection_carries_on_after_a_429() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.rate_limit_per_minute = 1).await;
    let bank = app.partner_key("bank").await;
    let mut conn = Conn::open(&app).await;
    let first = conn
        .send("POST", "/v1/scores", Some(&bank), b"{}".to_vec())
        .await
        .unwrap();
    assert_ne!(first.status, 429);
    let limited = conn
        .send("POST", "/v1/scores", Some(&bank), big_body())
        .await
        .unwrap();
    assert_eq!(limited.status, 429);
    limited.assert_error("rate_limited");
    assert!(limited.header("retry-after").is_some());
    let health = conn
        .send("GET", "/healthz", None, vec![])
        .await
        .expect("the connection survived the 429");
    assert_eq!(health.status, 200);
    app.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_an_explicit_close() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.body_limit_bytes = 64 * 1024).await;
    let bank = app.partner_key("bank").await;
    let mut conn = Conn::open(&app).await;
    // Declared beyond what is worth reading to keep the connection; only the head is sent (a
    // client sending on into a closing socket could lose the answer to a reset).
    let refused = conn
        .send_declaring("POST", "/v1/scores", Some(&bank), vec![], 9 << 20)
        .await
        .unwrap();
    assert_eq!(refused.status, 413);
    refused.assert_error("payload_too_large");
    assert_eq!(
        refused.header("connection"),
        Some("close"),
        "not a silent close"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_over_long_uri_is_a_json_414_with_a_request_id() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut conn = Conn::open(&app).await;
    let path = format!("/v1/audit/subjects/{}", "9".repeat(20_000));
    let answer = conn.send("GET", &path, None, vec![]).await.unwrap();
    assert_eq!(answer.status, 414);
    answer.assert_error("uri_too_long");
    app.stop().await;
}

#[tokio::test]
async fn an_oversized_head_is_a_json_431_with_a_request_id_and_keeps_the_connection() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut conn = Conn::open(&app).await;
    // Too many fields (below hyper's own bound of 100, which would answer bare and close).
    let many: String = (0..90).map(|i| format!("x-f{i}: v\r\n")).collect();
    let answer = conn.get_with("/healthz", &many).await.unwrap();
    assert_eq!(answer.status, 431);
    answer.assert_error("headers_too_large");
    assert_eq!(answer.body["error"]["details"]["max_fields"], 80);
    // Too many bytes in few fields.
    let big = format!("cookie: {}\r\n", "a".repeat(40 * 1024));
    let answer = conn.get_with("/healthz", &big).await.unwrap();
    assert_eq!(answer.status, 431);
    answer.assert_error("headers_too_large");
    // The connection carries on, and a head within the bounds is served.
    let fine: String = (0..20).map(|i| format!("x-f{i}: v\r\n")).collect();
    let answer = conn
        .get_with("/healthz", &fine)
        .await
        .expect("the connection survived the 431");
    assert_eq!(answer.status, 200);
    app.stop().await;
}

#[tokio::test]
async fn every_refusal_is_json_with_a_request_id() {
    // One of each status the API refuses with before or around its handlers.
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.body_limit_bytes = 1024;
        s.rate_limit_per_minute = 2;
    })
    .await;
    let bank = app.partner_key("bank").await;
    let tax = app.partner_key("tax_bureau").await;
    let mut conn = Conn::open(&app).await;
    let cases: Vec<(u16, &str, Option<Answer>)> = vec![
        (
            401,
            "unauthorized",
            conn.send("POST", "/v1/scores", None, b"{}".to_vec()).await,
        ),
        (
            403,
            "role_not_allowed",
            conn.send("POST", "/v1/scores", Some(&tax), b"{}".to_vec())
                .await,
        ),
        (
            404,
            "not_found",
            conn.send("GET", "/no/such/route", None, vec![]).await,
        ),
        (
            405,
            "method_not_allowed",
            conn.send("DELETE", "/healthz", None, vec![]).await,
        ),
        (
            413,
            "payload_too_large",
            conn.send("POST", "/v1/scores", Some(&bank), vec![b' '; 2048])
                .await,
        ),
        (
            400,
            "malformed_json",
            conn.send("POST", "/v1/scores", Some(&bank), b"{".to_vec())
                .await,
        ),
        // The 413 came from the body limit before the handler; these two spend the bank's two
        // tokens, and the next request waits.
        (
            422,
            "invalid_body",
            conn.send("POST", "/v1/scores", Some(&bank), b"{}".to_vec())
                .await,
        ),
        (
            429,
            "rate_limited",
            conn.send("POST", "/v1/scores", Some(&bank), b"{}".to_vec())
                .await,
        ),
    ];
    for (status, code, answer) in cases {
        let answer = answer.unwrap_or_else(|| panic!("no answer for {status}"));
        assert_eq!(answer.status, status, "{code}: {}", answer.body);
        answer.assert_error(code);
    }
    app.stop().await;
}
