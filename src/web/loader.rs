//! Fetching the bundle into the page: every file verified against the manifest and kept in the
//! Cache API behind one interface ([`BundleCache`]).
//!
//! `manifest.json` is always revalidated with the server (`cache: "no-cache"`; it is small and is how
//! a new model or index is noticed). Files are cached by content: one cache, [`CACHE_NAME`], holds each
//! file under its URL plus `?sha256=<its hash>`, so a bundle that changes one file (a new catalogue
//! index) makes returning visitors download that file only. A file present with a matching sha256 is
//! used with no network request at all. A missing or damaged copy (length/sha mismatch) is deleted and
//! fetched again (`cache: "no-store"`, verified, then stored). After a successful load, entries the
//! manifest no longer names, and the per-version caches of earlier releases, are deleted. If the
//! manifest cannot be fetched (offline), the copy of it kept in the cache is used. Without the Cache
//! API (insecure context) files are simply fetched every time. A download cut short or failing its
//! sha256 is fetched again (up to [`DOWNLOAD_ATTEMPTS`] times) and nothing unverified is ever cached; a
//! file the cache refuses (quota) is used from memory and reported (`cached: false`, `cacheWarning`).
use std::collections::HashMap;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, CacheStorage, Request, RequestCache, RequestInit, Response};

use super::{js_err, js_err_code};
use crate::model::bundle::{FileEntry, Manifest};

/// Every MedBridge cache's name starts so (earlier releases kept one cache per bundle version).
const CACHE_PREFIX: &str = "medbridge-model-";
/// The one cache of verified files, keyed by URL and content hash.
const CACHE_NAME: &str = "medbridge-model-files";

/// Where a file is kept in the cache: its URL and its content hash (a changed file is a new entry).
pub(crate) fn cache_key(url: &str, entry: &FileEntry) -> String {
    format!("{url}?sha256={}", entry.sha256)
}

pub(crate) fn describe(v: &JsValue) -> String {
    if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    v.as_string().unwrap_or_else(|| format!("{v:?}"))
}

/// The stable `code` of an error made by [`js_err_code`].
fn error_code(e: &JsValue) -> Option<String> {
    Reflect::get(e, &"code".into()).ok().and_then(|c| c.as_string())
}

/// The global scope: a window or a worker (fetch and caches live on both, on different interfaces).
pub(crate) enum Scope {
    Window(web_sys::Window),
    Worker(web_sys::WorkerGlobalScope),
}

impl Scope {
    pub(crate) fn get() -> Result<Self, JsValue> {
        let g = js_sys::global();
        if let Some(w) = g.dyn_ref::<web_sys::Window>() {
            Ok(Scope::Window(w.clone()))
        } else if let Some(w) = g.dyn_ref::<web_sys::WorkerGlobalScope>() {
            Ok(Scope::Worker(w.clone()))
        } else {
            Err(js_err("MedBridge needs a window or a worker global scope"))
        }
    }

    pub(crate) fn fetch(&self, req: &Request) -> Promise {
        match self {
            Scope::Window(w) => w.fetch_with_request(req),
            Scope::Worker(w) => w.fetch_with_request(req),
        }
    }

    /// `None` when the Cache API is unavailable (insecure context, some private modes).
    pub(crate) fn caches(&self) -> Option<CacheStorage> {
        let g = js_sys::global();
        if Reflect::get(&g, &"caches".into()).map(|c| c.is_undefined()).unwrap_or(true) {
            return None;
        }
        match self {
            Scope::Window(w) => w.caches().ok(),
            Scope::Worker(w) => w.caches().ok(),
        }
    }

    pub(crate) fn href(&self) -> String {
        let g = js_sys::global();
        Reflect::get(&g, &"location".into())
            .and_then(|l| Reflect::get(&l, &"href".into()))
            .ok()
            .and_then(|h| h.as_string())
            .unwrap_or_default()
    }
}

/// Resolve `rel` against `base` (absolute URL).
pub(crate) fn resolve(rel: &str, base: &str) -> Result<String, JsValue> {
    Ok(web_sys::Url::new_with_base(rel, base).map_err(|e| js_err(format!("bad URL {rel:?} (base {base:?}): {}", describe(&e))))?.href())
}

/// Where each file came from on this load (for tests and UIs).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileReport {
    pub name: String,
    pub bytes: u64,
    /// "cache", "network", "network-retry" (a download cut short was fetched again) or
    /// "network-after-damaged-cache".
    pub source: String,
    /// Downloads it took (0: from the cache).
    pub attempts: u32,
    /// Kept in the Cache API for the next visit (false: quota exceeded, private mode, no Cache API).
    pub cached: bool,
    /// Time to get it (cache read or download, and verification) …
    pub ms: f64,
    /// … of which checking its sha256.
    pub verify_ms: f64,
}

pub(crate) fn now_ms() -> f64 {
    js_sys::Date::now()
}

pub(crate) struct Progress {
    pub(crate) cb: Option<Function>,
    pub(crate) total: u64,
    pub(crate) done_before: u64,
}

impl Progress {
    pub(crate) fn report(&self, file: &str, file_done: u64, file_total: u64, source: &str, phase: &str) {
        let Some(cb) = &self.cb else { return };
        let o = Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = Reflect::set(&o, &k.into(), &v);
        };
        set("phase", phase.into());
        set("file", file.into());
        set("source", source.into());
        set("fileLoaded", (file_done as f64).into());
        set("fileTotal", (file_total as f64).into());
        set("loaded", ((self.done_before + file_done) as f64).into());
        set("total", (self.total as f64).into());
        // A throwing callback must not break loading.
        let _ = cb.call1(&JsValue::NULL, &o);
    }
}

pub(crate) async fn await_js(p: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(p).await
}

pub(crate) fn request(url: &str, cache: RequestCache) -> Result<Request, JsValue> {
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_cache(cache);
    Request::new_with_str_and_init(url, &init)
}

/// GET `url` and read the body, reporting progress per chunk. Errors carry a code the page
/// switches on: `"offline"` (no response at all), `"fetch-failed"` (an HTTP error status),
/// `"download-interrupted"` (the body stopped half-way).
pub(crate) async fn fetch_bytes(
    scope: &Scope,
    url: &str,
    cache: RequestCache,
    expected: Option<u64>,
    mut on_chunk: impl FnMut(u64),
) -> Result<Vec<u8>, JsValue> {
    let resp: Response = await_js(scope.fetch(&request(url, cache)?))
        .await
        .map_err(|e| js_err_code(format!("could not reach {url} ({}): offline, or the server is down", describe(&e)), "offline"))?
        .dyn_into()?;
    if !resp.ok() {
        return Err(js_err_code(format!("fetching {url} failed: HTTP {} {}", resp.status(), resp.status_text()), "fetch-failed"));
    }
    let interrupted = |e: JsValue| js_err_code(format!("downloading {url} was interrupted: {}", describe(&e)), "download-interrupted");
    let mut buf: Vec<u8> = Vec::with_capacity(expected.unwrap_or(0) as usize);
    match resp.body() {
        Some(stream) => {
            let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().dyn_into()?;
            loop {
                let chunk = await_js(reader.read()).await.map_err(interrupted)?;
                if Reflect::get(&chunk, &"done".into())?.as_bool().unwrap_or(false) {
                    break;
                }
                let value: Uint8Array = Reflect::get(&chunk, &"value".into())?.dyn_into()?;
                let start = buf.len();
                buf.resize(start + value.length() as usize, 0);
                value.copy_to(&mut buf[start..]);
                on_chunk(buf.len() as u64);
            }
        }
        None => {
            let ab = await_js(resp.array_buffer()?).await.map_err(interrupted)?;
            buf = Uint8Array::new(&ab).to_vec();
            on_chunk(buf.len() as u64);
        }
    }
    Ok(buf)
}

pub(crate) async fn cache_get(cache: &Cache, url: &str) -> Result<Option<Vec<u8>>, JsValue> {
    let hit = await_js(cache.match_with_str(url)).await?;
    if hit.is_undefined() || hit.is_null() {
        return Ok(None);
    }
    let resp: Response = hit.dyn_into()?;
    let ab = await_js(resp.array_buffer()?).await?;
    Ok(Some(Uint8Array::new(&ab).to_vec()))
}

pub(crate) async fn cache_put(cache: &Cache, url: &str, bytes: &[u8]) -> Result<(), JsValue> {
    let body = Uint8Array::from(bytes);
    let resp = Response::new_with_opt_buffer_source(Some(&body))?;
    await_js(cache.put_with_str(url, &resp)).await?;
    Ok(())
}

/// Downloads of one file before giving up: a download cut short, or bytes that fail the manifest's
/// length or sha256, are fetched again (nothing unverified is ever kept or cached).
const DOWNLOAD_ATTEMPTS: u32 = 3;

/// One verified file and how it was obtained.
pub(crate) struct Fetched {
    pub(crate) bytes: Vec<u8>,
    pub(crate) source: String,
    pub(crate) attempts: u32,
    /// Why it could not be kept in the Cache API (quota exceeded …), when it came from the network.
    pub(crate) cache_error: Option<String>,
    /// Time spent checking its length and sha256.
    pub(crate) verify_ms: f64,
}

/// sha256 (hex) by the browser's SubtleCrypto — native code, about ten times the wasm sha2 here
/// (1.8 s → 0.2 s for the page's 87 MiB on a cached start) — or None where it is missing (insecure context).
async fn subtle_sha256(bytes: &[u8]) -> Option<String> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok()?;
    let subtle = Reflect::get(&crypto, &"subtle".into()).ok().filter(|s| s.is_object())?;
    let digest: Function = Reflect::get(&subtle, &"digest".into()).ok()?.dyn_into().ok()?;
    let data = Uint8Array::from(bytes); // a copy in JS memory: a view of wasm memory could move while we wait
    let p: Promise = digest.call2(&subtle, &"SHA-256".into(), &data).ok()?.dyn_into().ok()?;
    let hash = Uint8Array::new(&JsFuture::from(p).await.ok()?).to_vec();
    Some(hash.iter().map(|b| format!("{b:02x}")).collect())
}

/// Check `bytes` against the manifest entry (length, then sha256); returns the time it took.
async fn verify(entry: &FileEntry, bytes: &[u8]) -> (crate::Result<()>, f64) {
    let t = now_ms();
    let checked = match entry.check_len(bytes.len()) {
        Err(e) => Err(e),
        Ok(()) => match subtle_sha256(bytes).await {
            Some(hex) => entry.check_sha256(&hex),
            None => entry.verify(bytes),
        },
    };
    (checked, now_ms() - t)
}

/// Get one verified file: from the cache if intact, else from the network (then cached).
pub(crate) async fn get_file(
    scope: &Scope,
    cache: Option<&Cache>,
    url: &str,
    entry: &FileEntry,
    progress: &Progress,
) -> Result<Fetched, JsValue> {
    let mut source = "network";
    let key = cache_key(url, entry);
    if let Some(cache) = cache {
        match cache_get(cache, &key).await {
            Ok(Some(bytes)) => match verify(entry, &bytes).await {
                (Ok(()), verify_ms) => {
                    progress.report(&entry.name, entry.bytes, entry.bytes, "cache", "file");
                    return Ok(Fetched { bytes, source: "cache".into(), attempts: 0, cache_error: None, verify_ms });
                }
                (Err(e), _) => {
                    web_sys::console::warn_1(&format!("medbridge: discarding damaged cached {}: {e}", entry.name).into());
                    let _ = await_js(cache.delete_with_str(&key)).await;
                    source = "network-after-damaged-cache";
                }
            },
            Ok(None) => {}
            Err(e) => web_sys::console::warn_1(&format!("medbridge: cache read of {} failed: {}", entry.name, describe(&e)).into()),
        }
    }
    let mut attempt = 0;
    let (bytes, verify_ms) = loop {
        attempt += 1;
        let result = fetch_bytes(scope, url, RequestCache::NoStore, Some(entry.bytes), |n| {
            progress.report(&entry.name, n, entry.bytes, source, "file")
        })
        .await;
        let last = attempt == DOWNLOAD_ATTEMPTS;
        let problem = match result {
            Ok(bytes) => match verify(entry, &bytes).await {
                (Ok(()), ms) => break (bytes, ms),
                (Err(_), _) if (bytes.len() as u64) < entry.bytes => js_err_code(
                    format!("downloading {url} was cut short ({} of {} bytes)", bytes.len(), entry.bytes),
                    "download-interrupted",
                ),
                (Err(e), _) => {
                    js_err_code(format!("{url}: {e} (the server's files do not match its manifest: re-export the bundle)"), "damaged-file")
                }
            },
            // Offline or an HTTP error: trying again at once would not help.
            Err(e) if error_code(&e).as_deref() != Some("download-interrupted") => return Err(e),
            Err(e) => e,
        };
        if last {
            let msg = format!("{}; tried {DOWNLOAD_ATTEMPTS} times, nothing of it was kept", describe(&problem));
            return Err(js_err_code(msg, &error_code(&problem).unwrap_or_default()));
        }
        web_sys::console::warn_1(&format!("medbridge: {}; downloading it again", describe(&problem)).into());
        source = "network-retry";
    };
    let mut cache_error = None;
    if let Some(cache) = cache {
        if let Err(e) = cache_put(cache, &key, &bytes).await {
            // Quota or private mode: keep going from memory; the page says the copy was not kept.
            web_sys::console::warn_1(&format!("medbridge: could not cache {}: {}", entry.name, describe(&e)).into());
            cache_error = Some(describe(&e));
        }
    }
    Ok(Fetched { bytes, source: source.into(), attempts: attempt, cache_error, verify_ms })
}

/// A bundle's files by name, with a report per file (see [`BundleCache::files`]).
pub(crate) struct BundleFiles {
    pub(crate) files: HashMap<String, Vec<u8>>,
    pub(crate) reports: Vec<FileReport>,
    pub(crate) cache_warning: Option<String>,
}

/// The Cache API store of verified files (absent without the Cache API).
pub(crate) struct BundleCache {
    caches: Option<CacheStorage>,
    cache: Option<Cache>,
}

impl BundleCache {
    /// The manifest at `url`: from the server, or the cached copy when the server is unreachable.
    pub(crate) async fn manifest(scope: &Scope, url: &str) -> Result<(Manifest, Vec<u8>, &'static str), JsValue> {
        let (bytes, source) = match fetch_bytes(scope, url, RequestCache::NoCache, None, |_| {}).await {
            Ok(b) => (b, "network"),
            Err(net_err) => match scope.caches() {
                Some(c) => match cache_get_any(&c, url).await? {
                    Some(b) => (b, "cache"),
                    None => return Err(net_err),
                },
                None => return Err(net_err),
            },
        };
        let manifest = Manifest::from_json_bytes(&bytes).map_err(|e| super::js_error(e.at(url)))?;
        Ok((manifest, bytes, source))
    }

    /// Open the cache (or none, when the Cache API is missing or refuses).
    pub(crate) async fn open(scope: &Scope) -> Self {
        let caches = scope.caches();
        let cache = match &caches {
            Some(c) => match await_js(c.open(CACHE_NAME)).await {
                Ok(v) => v.dyn_into().ok(),
                Err(e) => {
                    web_sys::console::warn_1(&format!("medbridge: Cache API unavailable: {}", describe(&e)).into());
                    None
                }
            },
            None => None,
        };
        Self { caches, cache }
    }

    pub(crate) fn available(&self) -> bool {
        self.cache.is_some()
    }

    /// One verified file: from the cache if intact, else from the network (then cached).
    pub(crate) async fn file(&self, scope: &Scope, url: &str, entry: &FileEntry, progress: &Progress) -> Result<Fetched, JsValue> {
        get_file(scope, self.cache.as_ref(), url, entry, progress).await
    }

    /// Every file of `entries` (relative to `base`), verified, with how each was obtained and the first
    /// reason one could not be kept for the next visit.
    pub(crate) async fn files(
        &self,
        scope: &Scope,
        base: &str,
        entries: &[FileEntry],
        progress: &mut Progress,
    ) -> Result<BundleFiles, JsValue> {
        let mut out = BundleFiles { files: HashMap::new(), reports: Vec::new(), cache_warning: None };
        for entry in entries {
            let t = now_ms();
            let url = resolve(&entry.name, base)?;
            let got = self.file(scope, &url, entry, progress).await?;
            progress.done_before += entry.bytes;
            if let Some(e) = &got.cache_error {
                out.cache_warning.get_or_insert(format!("{}: {e}", entry.name));
            }
            out.reports.push(FileReport {
                name: entry.name.clone(),
                bytes: entry.bytes,
                source: got.source,
                attempts: got.attempts,
                cached: self.available() && got.cache_error.is_none(),
                ms: now_ms() - t,
                verify_ms: got.verify_ms,
            });
            out.files.insert(entry.name.clone(), got.bytes);
        }
        Ok(out)
    }

    /// Keep `bytes` under `url` (quota or private mode: silently not).
    pub(crate) async fn put(&self, url: &str, bytes: &[u8]) {
        if let Some(c) = &self.cache {
            let _ = cache_put(c, url, bytes).await;
        }
    }

    /// Delete what the bundle at `base` no longer uses: its cached files the manifest does not name (keys
    /// under `base` other than `keep`, e.g. the previous catalogue index; another bundle of the same site
    /// keeps its own) and the per-version caches of earlier releases. Returns what was deleted (cache
    /// names and entry URLs).
    pub(crate) async fn remove_stale(&self, base: &str, keep: &[String]) -> Vec<String> {
        let mut deleted = Vec::new();
        let (Some(cs), Some(cache)) = (&self.caches, &self.cache) else { return deleted };
        if let Ok(names) = await_js(cs.keys()).await {
            for k in Array::from(&names).iter().filter_map(|k| k.as_string()) {
                if k.starts_with(CACHE_PREFIX) && k != CACHE_NAME && await_js(cs.delete(&k)).await.is_ok() {
                    deleted.push(k);
                }
            }
        }
        if let Ok(requests) = await_js(cache.keys()).await {
            for req in Array::from(&requests).iter().filter_map(|r| r.dyn_into::<Request>().ok()) {
                let url = req.url();
                if url.starts_with(base) && !keep.contains(&url) && await_js(cache.delete_with_request(&req)).await.is_ok() {
                    deleted.push(url);
                }
            }
        }
        deleted
    }
}

/// A response stored under `url` in any cache of the storage.
async fn cache_get_any(caches: &CacheStorage, url: &str) -> Result<Option<Vec<u8>>, JsValue> {
    let hit = await_js(caches.match_with_str(url)).await.unwrap_or(JsValue::UNDEFINED);
    if hit.is_undefined() || hit.is_null() {
        return Ok(None);
    }
    let resp: Response = hit.dyn_into()?;
    Ok(Some(Uint8Array::new(&await_js(resp.array_buffer()?).await?).to_vec()))
}
