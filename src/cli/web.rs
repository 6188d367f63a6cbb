//! `medbridge export-web` (model bundle + ICD-10 search asset for the page) and `medbridge serve`
//! (a static server for `www/` on 127.0.0.1 with the right MIME types and the page's CSP).
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;

use medbridge::catalog::asset::{self, ASSET_FILE};
use medbridge::catalog::Catalog;
use medbridge::model::bundle::{self, BodyFormat, MANIFEST_FILE};
use medbridge::retrieve::index::Index;

/// The page's Content-Security-Policy: its own origin only; wasm compilation allowed.
/// `www/index.html` carries the same policy in a meta tag (minus frame-ancestors, which meta cannot set).
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; \
img-src 'self'; style-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

#[derive(Args)]
pub struct ExportWebArgs {
    /// Output directory (the page loads it from ./assets/: use www/assets).
    #[arg(long)]
    out: PathBuf,
    /// Body weights: q8_0 (default) or q4_0 (smaller download).
    #[arg(long, default_value = "q8_0")]
    body: String,
    /// An ICD-10 index (`medbridge index --icd10 …`) to ship as the page's catalogue search asset.
    #[arg(long)]
    index: Option<PathBuf>,
    /// The catalogue the index was built from (default models/icd10/catalog.jsonl).
    #[arg(long)]
    catalog: Option<PathBuf>,
}

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
}

fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

pub fn export_web(model_dir: &Path, args: ExportWebArgs) -> Result<()> {
    let body: BodyFormat = args.body.parse()?;
    // Check the inputs before the (slow) model export.
    let index = match &args.index {
        Some(p) => {
            if !p.is_file() {
                bail!("{} does not exist: build it with `medbridge index --icd10 --lang es --out {}`", p.display(), p.display());
            }
            Some(p)
        }
        None => None,
    };
    let catalog_path = args.catalog.clone().unwrap_or_else(|| PathBuf::from(super::DEFAULT_CATALOG));
    if index.is_some() && !catalog_path.is_file() {
        bail!("{} does not exist: build the catalogue with `medbridge catalog`", catalog_path.display());
    }
    // The catalogue asset is built (and a wrong index refused) before anything is written, so a
    // bad --index leaves an existing bundle as it was.
    let asset = match index {
        Some(index_path) => {
            let model_id = medbridge::model::ModelDir::open(model_dir)?.info.model_id;
            let idx = Index::load(index_path, Some(&model_id))?;
            let cat = Catalog::load_jsonl(&catalog_path)?;
            let built = asset::build(&idx, &cat).with_context(|| format!("{} + {}", index_path.display(), catalog_path.display()))?;
            Some((index_path, built))
        }
        None => None,
    };
    let mut manifest = bundle::export_web(model_dir, &args.out, body)?;
    let stale = args.out.join(ASSET_FILE);
    if let Some((index_path, (bytes, meta))) = asset {
        manifest.files.retain(|f| f.name != ASSET_FILE);
        manifest.files.push(bundle::write_entry(&args.out, ASSET_FILE, &bytes)?);
        manifest.version = bundle::version_of(&manifest.files);
        bundle::write_entry(&args.out, MANIFEST_FILE, &serde_json::to_vec_pretty(&manifest)?)?;
        let index_bytes = std::fs::metadata(index_path).map(|m| m.len()).unwrap_or(0);
        eprintln!(
            "catalogue asset {ASSET_FILE}: {} passages, {} codes ({} rows with ancestors) of {}; vectors {} as int8 vs {} as f32 ({:.0} % smaller); file {} (the .mbix index: {})",
            meta.passages,
            meta.codes,
            meta.entries,
            meta.source,
            human(meta.int8_vector_bytes),
            human(meta.f32_vector_bytes),
            100.0 * (1.0 - meta.int8_vector_bytes as f64 / meta.f32_vector_bytes as f64),
            human(bytes.len() as u64),
            human(index_bytes),
        );
    } else if stale.exists() {
        std::fs::remove_file(&stale).with_context(|| format!("removing stale {}", stale.display()))?;
    }
    eprintln!("web bundle {} in {} (version {}):", manifest.model_id, args.out.display(), manifest.version);
    for f in &manifest.files {
        eprintln!("  {:<16} {:>10}  sha256 {}", f.name, human(f.bytes), &f.sha256[..16]);
    }
    eprintln!("  total            {:>10}", human(manifest.total_bytes()));
    Ok(())
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

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Map a URL path to a file under the served roots; None for anything escaping them.
fn resolve(dir: &Path, assets: Option<&Path>, url_path: &str) -> Option<PathBuf> {
    let path = percent_decode(url_path.split(['?', '#']).next().unwrap_or("/"))?;
    let (root, rest) = match (assets, path.strip_prefix("/assets/")) {
        (Some(a), Some(rest)) => (a, rest.to_string()),
        _ => (dir, path.trim_start_matches('/').to_string()),
    };
    let rel = Path::new(&rest);
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let mut file = root.join(rel);
    if file.is_dir() {
        file = file.join("index.html");
    }
    Some(file)
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)
}

fn common_headers(content_type: &str, len: u64) -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", content_type.to_string()),
        ("Content-Length", len.to_string()),
        ("Content-Security-Policy", CSP.to_string()),
        ("Cache-Control", "no-cache".into()),
        ("X-Content-Type-Options", "nosniff".into()),
        ("Referrer-Policy", "no-referrer".into()),
        ("Cross-Origin-Opener-Policy", "same-origin".into()),
        ("Cross-Origin-Resource-Policy", "same-origin".into()),
        ("Connection", "close".into()),
    ]
}

fn handle(mut stream: TcpStream, dir: &Path, assets: Option<&Path>, log: bool) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(());
    }
    // Read the headers (no request bodies are accepted); only If-None-Match matters.
    let mut if_none_match = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.trim().eq_ignore_ascii_case("if-none-match") {
                if_none_match = Some(v.trim().to_string());
            }
        }
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, bytes) = if method != "GET" && method != "HEAD" {
        let body = b"method not allowed\n";
        let mut h = common_headers("text/plain; charset=utf-8", body.len() as u64);
        h.push(("Allow", "GET, HEAD".into()));
        respond(&mut stream, "405 Method Not Allowed", &h, body)?;
        (405, 0)
    } else {
        match resolve(dir, assets, target).filter(|f| f.is_file()) {
            Some(file) => {
                let mut f = std::fs::File::open(&file)?;
                let md = f.metadata()?;
                let len = md.len();
                // Revalidation (Cache-Control: no-cache) costs a 304, not the file, when it has not changed.
                let mtime =
                    md.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_nanos()).unwrap_or(0);
                let etag = format!("\"{len:x}-{mtime:x}\"");
                if if_none_match.as_deref().is_some_and(|v| v.split(',').any(|t| t.trim() == etag)) {
                    let mut h = common_headers(mime(&file), 0);
                    h.retain(|(k, _)| *k != "Content-Length");
                    h.push(("ETag", etag));
                    respond(&mut stream, "304 Not Modified", &h, b"")?;
                    (304, 0)
                } else {
                    let mut h = common_headers(mime(&file), len);
                    h.push(("ETag", etag));
                    respond(&mut stream, "200 OK", &h, b"")?;
                    if method == "GET" {
                        std::io::copy(&mut (&mut f).take(len), &mut stream)?;
                    }
                    (200, len)
                }
            }
            None => {
                let body = b"not found\n";
                respond(&mut stream, "404 Not Found", &common_headers("text/plain; charset=utf-8", body.len() as u64), body)?;
                (404, 0)
            }
        }
    };
    stream.flush()?;
    if log {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{method} {target} {status} {bytes}");
        let _ = out.flush();
    }
    Ok(())
}

pub fn serve(args: ServeArgs) -> Result<()> {
    if !args.dir.join("index.html").is_file() {
        bail!("{} has no index.html: serve the page directory (default www)", args.dir.display());
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
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .with_context(|| format!("cannot listen on 127.0.0.1:{} (in use? pass another --port, or --port 0 for any free one)", args.port))?;
    let addr = listener.local_addr()?;
    println!("MedBridge search page: http://{addr}/  (serving {}; only this machine can connect; Ctrl-C stops)", args.dir.display());
    std::io::stdout().flush()?;
    let dir = std::sync::Arc::new(args.dir.clone());
    let assets = std::sync::Arc::new(args.assets.clone());
    for conn in listener.incoming() {
        let Ok(stream) = conn else { continue };
        let (dir, assets, log) = (dir.clone(), assets.clone(), args.log);
        std::thread::spawn(move || {
            if let Err(e) = handle(stream, &dir, assets.as_deref(), log) {
                if e.kind() != std::io::ErrorKind::BrokenPipe && e.kind() != std::io::ErrorKind::ConnectionReset {
                    eprintln!("serve: {e}");
                }
            }
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_roots() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("index.html"), "x").unwrap();
        assert_eq!(resolve(d.path(), None, "/").unwrap(), d.path().join("index.html"));
        assert_eq!(resolve(d.path(), None, "/a%20b.js?x=1").unwrap(), d.path().join("a b.js"));
        assert!(resolve(d.path(), None, "/../etc/passwd").is_none());
        assert!(resolve(d.path(), None, "/%2e%2e/etc/passwd").is_none());
        assert_eq!(resolve(d.path(), Some(Path::new("/m")), "/assets/manifest.json").unwrap(), Path::new("/m/manifest.json"));
        assert_eq!(mime(Path::new("pkg/medbridge_bg.wasm")), "application/wasm");
        assert_eq!(mime(Path::new("worker.js")), "text/javascript; charset=utf-8");
    }
}
