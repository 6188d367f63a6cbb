//! The wasm-bindgen API (feature `wasm`, target wasm32): load the model bundle into a page or worker
//! and embed text locally — nothing is sent anywhere, the page fetches only its own static files.
//!
//! ```js
//! import init, { MedBridge } from "./pkg/medbridge.js";
//! await init();
//! const mb = await MedBridge.load("./model/", (p) => console.log(p), { webgpu: true });
//! mb.backend();                                   // "webgpu" | "cpu"
//! const vecs = await mb.embed(["dolor de cabeza"], "query");   // Float32Array[]
//! ```
//!
//! Caching: `manifest.json` is always revalidated with the server (`cache: "no-cache"`; it is small and
//! is how a new model is noticed). Each model file is looked up in the Cache API under the cache
//! `medbridge-model-<manifest.version>` first and, if present and its sha256 matches the manifest, used
//! with no network request at all. A missing or damaged copy (length/sha mismatch) is deleted and
//! fetched again (`cache: "no-store"`, verified, then stored). After a successful load, caches of
//! other versions are deleted. If the manifest cannot be fetched (offline), the copy of it kept in the
//! cache is used. Without the Cache API (insecure context) files are simply fetched every time.
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Array, Float32Array, Function, Object, Promise, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, CacheStorage, Request, RequestCache, RequestInit, Response};

use crate::bundle::{load_bundle_bytes, FileEntry, Manifest, MANIFEST_FILE};
use crate::catalog_asset::{CatalogAsset, ASSET_FILE};
use crate::docs::{ChunkOptions, DocIndex, Document};
use crate::encode::{Encoder, Kind};
use crate::model::ModelInfo;
use crate::tokenize::Tokenizer;

const CACHE_PREFIX: &str = "medbridge-model-";

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Install a panic hook that writes the panic message to `console.error` and keeps it for
/// [`last_panic`]. Called by [`MedBridge::load`]; idempotent.
#[wasm_bindgen(js_name = installPanicHook)]
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let msg = format!("medbridge panicked: {info}");
            web_sys::console::error_1(&JsValue::from_str(&msg));
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(msg));
        }))
    });
}

/// The message of the last Rust panic (after a `RuntimeError: unreachable` from a call), if any.
#[wasm_bindgen(js_name = lastPanic)]
pub fn last_panic() -> Option<String> {
    LAST_PANIC.with(|p| p.borrow().clone())
}

fn js_err(msg: impl std::fmt::Display) -> JsValue {
    js_sys::Error::new(&msg.to_string()).into()
}

fn describe(v: &JsValue) -> String {
    if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    v.as_string().unwrap_or_else(|| format!("{v:?}"))
}

/// The global scope: a window or a worker (fetch and caches live on both, on different interfaces).
enum Scope {
    Window(web_sys::Window),
    Worker(web_sys::WorkerGlobalScope),
}

impl Scope {
    fn get() -> Result<Self, JsValue> {
        let g = js_sys::global();
        if let Some(w) = g.dyn_ref::<web_sys::Window>() {
            Ok(Scope::Window(w.clone()))
        } else if let Some(w) = g.dyn_ref::<web_sys::WorkerGlobalScope>() {
            Ok(Scope::Worker(w.clone()))
        } else {
            Err(js_err("MedBridge needs a window or a worker global scope"))
        }
    }

    fn fetch(&self, req: &Request) -> Promise {
        match self {
            Scope::Window(w) => w.fetch_with_request(req),
            Scope::Worker(w) => w.fetch_with_request(req),
        }
    }

    /// `None` when the Cache API is unavailable (insecure context, some private modes).
    fn caches(&self) -> Option<CacheStorage> {
        let g = js_sys::global();
        if Reflect::get(&g, &"caches".into()).map(|c| c.is_undefined()).unwrap_or(true) {
            return None;
        }
        match self {
            Scope::Window(w) => w.caches().ok(),
            Scope::Worker(w) => w.caches().ok(),
        }
    }

    fn href(&self) -> String {
        let g = js_sys::global();
        Reflect::get(&g, &"location".into())
            .and_then(|l| Reflect::get(&l, &"href".into()))
            .ok()
            .and_then(|h| h.as_string())
            .unwrap_or_default()
    }
}

/// Resolve `rel` against `base` (absolute URL).
fn resolve(rel: &str, base: &str) -> Result<String, JsValue> {
    Ok(web_sys::Url::new_with_base(rel, base).map_err(|e| js_err(format!("bad URL {rel:?} (base {base:?}): {}", describe(&e))))?.href())
}

/// Where each file came from on this load (for tests and UIs).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileReport {
    pub name: String,
    pub bytes: u64,
    /// "cache", "network", or "network-after-damaged-cache".
    pub source: String,
    pub ms: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadReport {
    pub version: String,
    pub model_id: String,
    pub manifest_source: String,
    pub cache_available: bool,
    pub files: Vec<FileReport>,
    pub deleted_caches: Vec<String>,
    pub backend: String,
    pub gpu_status: String,
    pub fetch_ms: f64,
    pub build_ms: f64,
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

struct Progress {
    cb: Option<Function>,
    total: u64,
    done_before: u64,
}

impl Progress {
    fn report(&self, file: &str, file_done: u64, file_total: u64, source: &str, phase: &str) {
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

async fn await_js(p: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(p).await
}

fn request(url: &str, cache: RequestCache) -> Result<Request, JsValue> {
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_cache(cache);
    Request::new_with_str_and_init(url, &init)
}

/// GET `url` and read the body, reporting progress per chunk.
async fn fetch_bytes(scope: &Scope, url: &str, cache: RequestCache, expected: Option<u64>, mut on_chunk: impl FnMut(u64)) -> Result<Vec<u8>, JsValue> {
    let resp: Response = await_js(scope.fetch(&request(url, cache)?))
        .await
        .map_err(|e| js_err(format!("fetching {url} failed: {}", describe(&e))))?
        .dyn_into()?;
    if !resp.ok() {
        return Err(js_err(format!("fetching {url} failed: HTTP {} {}", resp.status(), resp.status_text())));
    }
    let mut buf: Vec<u8> = Vec::with_capacity(expected.unwrap_or(0) as usize);
    match resp.body() {
        Some(stream) => {
            let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().dyn_into()?;
            loop {
                let chunk = await_js(reader.read()).await.map_err(|e| js_err(format!("reading {url} failed: {}", describe(&e))))?;
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
            let ab = await_js(resp.array_buffer()?).await?;
            buf = Uint8Array::new(&ab).to_vec();
            on_chunk(buf.len() as u64);
        }
    }
    Ok(buf)
}

async fn cache_get(cache: &Cache, url: &str) -> Result<Option<Vec<u8>>, JsValue> {
    let hit = await_js(cache.match_with_str(url)).await?;
    if hit.is_undefined() || hit.is_null() {
        return Ok(None);
    }
    let resp: Response = hit.dyn_into()?;
    let ab = await_js(resp.array_buffer()?).await?;
    Ok(Some(Uint8Array::new(&ab).to_vec()))
}

async fn cache_put(cache: &Cache, url: &str, bytes: &[u8]) -> Result<(), JsValue> {
    let body = Uint8Array::from(bytes);
    let resp = Response::new_with_opt_buffer_source(Some(&body))?;
    await_js(cache.put_with_str(url, &resp)).await?;
    Ok(())
}

/// Get one verified file: from the cache if intact, else from the network (then cached).
async fn get_file(scope: &Scope, cache: Option<&Cache>, url: &str, entry: &FileEntry, progress: &Progress) -> Result<(Vec<u8>, String), JsValue> {
    let mut source = "network";
    if let Some(cache) = cache {
        match cache_get(cache, url).await {
            Ok(Some(bytes)) => match entry.verify(&bytes) {
                Ok(()) => {
                    progress.report(&entry.name, entry.bytes, entry.bytes, "cache", "file");
                    return Ok((bytes, "cache".into()));
                }
                Err(e) => {
                    web_sys::console::warn_1(&format!("medbridge: discarding damaged cached {}: {e}", entry.name).into());
                    let _ = await_js(cache.delete_with_str(url)).await;
                    source = "network-after-damaged-cache";
                }
            },
            Ok(None) => {}
            Err(e) => web_sys::console::warn_1(&format!("medbridge: cache read of {} failed: {}", entry.name, describe(&e)).into()),
        }
    }
    let bytes = fetch_bytes(scope, url, RequestCache::NoStore, Some(entry.bytes), |n| progress.report(&entry.name, n, entry.bytes, source, "file")).await?;
    entry
        .verify(&bytes)
        .map_err(|e| js_err(format!("{url}: {e} (the server's files do not match its manifest: re-export the bundle)")))?;
    if let Some(cache) = cache {
        if let Err(e) = cache_put(cache, url, &bytes).await {
            // Quota or private mode: keep going, uncached.
            web_sys::console::warn_1(&format!("medbridge: could not cache {}: {}", entry.name, describe(&e)).into());
        }
    }
    Ok((bytes, source.into()))
}

#[cfg(feature = "webgpu")]
type Gpu = crate::gpu::GpuEncoder;
#[cfg(not(feature = "webgpu"))]
type Gpu = ();

struct Inner {
    info: ModelInfo,
    /// Only when the GPU runs (the CPU encoder owns its own).
    tokenizer: Option<Tokenizer>,
    cpu: Option<Encoder>,
    #[allow(dead_code)]
    gpu: Option<Gpu>,
    backend: &'static str,
    report: LoadReport,
    /// The ICD-10 search asset, when the bundle has one.
    catalog: Option<CatalogAsset>,
    /// The user's documents (added in this page, or restored from IndexedDB by the page).
    docs: RefCell<DocIndex>,
}

/// A loaded encoder. Create with `MedBridge.load(baseUrl, onProgress?, options?)`.
#[wasm_bindgen]
pub struct MedBridge {
    inner: Rc<Inner>,
}

/// `navigator.gpu.requestAdapter()` from JS: (is a software fallback adapter, "vendor architecture").
#[cfg(feature = "webgpu")]
async fn adapter_probe() -> Option<(bool, String)> {
    let g = js_sys::global();
    let nav = Reflect::get(&g, &"navigator".into()).ok()?;
    let gpu = Reflect::get(&nav, &"gpu".into()).ok()?;
    if gpu.is_undefined() || gpu.is_null() {
        return None;
    }
    let req: Function = Reflect::get(&gpu, &"requestAdapter".into()).ok()?.dyn_into().ok()?;
    let p: Promise = req.call0(&gpu).ok()?.dyn_into().ok()?;
    let a = JsFuture::from(p).await.ok()?;
    if a.is_null() || a.is_undefined() {
        return None;
    }
    let info = Reflect::get(&a, &"info".into()).unwrap_or(JsValue::UNDEFINED);
    let flag = |o: &JsValue| if o.is_object() { Reflect::get(o, &"isFallbackAdapter".into()).ok().and_then(|v| v.as_bool()) } else { None };
    let fallback = flag(&info).or_else(|| flag(&a)).unwrap_or(false);
    let s = |k: &str| if info.is_object() { Reflect::get(&info, &k.into()).ok().and_then(|v| v.as_string()).unwrap_or_default() } else { String::new() };
    Some((fallback, format!("{} {}", s("vendor"), s("architecture")).trim().to_string()))
}

#[wasm_bindgen]
impl MedBridge {
    /// Fetch (or take from the cache), verify and load the bundle at `base_url` (a directory URL,
    /// relative to the page, holding `manifest.json`). `on_progress({phase, file, source, fileLoaded,
    /// fileTotal, loaded, total})` is called as bytes arrive. `options.webgpu`: absent or "auto" = WebGPU on
    /// a hardware adapter, else CPU; `true` = WebGPU on any adapter (software fallback too); `false` = CPU.
    pub async fn load(base_url: String, on_progress: Option<Function>, options: Option<Object>) -> Result<MedBridge, JsValue> {
        let options: JsValue = options.map(JsValue::from).unwrap_or(JsValue::UNDEFINED);
        install_panic_hook();
        let t0 = now_ms();
        let scope = Scope::get()?;
        let base = if base_url.ends_with('/') { base_url } else { format!("{base_url}/") };
        let base = resolve(&base, &scope.href())?;
        let manifest_url = resolve(MANIFEST_FILE, &base)?;
        let caches = scope.caches();

        // The manifest: revalidated with the server; the cached copy only when the server is unreachable.
        let (manifest_bytes, manifest_source) = match fetch_bytes(&scope, &manifest_url, RequestCache::NoCache, None, |_| {}).await {
            Ok(b) => (b, "network"),
            Err(net_err) => {
                let cached = match &caches {
                    Some(c) => {
                        let hit = await_js(c.match_with_str(&manifest_url)).await.unwrap_or(JsValue::UNDEFINED);
                        if hit.is_undefined() {
                            None
                        } else {
                            let resp: Response = hit.dyn_into()?;
                            Some(Uint8Array::new(&await_js(resp.array_buffer()?).await?).to_vec())
                        }
                    }
                    None => None,
                };
                match cached {
                    Some(b) => (b, "cache"),
                    None => return Err(net_err),
                }
            }
        };
        let manifest = Manifest::from_json_bytes(&manifest_bytes).map_err(|e| js_err(format!("{manifest_url}: {e}")))?;

        let cache_name = format!("{CACHE_PREFIX}{}", manifest.version);
        let cache: Option<Cache> = match &caches {
            Some(c) => match await_js(c.open(&cache_name)).await {
                Ok(v) => v.dyn_into().ok(),
                Err(e) => {
                    web_sys::console::warn_1(&format!("medbridge: Cache API unavailable: {}", describe(&e)).into());
                    None
                }
            },
            None => None,
        };

        let mut progress = Progress { cb: on_progress, total: manifest.total_bytes(), done_before: 0 };
        let mut files = HashMap::new();
        let mut file_reports = Vec::new();
        for entry in &manifest.files {
            let t = now_ms();
            let url = resolve(&entry.name, &base)?;
            let (bytes, source) = get_file(&scope, cache.as_ref(), &url, entry, &progress).await?;
            progress.done_before += entry.bytes;
            file_reports.push(FileReport { name: entry.name.clone(), bytes: entry.bytes, source, ms: now_ms() - t });
            files.insert(entry.name.clone(), bytes);
        }
        if let Some(cache) = &cache {
            let _ = cache_put(cache, &manifest_url, &manifest_bytes).await;
        }
        let fetch_ms = now_ms() - t0;
        progress.report("", 0, 0, "", "build");

        let t1 = now_ms();
        let (info, tokenizer, tensors) = load_bundle_bytes(&manifest, &files).map_err(js_err)?;
        let catalog = match files.remove(ASSET_FILE) {
            Some(bytes) => {
                progress.report(ASSET_FILE, 0, 0, "", "index");
                Some(CatalogAsset::from_bytes(&bytes, Some(&manifest.model_id)).map_err(js_err)?)
            }
            None => None,
        };
        drop(files);

        // options.webgpu: true = any adapter (software fallback too), false = CPU, absent/"auto" = a
        // hardware adapter only (a software fallback adapter, e.g. SwiftShader, is far slower than the CPU path).
        let webgpu_opt = if options.is_object() { Reflect::get(&options, &"webgpu".into()).unwrap_or(JsValue::UNDEFINED) } else { JsValue::UNDEFINED };
        let want_gpu = webgpu_opt.as_bool();
        if !(webgpu_opt.is_undefined() || webgpu_opt.is_null() || want_gpu.is_some() || webgpu_opt.as_string().as_deref() == Some("auto")) {
            return Err(js_err("options.webgpu must be true, false or \"auto\""));
        }
        #[allow(unused_mut)]
        let mut gpu: Option<Gpu> = None;
        #[allow(unused_assignments, unused_mut)]
        let mut gpu_status = String::from("not built: compile with --features wasm,webgpu");
        #[cfg(feature = "webgpu")]
        {
            let probe = adapter_probe().await;
            if want_gpu == Some(false) {
                gpu_status = "disabled by option (webgpu: false)".into();
            } else if probe.is_none() {
                gpu_status = "no WebGPU adapter (navigator.gpu missing or requestAdapter() returned null)".into();
            } else if want_gpu.is_none() && probe.as_ref().is_some_and(|p| p.0) {
                gpu_status = format!(
                    "software fallback adapter ({}) skipped: slower than the CPU path; pass webgpu: true to force",
                    probe.as_ref().map(|p| p.1.as_str()).unwrap_or("")
                );
            } else {
                let fmt = match manifest.body {
                    crate::bundle::BodyFormat::Q8_0 => crate::gpu::WeightFormat::Q8_0,
                    crate::bundle::BodyFormat::Q4_0 => crate::gpu::WeightFormat::Q4_0,
                };
                match crate::gpu::GpuEncoder::new_default(&info.config, &tensors, fmt).await {
                    Ok(Some(g)) => {
                        gpu = Some(g);
                        let (fallback, desc) = probe.unwrap_or_default();
                        gpu_status = format!("ok ({desc}{})", if fallback { ", software fallback adapter" } else { "" });
                    }
                    Ok(None) => gpu_status = "no WebGPU adapter (requestAdapter() returned null)".into(),
                    Err(e) => {
                        gpu_status = format!("WebGPU initialisation failed: {e}");
                        web_sys::console::warn_1(&format!("medbridge: {gpu_status}; using the CPU path").into());
                    }
                }
            }
        }
        #[cfg(not(feature = "webgpu"))]
        let _ = want_gpu;
        let (cpu, tokenizer) = if gpu.is_none() {
            (Some(Encoder::from_parts(info.clone(), tokenizer, tensors, &candle_core::Device::Cpu).map_err(js_err)?), None)
        } else {
            drop(tensors);
            (None, Some(tokenizer))
        };
        let backend = if gpu.is_some() { "webgpu" } else { "cpu" };

        // Drop caches of other bundle versions (old models) now that this one is complete.
        let mut deleted = Vec::new();
        if let (Some(cs), Some(_)) = (&caches, &cache) {
            if let Ok(keys) = await_js(cs.keys()).await {
                for k in Array::from(&keys).iter().filter_map(|k| k.as_string()) {
                    if k.starts_with(CACHE_PREFIX) && k != cache_name && await_js(cs.delete(&k)).await.is_ok() {
                        deleted.push(k);
                    }
                }
            }
        }

        let report = LoadReport {
            version: manifest.version.clone(),
            model_id: manifest.model_id.clone(),
            manifest_source: manifest_source.into(),
            cache_available: cache.is_some(),
            files: file_reports,
            deleted_caches: deleted,
            backend: backend.into(),
            gpu_status,
            fetch_ms,
            build_ms: now_ms() - t1,
        };
        let docs = RefCell::new(DocIndex::new(&info.model_id, info.config.hidden_size));
        Ok(MedBridge { inner: Rc::new(Inner { info, tokenizer, cpu, gpu, backend, report, catalog, docs }) })
    }

    /// "webgpu" or "cpu".
    pub fn backend(&self) -> String {
        self.inner.backend.into()
    }

    /// Why WebGPU is (not) used: "ok", "disabled by option …", "no WebGPU adapter …", "not built …".
    #[wasm_bindgen(js_name = gpuStatus)]
    pub fn gpu_status(&self) -> String {
        self.inner.report.gpu_status.clone()
    }

    /// Vector length (384 for e5-small).
    pub fn dim(&self) -> usize {
        self.inner.info.config.hidden_size
    }

    #[wasm_bindgen(js_name = modelId)]
    pub fn model_id(&self) -> String {
        self.inner.info.model_id.clone()
    }

    /// The bundle version (cache key).
    pub fn version(&self) -> String {
        self.inner.report.version.clone()
    }

    /// Where each file came from and timings: `{version, modelId, manifestSource, cacheAvailable,
    /// files: [{name, bytes, source, ms}], deletedCaches, backend, gpuStatus, fetchMs, buildMs}`.
    #[wasm_bindgen(js_name = loadReport)]
    pub fn load_report(&self) -> Result<JsValue, JsValue> {
        serde_wasm_bindgen::to_value(&self.inner.report).map_err(|e| js_err(e))
    }

    /// Token ids of `kind`'s prefix + text (with `<s>`/`</s>`), as the encoder sees them.
    pub fn tokenize(&self, text: String, kind: String) -> Result<Vec<u32>, JsValue> {
        let kind: Kind = kind.parse().map_err(js_err)?;
        Ok(self.inner.tok().encode(&kind.apply(&text)).map_err(js_err)?.ids)
    }

    /// Embed `texts` (`kind`: "query" | "passage" | "raw") → `Promise<Float32Array[]>`, L2-normalised.
    /// Rejects with an Error (bad kind, GPU failure).
    #[wasm_bindgen(unchecked_return_type = "Promise<Float32Array[]>")]
    pub fn embed(&self, texts: Vec<String>, #[wasm_bindgen(unchecked_param_type = "\"query\" | \"passage\" | \"raw\"")] kind: String) -> Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let kind: Kind = kind.parse().map_err(js_err)?;
            let vectors = inner.embed(&texts, kind).await?;
            let out = Array::new();
            for v in vectors {
                out.push(&Float32Array::from(v.as_slice()));
            }
            Ok(out.into())
        })
    }
}

impl Inner {
    fn tok(&self) -> &Tokenizer {
        match (&self.tokenizer, &self.cpu) {
            (Some(t), _) => t,
            (None, Some(c)) => &c.tokenizer,
            (None, None) => unreachable!("a loaded MedBridge has a tokenizer"),
        }
    }

    async fn embed(&self, texts: &[String], kind: Kind) -> Result<Vec<Vec<f32>>, JsValue> {
        if let Some(cpu) = &self.cpu {
            let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
            return cpu.embed(&refs, kind).map_err(js_err);
        }
        #[cfg(feature = "webgpu")]
        if let Some(gpu) = &self.gpu {
            let limit = crate::tokenize::MAX_TOKENS;
            let toks = texts
                .iter()
                .map(|t| self.tok().encode_with_limit(&kind.apply(t), limit).map(|t| t.ids))
                .collect::<crate::Result<Vec<_>>>()
                .map_err(js_err)?;
            // Length-sorted batches (less padding), as the CPU encoder does.
            let mut order: Vec<usize> = (0..toks.len()).collect();
            order.sort_by_key(|&i| toks[i].len());
            let mut out = vec![Vec::new(); toks.len()];
            for chunk in order.chunks(crate::encode::DEFAULT_BATCH) {
                let batch: Vec<&[u32]> = chunk.iter().map(|&i| toks[i].as_slice()).collect();
                let vs = gpu.embed_ids(&batch, self.tok().pad_id()).await.map_err(js_err)?;
                for (&i, v) in chunk.iter().zip(vs) {
                    out[i] = v;
                }
            }
            return Ok(out);
        }
        Err(js_err("no backend loaded"))
    }
}

/// Passages embedded per call while adding documents (progress is reported between calls).
const DOC_BATCH: usize = 8;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DocInfo {
    id: String,
    name: String,
    passages: usize,
    added_ms: f64,
}

fn doc_info(d: &Document) -> DocInfo {
    DocInfo { id: d.id.clone(), name: d.name.clone(), passages: d.passages.len(), added_ms: d.added_ms }
}

fn to_js<T: Serialize>(v: &T) -> Result<JsValue, JsValue> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(js_err)
}

fn opt<T>(o: &JsValue, key: &str, f: impl Fn(&JsValue) -> Option<T>) -> Option<T> {
    if !o.is_object() {
        return None;
    }
    Reflect::get(o, &key.into()).ok().filter(|v| !v.is_undefined() && !v.is_null()).and_then(|v| f(&v))
}

/// Search page API: the ICD-10 catalogue and the user's documents.
#[wasm_bindgen]
impl MedBridge {
    /// The catalogue asset's header (`{model_id, dim, passages, codes, entries, source, quantization, …}`), or null.
    #[wasm_bindgen(js_name = catalogInfo)]
    pub fn catalog_info(&self) -> Result<JsValue, JsValue> {
        match &self.inner.catalog {
            Some(c) => to_js(&c.meta),
            None => Ok(JsValue::NULL),
        }
    }

    /// Search the catalogue and the documents with one query embedding.
    /// `options`: `{k = 10, lang = "en", method = "dense" | "hybrid", catalog = true, documents = true}`.
    /// Resolves to `{catalog: CodeHit[], documents: DocHit[], embedMs, searchMs}`; CodeHit =
    /// `{rank, code, score, description, descriptionLang, fallback, parent, parentDescription, matchedText,
    /// matchedLang, stage}`, DocHit = `{docId, docName, passage, title, text, score}`.
    pub fn search(&self, query: String, options: Option<Object>) -> Promise {
        let inner = self.inner.clone();
        let options: JsValue = options.map(JsValue::from).unwrap_or(JsValue::UNDEFINED);
        wasm_bindgen_futures::future_to_promise(async move {
            let q = query.trim().to_string();
            if q.is_empty() {
                return Err(js_err("the query is empty: type something to search for"));
            }
            let k = opt(&options, "k", |v| v.as_f64()).map(|k| k.clamp(1.0, 100.0) as usize).unwrap_or(10);
            let lang = opt(&options, "lang", |v| v.as_string()).unwrap_or_else(|| "en".into());
            let method = opt(&options, "method", |v| v.as_string()).unwrap_or_else(|| "dense".into());
            if method != "dense" && method != "hybrid" {
                return Err(js_err(format!("options.method must be \"dense\" or \"hybrid\", not {method:?}")));
            }
            let want_cat = opt(&options, "catalog", |v| v.as_bool()).unwrap_or(true);
            let want_docs = opt(&options, "documents", |v| v.as_bool()).unwrap_or(true);
            let t0 = now_ms();
            let v = inner.embed(&[q.clone()], Kind::Query).await?.pop().ok_or_else(|| js_err("no query vector"))?;
            let t1 = now_ms();
            let catalog = match (&inner.catalog, want_cat) {
                (Some(c), true) if method == "hybrid" => c.search_hybrid(&v, &q, k, &lang).map_err(js_err)?,
                (Some(c), true) => c.search(&v, k, &lang).map_err(js_err)?,
                _ => Vec::new(),
            };
            let documents = if want_docs { inner.docs.borrow().search(&v, k).map_err(js_err)? } else { Vec::new() };
            let t2 = now_ms();
            let out = Object::new();
            Reflect::set(&out, &"catalog".into(), &to_js(&catalog)?)?;
            Reflect::set(&out, &"documents".into(), &to_js(&documents)?)?;
            Reflect::set(&out, &"embedMs".into(), &(t1 - t0).into())?;
            Reflect::set(&out, &"searchMs".into(), &(t2 - t1).into())?;
            Ok(out.into())
        })
    }

    /// Split a file (or pasted text: a name ending in .txt) into passages, embed them on this device
    /// (`on_progress({done, total})` between batches), add them to the document index. Resolves to
    /// `{id, name, passages, addedMs, bytes}`, `bytes` being the document as a file for IndexedDB.
    /// Rejects with a clear Error for unsupported types, files too large, or no text.
    #[wasm_bindgen(js_name = addDocument)]
    pub fn add_document(&self, name: String, text: String, on_progress: Option<Function>) -> Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let passages = crate::docs::parse_file(&name, &text, ChunkOptions::default()).map_err(js_err)?;
            let texts: Vec<String> = passages.iter().map(|p| p.embed_text()).collect();
            let total = texts.len();
            let report = |done: usize| {
                if let Some(cb) = &on_progress {
                    let o = Object::new();
                    let _ = Reflect::set(&o, &"done".into(), &(done as f64).into());
                    let _ = Reflect::set(&o, &"total".into(), &(total as f64).into());
                    let _ = Reflect::set(&o, &"name".into(), &name.as_str().into());
                    let _ = cb.call1(&JsValue::NULL, &o);
                }
            };
            report(0);
            let mut vectors = Vec::with_capacity(total);
            for chunk in texts.chunks(DOC_BATCH) {
                vectors.extend(inner.embed(chunk, Kind::Passage).await?);
                report(vectors.len());
            }
            let doc = Document { id: Document::id_for(&name, &passages), name: name.clone(), added_ms: now_ms(), passages, vectors };
            let info = doc_info(&doc);
            let id = doc.id.clone();
            let mut docs = inner.docs.borrow_mut();
            docs.add(vec![doc]).map_err(js_err)?;
            let bytes = docs.export(&[id]).map_err(js_err)?;
            let out = to_js(&info)?;
            Reflect::set(&out, &"bytes".into(), &Uint8Array::from(bytes.as_slice()))?;
            Ok(out)
        })
    }

    /// Add the documents of an exported/persisted file (checked: format, checksum, model). Returns
    /// `[{id, name, passages, addedMs}]` of the documents it held.
    #[wasm_bindgen(js_name = importDocuments)]
    pub fn import_documents(&self, bytes: Vec<u8>, label: Option<String>) -> Result<JsValue, JsValue> {
        let mut docs = self.inner.docs.borrow_mut();
        let read = docs.read_export(&bytes, label.as_deref().unwrap_or("documents file")).map_err(js_err)?;
        let infos: Vec<DocInfo> = read.iter().map(doc_info).collect();
        docs.add(read).map_err(js_err)?;
        to_js(&infos)
    }

    /// One document (or all, when `id` is absent) as a file: `Uint8Array`.
    #[wasm_bindgen(js_name = exportDocuments)]
    pub fn export_documents(&self, id: Option<String>) -> Result<Vec<u8>, JsValue> {
        let docs = self.inner.docs.borrow();
        if let Some(id) = &id {
            if !docs.documents().iter().any(|d| &d.id == id) {
                return Err(js_err(format!("no document with id {id}")));
            }
        }
        docs.export(&id.into_iter().collect::<Vec<_>>()).map_err(js_err)
    }

    /// Remove a document by id; false if there is none.
    #[wasm_bindgen(js_name = removeDocument)]
    pub fn remove_document(&self, id: String) -> bool {
        self.inner.docs.borrow_mut().remove(&id)
    }

    /// `[{id, name, passages, addedMs}]`.
    pub fn documents(&self) -> Result<JsValue, JsValue> {
        let docs = self.inner.docs.borrow();
        to_js(&docs.documents().iter().map(doc_info).collect::<Vec<_>>())
    }
}
