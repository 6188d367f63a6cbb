//! `medbridge serve` over real sockets: headers, revalidation, methods, paths that try to leave the
//! served roots, oversized and slow request heads. No model needed (a tiny page in a temp dir).
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("www");
    std::fs::create_dir_all(page.join("pkg")).unwrap();
    std::fs::create_dir_all(page.join("assets")).unwrap();
    std::fs::write(page.join("index.html"), "<!doctype html><title>t</title>").unwrap();
    std::fs::write(page.join("pkg/medbridge_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(page.join("assets/manifest.json"), "{}").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "secret").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), page.join("escape.txt")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_medbridge"))
        .args(["serve", "--dir", page.to_str().unwrap(), "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start medbridge serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port = line.split("http://127.0.0.1:").nth(1).and_then(|r| r.split('/').next()).and_then(|p| p.parse().ok());
    let port = port.unwrap_or_else(|| panic!("no URL in {line:?}"));
    Server { child, port, _dir: dir }
}

/// One request on a fresh connection; returns (status, lower-cased head, body).
fn request(port: u16, raw: &str) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8_lossy(&buf[..split]).to_lowercase();
    let status = head[9..12].parse().unwrap();
    (status, head, buf[split + 4..].to_vec())
}

fn get(port: u16, path: &str, extra: &str) -> (u16, String, Vec<u8>) {
    request(port, &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra}\r\n"))
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| l.strip_prefix(&format!("{name}: ")))
}

#[test]
fn serves_the_page_with_its_headers_and_revalidation() {
    let srv = start();
    let (status, head, body) = get(srv.port, "/", "");
    assert_eq!(status, 200);
    assert_eq!(body, b"<!doctype html><title>t</title>");
    assert_eq!(header(&head, "content-type"), Some("text/html; charset=utf-8"));
    assert!(header(&head, "content-security-policy").is_some_and(|c| c.contains("default-src 'self'")), "{head}");
    assert_eq!(header(&head, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&head, "referrer-policy"), Some("no-referrer"));
    let (_, wasm_head, _) = get(srv.port, "/pkg/medbridge_bg.wasm", "");
    assert_eq!(header(&wasm_head, "content-type"), Some("application/wasm"));

    let etag = header(&head, "etag").expect("an etag").to_string();
    let (status, _, body) = get(srv.port, "/", &format!("If-None-Match: {etag}\r\n"));
    assert_eq!((status, body.len()), (304, 0), "an unchanged file revalidates with 304");
    let (status, _, _) = get(srv.port, "/", "If-None-Match: \"other\"\r\n");
    assert_eq!(status, 200);

    let (status, head, body) = request(srv.port, "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!((status, body.len()), (200, 0));
    assert_eq!(header(&head, "content-length"), Some("31"));
    let (status, head, _) = request(srv.port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 405);
    assert_eq!(header(&head, "allow"), Some("get, head")); // the head is lower-cased
}

#[test]
fn no_path_leaves_the_served_roots() {
    let srv = start();
    for path in
        ["/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/assets/..%2f..%2fsecret.txt", "/..%5csecret.txt", "/escape.txt"]
    {
        let (status, _, body) = get(srv.port, path, "");
        assert_eq!(status, 404, "{path}");
        assert!(!String::from_utf8_lossy(&body).contains("secret"), "{path} leaked the file");
    }
    let (status, _, body) = get(srv.port, "/assets/manifest.json", "");
    assert_eq!((status, body.as_slice()), (200, b"{}".as_slice()));
}

#[test]
fn oversized_and_slow_request_heads_are_cut_off() {
    let srv = start();
    let big = "a".repeat(64 * 1024);
    let (status, _, _) = get(srv.port, "/", &format!("X-Big: {big}\r\n"));
    assert_eq!(status, 431, "a request head over the bound is refused");

    // Half a request head, then silence: the server closes the connection (header read timeout),
    // and serves other clients meanwhile.
    let mut slow = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let t = Instant::now();
    assert_eq!(get(srv.port, "/", "").0, 200, "a normal client is served while a slow one waits");
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    let waited = t.elapsed();
    assert!(waited < Duration::from_secs(25), "the slow connection was closed after {waited:?}");
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"), "a request head never completed must not be answered with the page");
}
