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
//! Fetching, verifying and caching the bundle: [`loader`]. Errors reject with a JavaScript `Error`
//! whose `code` is stable ([`crate::Error::code`], or `"fetch-failed"`): the page switches on it.

mod loader;

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Float32Array, Function, Object, Promise, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
#[cfg(feature = "webgpu")]
use wasm_bindgen::JsCast;
#[cfg(feature = "webgpu")]
use wasm_bindgen_futures::JsFuture;

use crate::catalog::asset::{CatalogAsset, ASSET_FILE};
use crate::documents::{ChunkOptions, DocIndex, Document};
use crate::encode::{Encoder, Kind};
use crate::model::bundle::{load_bundle_bytes, load_bundle_bytes_marked, reranker_tensors, Manifest, MANIFEST_FILE};
use crate::model::{ModelInfo, RawTensor};
use crate::retrieve::rerank::Reranker;
use crate::retrieve::search::QueryInput;
use crate::retrieve::{Rerank, SearchOptions, DEFAULT_RERANK_TOP};
use crate::text::tokenize::Tokenizer;
use loader::{now_ms, resolve, BundleCache, BundleFiles, FileReport, Progress, Scope};

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

/// A JavaScript `Error` with a stable `code` property the page can switch on (see
/// [`crate::Error::code`]; `"fetch-failed"` for the network).
fn js_err_code(msg: impl std::fmt::Display, code: &str) -> JsValue {
    let e = js_sys::Error::new(&msg.to_string());
    let _ = Reflect::set(&e, &"code".into(), &code.into());
    e.into()
}

/// A library error as a JavaScript `Error` carrying its [`crate::Error::code`].
fn js_error(e: crate::Error) -> JsValue {
    js_err_code(&e, e.code())
}

/// Bad input from JavaScript (options, arguments): code `"invalid-input"`.
fn js_err(msg: impl std::fmt::Display) -> JsValue {
    js_err_code(msg, "invalid-input")
}

/// Where a start's time goes: stages in order, each with the milliseconds since the previous mark.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stages(Vec<(String, f64)>);

impl Stages {
    fn mark(&mut self, stage: &str, last: &mut f64) {
        let now = now_ms();
        self.0.push((stage.to_string(), ((now - *last) * 10.0).round() / 10.0));
        *last = now;
    }
}

/// Where each file came from and timings (see [`MedBridge::load_report`]).
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
    /// Why a file fetched from the network could not be kept for the next visit (quota exceeded …).
    pub cache_warning: Option<String>,
    pub fetch_ms: f64,
    pub build_ms: f64,
    /// `[[stage, ms], …]`: manifest, files (read from the cache or the network, and verified: per file in
    /// `files`), config, tokenizer, weights (GGUF parse), catalog (asset parse + HNSW graph), encoder
    /// (CPU build or WebGPU upload), reranker (its top layers built or uploaded), cleanup.
    pub stages: Stages,
    /// The reranker's identity, when the bundle has one.
    pub reranker_id: Option<String>,
}

struct Inner {
    /// On WebGPU or the CPU, chosen at load; replaced by a CPU encoder if the GPU fails later.
    encoder: RefCell<Rc<Encoder>>,
    /// The cross-encoder, when the bundle has one: on the encoder's device, sharing its word table
    /// and lower layers; replaced with it.
    reranker: RefCell<Option<Rc<Reranker>>>,
    /// Where the model came from, to rebuild it on the CPU after a GPU failure.
    base: String,
    manifest: Manifest,
    report: LoadReport,
    /// Set when the GPU failed after loading and the CPU path took over: why.
    gpu_lost: RefCell<Option<String>>,
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
    let s = |k: &str| {
        if info.is_object() {
            Reflect::get(&info, &k.into()).ok().and_then(|v| v.as_string()).unwrap_or_default()
        } else {
            String::new()
        }
    };
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
        let (manifest, manifest_bytes, manifest_source) = BundleCache::manifest(&scope, &manifest_url).await?;
        let cache = BundleCache::open(&scope).await;
        let (mut stages, mut last) = (Stages::default(), t0);
        stages.mark("manifest", &mut last);

        let mut progress = Progress { cb: on_progress, total: manifest.total_bytes(), done_before: 0 };
        let BundleFiles { mut files, reports: file_reports, cache_warning } =
            cache.files(&scope, &base, &manifest.files, &mut progress).await?;
        cache.put(&manifest_url, &manifest_bytes).await;
        let fetch_ms = now_ms() - t0;
        stages.mark("files", &mut last);
        progress.report("", 0, 0, "", "build");

        let t1 = now_ms();
        let (info, tokenizer, tensors) =
            load_bundle_bytes_marked(&manifest, &files, |stage| stages.mark(stage, &mut last)).map_err(js_error)?;
        let catalog = match files.remove(ASSET_FILE) {
            Some(bytes) => {
                progress.report(ASSET_FILE, 0, 0, "", "index");
                Some(CatalogAsset::from_verified_bytes(&bytes, Some(&manifest.model_id)).map_err(js_error)?)
            }
            None => None,
        };
        stages.mark("catalog", &mut last);
        let reranker_parts = reranker_tensors(&manifest, &files).map_err(js_error)?;
        drop(files);

        // options.webgpu: true = any adapter (software fallback too), false = CPU, absent/"auto" = a
        // hardware adapter only (a software fallback adapter, e.g. SwiftShader, is far slower than the CPU path).
        let webgpu_opt =
            if options.is_object() { Reflect::get(&options, &"webgpu".into()).unwrap_or(JsValue::UNDEFINED) } else { JsValue::UNDEFINED };
        let want_gpu = webgpu_opt.as_bool();
        if !(webgpu_opt.is_undefined() || webgpu_opt.is_null() || want_gpu.is_some() || webgpu_opt.as_string().as_deref() == Some("auto")) {
            return Err(js_err("options.webgpu must be true, false or \"auto\""));
        }
        #[allow(unused_mut)]
        let mut encoder: Option<Encoder> = None;
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
                let fmt = match crate::model::bundle::gpu_body_format(&manifest, &tensors) {
                    crate::model::bundle::BodyFormat::Q8_0 => crate::gpu::WeightFormat::Q8_0,
                    crate::model::bundle::BodyFormat::Q4_0 => crate::gpu::WeightFormat::Q4_0,
                };
                match Encoder::on_webgpu(info.clone(), tokenizer.clone(), &tensors, fmt).await {
                    Ok(Some(e)) => {
                        encoder = Some(e);
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
        let encoder = match encoder {
            Some(e) => e,
            None => cpu_encoder(info.clone(), tokenizer, tensors).map_err(js_error)?,
        };
        stages.mark("encoder", &mut last);
        let reranker = match reranker_parts {
            Some((entry, tensors)) => Some(Rc::new(Reranker::on_encoder(&encoder, &entry, tensors).await.map_err(js_error)?)),
            None => None,
        };
        stages.mark("reranker", &mut last);
        let mut keep = vec![manifest_url.clone()];
        for entry in &manifest.files {
            keep.push(loader::cache_key(&resolve(&entry.name, &base)?, entry));
        }
        let deleted = cache.remove_stale(&base, &keep).await;
        stages.mark("cleanup", &mut last);

        let report = LoadReport {
            version: manifest.version.clone(),
            model_id: manifest.model_id.clone(),
            manifest_source: manifest_source.into(),
            cache_available: cache.available(),
            files: file_reports,
            deleted_caches: deleted,
            backend: encoder.device().as_str().into(),
            gpu_status,
            cache_warning,
            fetch_ms,
            build_ms: now_ms() - t1,
            stages,
            reranker_id: reranker.as_ref().map(|r| r.encoder.info.model_id.clone()),
        };
        let docs = RefCell::new(DocIndex::new(&info.model_id, info.config.hidden_size));
        let encoder = RefCell::new(Rc::new(encoder));
        let reranker = RefCell::new(reranker);
        Ok(MedBridge { inner: Rc::new(Inner { encoder, reranker, base, manifest, report, gpu_lost: RefCell::new(None), catalog, docs }) })
    }

    /// "webgpu" or "cpu" (the CPU after the GPU failed: see `gpuStatus`).
    pub fn backend(&self) -> String {
        self.inner.encoder().device().as_str().into()
    }

    /// Why WebGPU is (not) used: "ok", "disabled by option …", "no WebGPU adapter …", "not built …",
    /// "failed after loading (…): running on the CPU".
    #[wasm_bindgen(js_name = gpuStatus)]
    pub fn gpu_status(&self) -> String {
        match &*self.inner.gpu_lost.borrow() {
            Some(why) => format!("failed after loading ({why}): running on the CPU"),
            None => self.inner.report.gpu_status.clone(),
        }
    }

    /// Vector length (384 for e5-small).
    pub fn dim(&self) -> usize {
        self.inner.encoder().dim()
    }

    #[wasm_bindgen(js_name = modelId)]
    pub fn model_id(&self) -> String {
        self.inner.encoder().info.model_id.clone()
    }

    /// The bundle version (cache key).
    pub fn version(&self) -> String {
        self.inner.report.version.clone()
    }

    /// Where each file came from and timings: `{version, modelId, manifestSource, cacheAvailable,
    /// files: [{name, bytes, source, ms}], deletedCaches (stale cached files and old caches removed), backend, gpuStatus, fetchMs, buildMs}`.
    #[wasm_bindgen(js_name = loadReport)]
    pub fn load_report(&self) -> Result<JsValue, JsValue> {
        serde_wasm_bindgen::to_value(&self.inner.report).map_err(js_err)
    }

    /// Token ids of `kind`'s prefix + text (with `<s>`/`</s>`), as the encoder sees them.
    pub fn tokenize(&self, text: String, kind: String) -> Result<Vec<u32>, JsValue> {
        let kind: Kind = kind.parse().map_err(js_error)?;
        Ok(self.inner.encoder().tokenize(&text, kind).map_err(js_error)?.ids)
    }

    /// Embed `texts` (`kind`: "query" | "passage" | "raw") → `Promise<Float32Array[]>`, L2-normalised.
    /// Rejects with an Error (bad kind, GPU failure).
    #[wasm_bindgen(unchecked_return_type = "Promise<Float32Array[]>")]
    pub fn embed(
        &self,
        texts: Vec<String>,
        #[wasm_bindgen(unchecked_param_type = "\"query\" | \"passage\" | \"raw\"")] kind: String,
    ) -> Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let kind: Kind = kind.parse().map_err(js_error)?;
            let vectors = inner.embed(&texts, kind).await?;
            let out = Array::new();
            for v in vectors {
                out.push(&Float32Array::from(v.as_slice()));
            }
            Ok(out.into())
        })
    }
}

#[wasm_bindgen]
impl MedBridge {
    /// The reranker's model id, or null when the bundle has none.
    #[wasm_bindgen(js_name = rerankerId)]
    pub fn reranker_id(&self) -> Option<String> {
        self.inner.reranker().map(|r| r.encoder.info.model_id.clone())
    }

    /// The reranker's raw scores (logits, higher = more relevant) of `query` against each passage →
    /// `Promise<Float32Array>`, in input order. Rejects with code `no-reranker` when the bundle has none.
    #[wasm_bindgen(js_name = scorePairs, unchecked_return_type = "Promise<Float32Array>")]
    pub fn score_pairs(&self, query: String, passages: Vec<String>) -> Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let pairs: Vec<(&str, &str)> = passages.iter().map(|p| (query.as_str(), p.as_str())).collect();
            let pairs = &pairs;
            let scores = inner.with_reranker(|rr| async move { rr.score_pairs_async(pairs).await }).await?;
            Ok(Float32Array::from(scores.as_slice()).into())
        })
    }
}

impl Inner {
    /// The current encoder (shared, so a GPU → CPU switch never waits for a running embedding).
    fn encoder(&self) -> Rc<Encoder> {
        self.encoder.borrow().clone()
    }

    /// The current reranker, if the bundle has one.
    fn reranker(&self) -> Option<Rc<Reranker>> {
        self.reranker.borrow().clone()
    }

    /// Embed on the current encoder. If the GPU fails at run time (device lost, out of memory, a
    /// failed readback), the model is rebuilt on the CPU from the verified files (Cache API, else the
    /// network), which is used from then on, and the same texts are embedded again there.
    async fn embed(&self, texts: &[String], kind: Kind) -> Result<Vec<Vec<f32>>, JsValue> {
        let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
        let encoder = self.encoder();
        match encoder.embed_async(&refs, kind, |_, _| {}).await {
            Ok(e) => Ok(e.vectors),
            Err(crate::Error::Gpu(why)) => {
                let cpu = self.switch_to_cpu(why).await?;
                Ok(cpu.embed_async(&refs, kind, |_, _| {}).await.map_err(js_error)?.vectors)
            }
            Err(e) => Err(js_error(e)),
        }
    }

    /// `work` on the current reranker; if the GPU fails, again on the CPU, which is used from then on
    /// (like [`Inner::embed`]). Rejects with code `no-reranker` when the bundle has none.
    async fn with_reranker<T, F, Fut>(&self, work: F) -> Result<T, JsValue>
    where
        F: Fn(Rc<Reranker>) -> Fut,
        Fut: std::future::Future<Output = crate::Result<T>>,
    {
        let rr = self.reranker().ok_or_else(|| js_err_code(NO_RERANKER, "no-reranker"))?;
        match work(rr).await {
            Err(crate::Error::Gpu(why)) => {
                self.switch_to_cpu(why).await?;
                let rr = self.reranker().ok_or_else(|| js_err("the reranker was lost with the GPU"))?;
                work(rr).await.map_err(js_error)
            }
            other => other.map_err(js_error),
        }
    }

    /// After a GPU failure: the model (and reranker) rebuilt on the CPU from the verified files, used
    /// from then on.
    async fn switch_to_cpu(&self, why: String) -> Result<Rc<Encoder>, JsValue> {
        if self.encoder().device() == crate::encode::Device::Cpu {
            return Ok(self.encoder()); // another call switched already
        }
        web_sys::console::warn_1(&format!("medbridge: WebGPU failed ({why}); switching to the CPU path").into());
        let (cpu, reranker) = self.cpu_engine().await?;
        let cpu = Rc::new(cpu);
        *self.encoder.borrow_mut() = cpu.clone();
        *self.reranker.borrow_mut() = reranker.map(Rc::new);
        *self.gpu_lost.borrow_mut() = Some(why);
        Ok(cpu)
    }

    /// The model and reranker on the CPU, rebuilt from their verified files.
    async fn cpu_engine(&self) -> Result<(Encoder, Option<Reranker>), JsValue> {
        let scope = Scope::get()?;
        let mut manifest = self.manifest.clone();
        manifest.files.retain(|f| f.name != ASSET_FILE);
        let cache = BundleCache::open(&scope).await;
        let mut progress = Progress { cb: None, total: manifest.total_bytes(), done_before: 0 };
        let files = cache.files(&scope, &self.base, &manifest.files, &mut progress).await?.files;
        let (info, tokenizer, tensors) = load_bundle_bytes(&manifest, &files).map_err(js_error)?;
        let parts = reranker_tensors(&manifest, &files).map_err(js_error)?;
        drop(files);
        let encoder = cpu_encoder(info, tokenizer, tensors).map_err(js_error)?;
        let reranker = match parts {
            Some((entry, tensors)) => Some(Reranker::on_encoder(&encoder, &entry, tensors).await.map_err(js_error)?),
            None => None,
        };
        Ok((encoder, reranker))
    }
}

/// The page's CPU path: int8 products (wasm SIMD128 integer dots), ~2× the f32 path's speed.
fn cpu_encoder(info: ModelInfo, tokenizer: Tokenizer, tensors: Vec<RawTensor>) -> crate::Result<Encoder> {
    Encoder::from_parts(info, tokenizer, tensors, &candle_core::Device::Cpu)?.with_precision(crate::encode::Precision::Int8)
}

/// Why a reranking call is refused (code `no-reranker`).
const NO_RERANKER: &str = "this bundle has no reranker (export it with --reranker)";

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

    /// Search the catalogue and the documents with one query embedding; the catalogue's top results
    /// are reranked by the cross-encoder when the bundle has one.
    /// `options` ([`SearchOptions`]): `{k = 10, lang = "en", method = "auto" | "dense" | "hybrid" | "bm25", catalog = true,
    /// documents = true, rerank = "auto" | true | false | N}`; a field of the wrong type or an unknown one rejects with an
    /// Error naming it; `rerank: true` or N without a reranker rejects with code `no-reranker`.
    /// Resolves to `{catalog: CodeHit[], documents: DocHit[], embedMs, searchMs, rerankMs, reranked, backend}` (`backend`: the
    /// engine that answered, "cpu" after a GPU failure switched to the CPU path); CodeHit =
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
            let json: serde_json::Value = if options.is_undefined() || options.is_null() {
                serde_json::Value::Null
            } else {
                serde_wasm_bindgen::from_value(options).map_err(|e| js_err(format!("search options: {e}")))?
            };
            let SearchOptions { k, lang, method, catalog: want_cat, documents: want_docs, rerank } =
                SearchOptions::from_json(&json).map_err(js_error)?;
            let rerank_top = match rerank {
                Rerank::Off => 0,
                Rerank::Auto if inner.reranker().is_none() => 0,
                Rerank::Auto => DEFAULT_RERANK_TOP,
                Rerank::Top(_) if inner.reranker().is_none() => {
                    return Err(js_err_code(format!("options.rerank: {NO_RERANKER}"), "no-reranker"))
                }
                Rerank::Top(n) => n,
            };
            let t0 = now_ms();
            let v = inner.embed(std::slice::from_ref(&q), Kind::Query).await?.pop().ok_or_else(|| js_err("no query vector"))?;
            let t1 = now_ms();
            let (catalog, reranked, t_first) = match (&inner.catalog, want_cat) {
                (Some(c), true) => {
                    let hits = c.search(&QueryInput { text: &q, vector: Some(&v) }, method, k.max(rerank_top), &lang).map_err(js_error)?;
                    let t_first = now_ms();
                    let (mut hits, reranked) = if rerank_top > 0 {
                        let (query, first) = (q.as_str(), &hits);
                        inner.with_reranker(|rr| async move { c.rerank(&rr, query, first.clone(), rerank_top).await }).await?
                    } else {
                        (hits, false)
                    };
                    hits.truncate(k);
                    (hits, reranked, t_first)
                }
                _ => (Vec::new(), false, now_ms()),
            };
            let t_rerank = now_ms();
            let documents = if want_docs { inner.docs.borrow().search(&v, k).map_err(js_error)? } else { Vec::new() };
            let t2 = now_ms();
            let out = Object::new();
            Reflect::set(&out, &"backend".into(), &inner.encoder().device().as_str().into())?;
            Reflect::set(&out, &"catalog".into(), &to_js(&catalog)?)?;
            Reflect::set(&out, &"documents".into(), &to_js(&documents)?)?;
            Reflect::set(&out, &"embedMs".into(), &(t1 - t0).into())?;
            Reflect::set(&out, &"searchMs".into(), &(t2 - t1 - (t_rerank - t_first)).into())?;
            Reflect::set(&out, &"reranked".into(), &reranked.into())?;
            Reflect::set(&out, &"rerankMs".into(), &(t_rerank - t_first).into())?;
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
            let passages = crate::documents::parse_file(&name, &text, ChunkOptions::default()).map_err(js_error)?;
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
            docs.add(vec![doc]).map_err(js_error)?;
            let bytes = docs.export(&[id]).map_err(js_error)?;
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
        let read = docs.read_export(&bytes, label.as_deref().unwrap_or("documents file")).map_err(js_error)?;
        let infos: Vec<DocInfo> = read.iter().map(doc_info).collect();
        docs.add(read).map_err(js_error)?;
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
        docs.export(&id.into_iter().collect::<Vec<_>>()).map_err(js_error)
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
