// Test-page glue: exposes the wasm module to the Node driver (tests/browser/*.mjs) as
// window.medbridgeTest, and a small manual UI.
import init, { MedBridge, lastPanic } from "/pkg/medbridge.js";

const out = document.getElementById("out");
const print = (s) => { out.textContent += s + "\n"; };

let current = null;

window.medbridgeTest = {
  // Load the bundle; returns what the driver asserts on. progress events are kept (first/last few).
  async load(options = {}) {
    const events = [];
    if (current) { current.free(); current = null; } // release the previous encoder's memory
    const t0 = performance.now();
    current = await MedBridge.load("/model/", (p) => events.push(p), options);
    const loadMs = performance.now() - t0;
    return {
      backend: current.backend(),
      gpuStatus: current.gpuStatus(),
      dim: current.dim(),
      modelId: current.modelId(),
      version: current.version(),
      report: current.loadReport(),
      loadMs,
      progressEvents: events.length,
      progressLast: events.filter((e) => e.phase === "file").slice(-1)[0] ?? null,
      progressFiles: [...new Set(events.map((e) => e.file).filter(Boolean))],
    };
  },
  async embed(texts, kind) {
    const vs = await current.embed(texts, kind);
    return vs.map((v) => Array.from(v));
  },
  // Time embedding calls: returns ms per call.
  async time(texts, kind, reps, warm = true) {
    if (warm) await current.embed(texts, kind); // warm-up (pipeline compilation, allocations)
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) await current.embed(texts, kind);
    return (performance.now() - t0) / reps;
  },
  // The reranker's raw scores of (query, passage) pairs.
  async scorePairs(query, passages) {
    return Array.from(await current.scorePairs(query, passages));
  },
  rerankerId: () => current.rerankerId(),
  lastPanic: () => lastPanic(),
  async cacheNames() {
    return (await caches.keys()).filter((k) => k.startsWith("medbridge-model-"));
  },
  // Flip one byte in the middle of a cached model file (the cached Response is replaced).
  async corruptCached(name) {
    const names = await this.cacheNames();
    if (names.length !== 1) throw new Error(`expected one medbridge cache, found ${JSON.stringify(names)}`);
    const cache = await caches.open(names[0]);
    // files are kept under their URL + ?sha256=…: find the entry by path
    const path = new URL(`/model/${name}`, location.href).pathname;
    const req = (await cache.keys()).find((r) => new URL(r.url).pathname === path);
    if (!req) throw new Error(`${path} is not in cache ${names[0]}`);
    const bytes = new Uint8Array(await (await cache.match(req)).arrayBuffer());
    bytes[bytes.length >> 1] ^= 0xff;
    await cache.put(req, new Response(bytes));
    return { cache: names[0], url: req.url, bytes: bytes.length };
  },
  async webgpuAdapter() {
    if (!navigator.gpu) return null;
    const a = await navigator.gpu.requestAdapter();
    if (!a) return null;
    const info = a.info || {};
    return { vendor: info.vendor, architecture: info.architecture, isFallbackAdapter: a.isFallbackAdapter ?? info.isFallbackAdapter };
  },
};

await init();
window.medbridgeReady = true;

document.getElementById("go").onclick = async () => {
  try {
    const r = await window.medbridgeTest.load({ webgpu: document.getElementById("gpu").checked });
    print(`backend ${r.backend} (${r.gpuStatus}), loaded in ${r.loadMs.toFixed(0)} ms`);
    const [v] = await window.medbridgeTest.embed([document.getElementById("text").value], "query");
    print(`[${v.slice(0, 6).map((x) => x.toFixed(4)).join(", ")}, …] (${v.length})`);
  } catch (e) {
    print(`error: ${e.message ?? e}`);
  }
};
