//! `medbridge serve`: the search page (www/) on 127.0.0.1, served by hyper + axum + tower-http's
//! `ServeFile` (conditional requests, ranges, HEAD), with the page's CSP and privacy headers, an
//! ETag for cheap revalidation, no path that leaves the served roots, and bounds a slow or hostile
//! client cannot exhaust: connections, header bytes, header time, and response write progress.
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use clap::Args;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use medbridge::model::bundle::MANIFEST_FILE;

/// The page's Content-Security-Policy: its own origin only; wasm compilation allowed.
/// `www/index.html` carries the same policy in a meta tag (minus frame-ancestors, which meta cannot set).
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; \
img-src 'self'; style-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// A request's head (request line + headers) must arrive within this time…
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// …and fit in this many bytes (hyper answers 431 beyond).
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// A response write that makes no progress for this long closes the connection (a client that
/// stopped reading a large asset). Not on reads: hyper keeps a read pending while it writes.
const WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Args)]
pub struct ServeArgs {
    /// Directory to serve (the page).
    #[arg(long, default_value = "www")]
    dir: PathBuf,
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Serve /assets/ from this directory instead of DIR/assets.
    #[arg(long)]
    assets: Option<PathBuf>,
    /// Print one line per request on stdout: METHOD PATH STATUS BYTES.
    #[arg(long)]
    log: bool,
    /// Connections served at once; further ones wait in the listen queue until one closes.
    #[arg(long, default_value_t = 2048)]
    max_connections: usize,
}

pub fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
        Some("html") | Some("htm") => "text/html; charset=utf-8",
        Some("js") | Some("mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") | Some("map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") | Some("md") => "text/plain; charset=utf-8",
        Some("ts") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// What is served: the page directory, and the directory /assets/ maps to.
struct Roots {
    dir: PathBuf,
    assets: PathBuf,
    log: bool,
}

/// Map a URL path to a file under the served roots; None for anything that could leave them:
/// `..` (also percent-encoded), backslashes, NUL, and symlinks whose target is outside the root.
fn resolve(roots: &Roots, url_path: &str) -> Option<PathBuf> {
    let path = percent_encoding::percent_decode_str(url_path).decode_utf8().ok()?;
    if path.contains(['\\', '\0']) {
        return None;
    }
    let (root, rest) = match path.strip_prefix("/assets/") {
        Some(rest) => (&roots.assets, rest),
        None => (&roots.dir, path.trim_start_matches('/')),
    };
    let rel = Path::new(rest);
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let mut file = root.join(rel);
    if file.is_dir() {
        file = file.join("index.html");
    }
    let real = file.canonicalize().ok()?;
    (real.starts_with(root.canonicalize().ok()?) && real.is_file()).then_some(real)
}

fn with_headers(mut resp: Response, content_type: &'static str) -> Response {
    let h = resp.headers_mut();
    for (k, v) in [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::CACHE_CONTROL, "no-cache"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    resp
}

fn text(status: StatusCode, body: &'static str) -> Response {
    with_headers((status, body).into_response(), "text/plain; charset=utf-8")
}

async fn respond(roots: &Roots, req: Request) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let Some(file) = resolve(roots, req.uri().path()) else { return text(StatusCode::NOT_FOUND, "not found\n") };
    let Ok(md) = std::fs::metadata(&file) else { return text(StatusCode::NOT_FOUND, "not found\n") };
    // Revalidation (Cache-Control: no-cache) costs a 304, not the file, when it has not changed.
    let mtime = md.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    let etag = format!("\"{:x}-{mtime:x}\"", md.len());
    let etag_value = HeaderValue::from_str(&etag).expect("hex digits and quotes");
    let content_type = mime(&file);
    let matches = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut resp = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let served = ServeFile::new_with_mime(&file, &content_type.parse().expect("our MIME types parse")).oneshot(req).await;
        match served {
            Ok(r) => r.map(Body::new),
            Err(e) => match e {},
        }
    };
    resp.headers_mut().insert(header::ETAG, etag_value);
    with_headers(resp, content_type)
}

async fn handle(State(roots): State<Arc<Roots>>, req: Request) -> Response {
    let (method, target) = (req.method().clone(), req.uri().path().to_string());
    let resp = respond(&roots, req).await;
    if roots.log {
        let status = resp.status().as_u16();
        let bytes = match (status, &method) {
            (200 | 206, &Method::GET) => {
                resp.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok()).unwrap_or(0)
            }
            _ => 0,
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{method} {target} {status} {bytes}");
        let _ = out.flush();
    }
    resp
}

pub fn serve(args: ServeArgs) -> Result<()> {
    if !args.dir.join("index.html").is_file() {
        bail!("{} has no index.html: serve the page directory (default www)", args.dir.display());
    }
    if args.max_connections == 0 {
        bail!("--max-connections must be at least 1");
    }
    let assets = args.assets.clone().unwrap_or_else(|| args.dir.join("assets"));
    for (need, how) in [
        (
            args.dir.join("pkg/medbridge_bg.wasm"),
            "wasm-pack build --target web --release --out-dir www/pkg --no-default-features --features wasm,webgpu",
        ),
        (assets.join(MANIFEST_FILE), "medbridge export-web --out www/assets --index INDEX.mbix"),
    ] {
        if !need.is_file() {
            eprintln!("warning: {} is missing (build it with `{how}`, or run scripts/run.sh); the page will show an error", need.display());
        }
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().context("starting the server runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await.with_context(|| {
            format!("cannot listen on 127.0.0.1:{} (in use? pass another --port, or --port 0 for any free one)", args.port)
        })?;
        let addr: SocketAddr = listener.local_addr()?;
        println!("MedBridge search page: http://{addr}/  (serving {}; only this machine can connect; Ctrl-C stops)", args.dir.display());
        std::io::stdout().flush()?;
        let roots = Arc::new(Roots { dir: args.dir.clone(), assets, log: args.log });
        let app = axum::Router::new().fallback(handle).with_state(roots);
        let slots = Arc::new(tokio::sync::Semaphore::new(args.max_connections));
        loop {
            // A free slot first, then a connection: beyond the bound, clients wait in the listen queue.
            let permit = slots.clone().acquire_owned().await.expect("the semaphore is never closed");
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait for connections to close, keep serving.
                    eprintln!("serve: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let mut io = tokio_io_timeout::TimeoutStream::new(stream);
            io.set_write_timeout(Some(WRITE_STALL_TIMEOUT));
            let service = TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    .max_buf_size(MAX_HEADER_BYTES.max(8192))
                    .serve_connection(TokioIo::new(Box::pin(io)), service);
                // Errors here are the client's (reset, timeout, bad request): nothing to report.
                let _ = conn.await;
                drop(permit);
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_roots() {
        let d = tempfile::tempdir().unwrap();
        let page = d.path().join("www");
        let assets = d.path().join("models");
        std::fs::create_dir_all(&page).unwrap();
        std::fs::create_dir_all(&assets).unwrap();
        std::fs::write(page.join("index.html"), "x").unwrap();
        std::fs::write(page.join("a b.js"), "x").unwrap();
        std::fs::write(assets.join("manifest.json"), "{}").unwrap();
        std::fs::write(d.path().join("secret.txt"), "s").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(d.path().join("secret.txt"), page.join("link.txt")).unwrap();
        let roots = Roots { dir: page.clone(), assets: assets.clone(), log: false };
        let canon = |p: PathBuf| p.canonicalize().unwrap();
        assert_eq!(resolve(&roots, "/").unwrap(), canon(page.join("index.html")));
        assert_eq!(resolve(&roots, "/a%20b.js").unwrap(), canon(page.join("a b.js")));
        assert_eq!(resolve(&roots, "/assets/manifest.json").unwrap(), canon(assets.join("manifest.json")));
        for bad in ["/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/..%5csecret.txt", "/a%00b", "/missing.js", "/%ff"] {
            assert!(resolve(&roots, bad).is_none(), "{bad} must not resolve");
        }
        #[cfg(unix)]
        assert!(resolve(&roots, "/link.txt").is_none(), "a symlink out of the root must not resolve");
        assert_eq!(mime(Path::new("pkg/medbridge_bg.wasm")), "application/wasm");
        assert_eq!(mime(Path::new("worker.js")), "text/javascript; charset=utf-8");
    }
}
