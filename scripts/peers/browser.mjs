// Peer benchmark, browser half (by hand; scripts/bench-peers.sh): MedBridge's page engine (CPU path and
// WebGPU path) against transformers.js in the SAME headless Chromium, in the same page, on the same
// texts and the same weights (multilingual-e5-small: BERT, 384-dim, mean pooling + L2 normalisation).
//
//   node scripts/peers/browser.mjs [--limit N] [--webgpu-limit 4] [--queries 200] [--webgpu-queries 5]
//        [--warmup 3] [--batch 32] [--skip-webgpu] [--engines a,b,...]
//        [--model-dir target/peers/onnx] [--model-name multilingual-e5-small] [--inputs target/peers]
//        [--texts icd.txt,passages.txt] [--queries-file queries.txt] [--emb-dir DIR] [--table-to-stderr]
//        [--pkg www/pkg] [--bundle target/web-bundle]
//
// Measures, per engine, one at a time:
//   throughput  texts/s and tokens/s at batch 32 over icd.txt (2,048 texts) and passages.txt (512 texts),
//               lines fed exactly as they are (prefix included; our engine in "raw" mode); one untimed
//               warm-up batch first (WebGPU: 2 texts). --limit N uses the first N texts of each file
//               (WebGPU: --webgpu-limit, default 4: on SwiftShader 8 passages take 2-5 minutes per engine).
//   latency     single-query median and p90 over queries.txt, one text per call, after --warmup untimed
//               queries. --queries N uses the first N (WebGPU: --webgpu-queries).
//   cosine      our embeddings against transformers.js fp32 (WASM) on the same texts: min and median.
// Engines: medbridge-cpu (load({webgpu:false})), transformers.js-wasm-fp32 and -q8 (device "wasm",
// numThreads 1: our engine is single-threaded too), medbridge-webgpu and transformers.js-webgpu-fp32
// on whatever adapter the browser has (here SwiftShader, a CPU emulation: those numbers say nothing
// about a GPU). Tokens are counted with transformers.js's tokenizer of the same tokenizer.json
// (special tokens included, truncated to 512).
//
// Output: one JSON line per measurement on stdout, then a human table with ratios (ours / transformers.js)
// (on stderr with --table-to-stderr, so that stdout is JSON lines only); progress on stderr.
// --texts: the throughput inputs (files under --inputs, or paths; input name = file name less .txt).
// --emb-dir DIR: each engine's embeddings of what it embedded, float32 little-endian, n×384 in file order
// (the first n texts of the file), as DIR/<engine>-<file name>.f32 (queries: <engine>-queries.txt.f32).
// Everything is served from 127.0.0.1; any request elsewhere is aborted and reported.
//
// Prerequisites:
//   www/pkg + target/web-bundle   tests/browser/run.sh (or wasm-pack build ... and medbridge export-web)
//   tests/browser/node_modules    scripts/setup-web-tools.sh (playwright-core; chromium)
//   target/peers/node             this script installs it (npm ci of scripts/peers/package*.json, --ignore-scripts)
//   target/peers/onnx/<name>/     scripts/peers/export_onnx.py (fp32 model.onnx and q8 model_quantized.onnx)
//   target/peers/{icd,passages,queries}.txt   scripts/peers/inputs.py
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const flag = (name) => argv.includes(`--${name}`);
if (flag("help") || flag("h")) {
  console.log(fs.readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").filter((l) => l.startsWith("//")).map((l) => l.slice(3)).join("\n"));
  process.exit(0);
}

const LIMIT = Number(opt("limit", "0")) || Infinity;
const WEBGPU_LIMIT = Math.min(LIMIT, Number(opt("webgpu-limit", "4"))); // SwiftShader: 8 passages take 2 (ours) to 5 (transformers.js) minutes
const QUERIES = Number(opt("queries", "200"));
const WEBGPU_QUERIES = Math.min(QUERIES, Number(opt("webgpu-queries", "5")));
const WARMUP = Number(opt("warmup", "3"));
const BATCH = Number(opt("batch", "32"));
const MODEL_DIR = path.resolve(ROOT, opt("model-dir", "target/peers/onnx"));
const MODEL_NAME = opt("model-name", "multilingual-e5-small");
const INPUTS = path.resolve(ROOT, opt("inputs", "target/peers"));
const NODE_DIR = path.join(ROOT, "target/peers/node");
const ALL_ENGINES = ["medbridge-cpu", "transformers.js-wasm-fp32", "transformers.js-wasm-q8", "medbridge-webgpu", "transformers.js-webgpu-fp32"];
let ENGINES = (opt("engines", ALL_ENGINES.join(","))).split(",").filter(Boolean);
if (flag("skip-webgpu")) ENGINES = ENGINES.filter((e) => !e.includes("webgpu"));
for (const e of ENGINES) if (!ALL_ENGINES.includes(e)) throw new Error(`unknown engine ${e}: one of ${ALL_ENGINES.join(", ")}`);
const REF = "transformers.js-wasm-fp32"; // the cosine reference

const log = (s) => process.stderr.write(`browser.mjs: ${s}\n`);
const emit = (o) => console.log(JSON.stringify(o));

// ---- prerequisites ------------------------------------------------------------------------------
if (!fs.existsSync(path.join(ROOT, "tests/browser/node_modules/playwright-core"))) {
  log("installing playwright-core in tests/browser (npm ci)");
  execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: path.join(ROOT, "tests/browser"), stdio: "inherit" });
}
const lock = path.join(HERE, "package-lock.json");
const pinned = JSON.parse(fs.readFileSync(lock, "utf8")).packages["node_modules/@huggingface/transformers"].version;
const installedPkg = path.join(NODE_DIR, "node_modules/@huggingface/transformers/package.json");
if (!fs.existsSync(installedPkg) || JSON.parse(fs.readFileSync(installedPkg, "utf8")).version !== pinned) {
  log(`installing transformers.js into ${path.relative(ROOT, NODE_DIR)} (npm ci --ignore-scripts)`);
  fs.mkdirSync(NODE_DIR, { recursive: true });
  fs.copyFileSync(path.join(HERE, "package.json"), path.join(NODE_DIR, "package.json"));
  fs.copyFileSync(lock, path.join(NODE_DIR, "package-lock.json"));
  execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: NODE_DIR, stdio: ["ignore", "inherit", "inherit"] });
}
const TJS_DIST = path.join(NODE_DIR, "node_modules/@huggingface/transformers/dist");
const ORT_DIST = path.join(NODE_DIR, "node_modules/onnxruntime-web/dist");
const tjsVersion = JSON.parse(fs.readFileSync(path.join(TJS_DIST, "../package.json"), "utf8")).version;
const ortVersion = JSON.parse(fs.readFileSync(path.join(ORT_DIST, "../package.json"), "utf8")).version;
const modelPath = path.join(MODEL_DIR, MODEL_NAME);
for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx"]) {
  if (!fs.existsSync(path.join(modelPath, f))) throw new Error(`${path.join(modelPath, f)} is missing: run scripts/peers/export_onnx.py`);
}
if (!fs.existsSync(path.join(modelPath, "onnx/model_quantized.onnx")) && ENGINES.includes("transformers.js-wasm-q8")) {
  log("no onnx/model_quantized.onnx: skipping transformers.js-wasm-q8");
  ENGINES = ENGINES.filter((e) => e !== "transformers.js-wasm-q8");
}
const readLines = (name) => fs.readFileSync(path.resolve(INPUTS, name), "utf8").split("\n").filter((l) => l.length > 0);
const TEXT_FILES = opt("texts", "icd.txt,passages.txt").split(",").filter(Boolean);
const QUERIES_FILE = opt("queries-file", "queries.txt");
const EMB_DIR = opt("emb-dir", null);
const TABLE = flag("table-to-stderr") ? (...a) => console.error(...a) : (...a) => console.log(...a);
const inputName = (f) => path.basename(f).replace(/\.txt$/, "");
const FILE_OF = Object.fromEntries([...TEXT_FILES.map((f) => [inputName(f), path.basename(f)]), ["queries", path.basename(QUERIES_FILE)]]);
const TPUT_INPUTS = TEXT_FILES.map(inputName);
if (TPUT_INPUTS.includes("queries")) throw new Error("a --texts file may not be named queries.txt");
const inputs = Object.fromEntries([...TEXT_FILES.map((f) => [inputName(f), readLines(f)]), ["queries", readLines(QUERIES_FILE)]]);
if (EMB_DIR) fs.mkdirSync(EMB_DIR, { recursive: true });

const { checkInputs, launch, openPage, PKG, BUNDLE } = await import("../../tests/browser/lib.mjs");
const { startServer } = await import("../../tests/browser/server.mjs");
checkInputs();

// ---- serve everything from loopback, launch one Chromium ---------------------------------------
const srv = await startServer({
  "/": path.join(ROOT, "tests/browser/page"),
  "/pkg/": PKG,
  "/model/": BUNDLE,
  "/tjs/": TJS_DIST,
  "/ort/": ORT_DIST,
  "/peer-models/": MODEL_DIR,
});
const browser = await launch();
const blocked = [];
await browser.context.route("**/*", (route) => {
  const url = route.request().url();
  if (url.startsWith(srv.url + "/")) return route.continue();
  blocked.push(url);
  return route.abort();
});
const page = browser.page;
const results = { tput: [], lat: [], cos: [] };
let adapter = null;
let chromeVersion = browser.context.browser()?.version() ?? "";

try {
  await openPage(page, `${srv.url}/index.html`);
  const setup = await page.evaluate(async ({ base, modelName, inputs }) => {
    const tjs = await import(`${base}/tjs/transformers.js`);
    const { env } = tjs;
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = "/peer-models/"; // a path on this origin (transformers.js joins it as a path)
    env.useBrowserCache = false;
    env.useWasmCache = false;
    env.backends.onnx.wasm.wasmPaths = {
      mjs: `${base}/ort/ort-wasm-simd-threaded.asyncify.mjs`,
      wasm: `${base}/ort/ort-wasm-simd-threaded.asyncify.wasm`,
    };
    env.backends.onnx.wasm.numThreads = 1;
    env.backends.onnx.wasm.proxy = false;
    const tok = await tjs.AutoTokenizer.from_pretrained(modelName);
    const tokens = {};
    for (const [k, texts] of Object.entries(inputs)) tokens[k] = texts.map((t) => Math.min(512, tok.encode(t).length));
    window.peer = { tjs, modelName, inputs, tokens, run: null, pipe: null, vecs: {} };
    return { tjs: env.version, ort: env.backends.onnx.versions, crossOriginIsolated, ua: navigator.userAgent, adapter: await window.medbridgeTest.webgpuAdapter() };
  }, { base: srv.url, modelName: MODEL_NAME, inputs });
  adapter = setup.adapter;
  chromeVersion = setup.ua.match(/Chrome\/[\d.]+/)?.[0] ?? chromeVersion;
  log(`transformers.js ${setup.tjs} (onnxruntime-web ${JSON.stringify(setup.ort)}), ${chromeVersion}, crossOriginIsolated ${setup.crossOriginIsolated}, WebGPU adapter ${JSON.stringify(adapter)}`);

  for (const engine of ENGINES) {
    const webgpu = engine.includes("webgpu");
    if (webgpu && !adapter) { log(`${engine}: no WebGPU adapter, skipped`); continue; }
    const limit = webgpu ? WEBGPU_LIMIT : LIMIT;
    const nQueries = webgpu ? WEBGPU_QUERIES : QUERIES;
    log(`${engine}: loading`);
    const loaded = await page.evaluate(async ({ engine }) => {
      const P = window.peer;
      if (P.pipe) { await P.pipe.dispose(); P.pipe = null; }
      const t0 = performance.now();
      if (engine.startsWith("medbridge")) {
        const r = await window.medbridgeTest.load({ webgpu: engine === "medbridge-webgpu" });
        const want = engine === "medbridge-webgpu" ? "webgpu" : "cpu";
        if (r.backend !== want) return { error: `backend ${r.backend} (${r.gpuStatus})` };
        P.run = async (texts) => (await window.medbridgeTest.embed(texts, "raw")).map((v) => Float32Array.from(v));
        return { loadMs: performance.now() - t0, backend: r.backend, gpuStatus: r.gpuStatus };
      }
      const [, device, dtype] = engine.match(/^transformers\.js-(wasm|webgpu)-(\w+)$/);
      P.pipe = await P.tjs.pipeline("feature-extraction", P.modelName, { device, dtype });
      P.run = async (texts) => {
        const out = await P.pipe(texts, { pooling: "mean", normalize: true });
        const [n, k] = out.dims;
        const d = out.data;
        return Array.from({ length: n }, (_, i) => d.slice(i * k, (i + 1) * k));
      };
      return { loadMs: performance.now() - t0, device, dtype };
    }, { engine });
    if (loaded.error) { log(`${engine}: not available (${loaded.error}), skipped`); continue; }
    log(`${engine}: loaded in ${loaded.loadMs.toFixed(0)} ms`);
    await page.evaluate(({ engine }) => { window.peer.vecs[engine] = {}; }, { engine });

    for (const input of TPUT_INPUTS) {
      const n = Math.min(limit, inputs[input].length);
      // warm-up: the first batch, untimed (WebGPU: 2 texts, SwiftShader is slow)
      await page.evaluate(async ({ input, b }) => { await window.peer.run(window.peer.inputs[input].slice(0, b)); }, { input, b: Math.min(webgpu ? 2 : BATCH, n) });
      let ms = 0;
      for (let s = 0; s < n; s += BATCH) {
        ms += await page.evaluate(async ({ engine, input, s, e }) => {
          const P = window.peer;
          const texts = P.inputs[input].slice(s, e);
          const t0 = performance.now();
          const vs = await P.run(texts);
          const dt = performance.now() - t0;
          (P.vecs[engine][input] ??= []).push(...vs);
          return dt;
        }, { engine, input, s, e: Math.min(n, s + BATCH) });
        if (webgpu || (s / BATCH) % 8 === 7) log(`${engine} ${input}: ${Math.min(n, s + BATCH)}/${n} texts, ${(ms / 1000).toFixed(1)} s`);
      }
      const tokens = (await page.evaluate(({ input, n }) => window.peer.tokens[input].slice(0, n), { input, n })).reduce((a, b) => a + b, 0);
      const r = { engine, input, texts: n, tokens, batch: BATCH, seconds: +(ms / 1000).toFixed(3), texts_per_s: +(n / (ms / 1000)).toFixed(2), tokens_per_s: +(tokens / (ms / 1000)).toFixed(1) };
      emit(r);
      results.tput.push(r);
    }

    const lat = await page.evaluate(async ({ engine, nQueries, warmup }) => {
      const P = window.peer;
      const qs = P.inputs.queries.slice(0, nQueries);
      for (const q of qs.slice(0, warmup)) await P.run([q]);
      const times = [];
      const vecs = [];
      for (const q of qs) {
        const t0 = performance.now();
        const [v] = await P.run([q]);
        times.push(performance.now() - t0);
        vecs.push(v);
      }
      P.vecs[engine].queries = vecs;
      return times;
    }, { engine, nQueries, warmup: WARMUP });
    const sorted = [...lat].sort((a, b) => a - b);
    const q = (p) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
    const r = { engine, input: "queries", queries: lat.length, latency_median_ms: +q(0.5).toFixed(2), latency_p90_ms: +q(0.9).toFixed(2) };
    emit(r);
    results.lat.push(r);
    if (EMB_DIR) {
      for (const input of [...TPUT_INPUTS, "queries"]) {
        const b64 = await page.evaluate(({ engine, input }) => {
          const vs = window.peer.vecs[engine][input] ?? [];
          const k = vs.length ? vs[0].length : 0;
          const all = new Float32Array(vs.length * k);
          vs.forEach((v, i) => all.set(v, i * k));
          const bytes = new Uint8Array(all.buffer);
          let s = "";
          for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
          return btoa(s);
        }, { engine, input });
        fs.writeFileSync(path.join(EMB_DIR, `${engine}-${FILE_OF[input]}.f32`), Buffer.from(b64, "base64")); // little-endian (x86, wasm)
      }
    }
  }

  // ---- cosine agreement against transformers.js fp32 (WASM), on the texts both embedded ----------
  const cos = await page.evaluate(({ ref, names }) => {
    const V = window.peer.vecs;
    const out = [];
    if (!V[ref]) return out;
    for (const engine of Object.keys(V)) {
      if (engine === ref) continue;
      for (const input of names) {
        const a = V[engine][input] ?? [], b = V[ref][input] ?? [];
        const n = Math.min(a.length, b.length);
        if (!n) continue;
        const cs = [];
        for (let i = 0; i < n; i++) {
          let d = 0, na = 0, nb = 0;
          for (let j = 0; j < a[i].length; j++) { d += a[i][j] * b[i][j]; na += a[i][j] ** 2; nb += b[i][j] ** 2; }
          cs.push(d / Math.sqrt(na * nb));
        }
        cs.sort((x, y) => x - y);
        out.push({ cosine: `${engine} vs ${ref}`, a: engine, b: ref, input, texts: n, min: +cs[0].toFixed(6), median: +cs[(n - 1) >> 1].toFixed(6), dim: a[0].length });
      }
    }
    return out;
  }, { ref: REF, names: [...TPUT_INPUTS, "queries"] });
  for (const c of cos) { emit(c); results.cos.push(c); }
} finally {
  await browser.close();
  await srv.close();
}

// ---- human table -------------------------------------------------------------------------------------
const short = (e) => e.replace("transformers.js", "tjs");
const fmt = (x, d = 1) => (x === undefined || x === null || Number.isNaN(x) ? "-" : x.toFixed(d));
const tput = (e, input) => results.tput.find((r) => r.engine === e && r.input === input);
const lat = (e) => results.lat.find((r) => r.engine === e);
const pad = (s, n) => String(s).padStart(n);
TABLE(`\n== peers in one headless Chromium (${chromeVersion}; transformers.js ${tjsVersion}, onnxruntime-web ${ortVersion}, numThreads 1; batch ${BATCH})`);
if (blocked.length) TABLE(`!! ${blocked.length} request(s) off loopback were aborted: ${[...new Set(blocked)].slice(0, 5).join(", ")}`);
else TABLE("all requests served from 127.0.0.1 (none off loopback)");

function section(title, ours, peers) {
  const have = [ours, ...peers].filter((e) => results.tput.some((r) => r.engine === e) || lat(e));
  if (!have.includes(ours) || have.length < 2) { TABLE(`\n${title}: n/a (${have.length ? have.map(short).join(", ") : "nothing"} measured)`); return; }
  const others = have.filter((e) => e !== ours);
  TABLE(`\n${title}`);
  TABLE(`${"input".padEnd(9)} ${pad("texts", 5)} ${pad("tokens", 6)}  ${[ours, ...others].map((e) => pad(short(e) + " t/s", 22)).join(" ")}  ${others.map((e) => pad("ours/" + short(e).replace("tjs-", ""), 14)).join(" ")}`);
  for (const input of TPUT_INPUTS) {
    const o = tput(ours, input);
    if (!o) continue;
    const cells = [ours, ...others].map((e) => { const r = tput(e, input); return pad(r ? `${fmt(r.texts_per_s, r.texts_per_s < 1 ? 3 : 1)} (${fmt(r.tokens_per_s, r.tokens_per_s < 100 ? 1 : 0)} tok/s)` : "-", 22); });
    const ratios = others.map((e) => { const r = tput(e, input); return pad(r && r.texts === o.texts ? `×${fmt(o.texts_per_s / r.texts_per_s, 2)}` : "-", 14); });
    TABLE(`${input.padEnd(9)} ${pad(o.texts, 5)} ${pad(o.tokens, 6)}  ${cells.join(" ")}  ${ratios.join(" ")}`);
  }
  const lo = lat(ours);
  if (lo) {
    TABLE(`${"queries".padEnd(9)} ${pad(lo.queries, 5)} ${pad("", 6)}  ${[ours, ...others].map((e) => { const r = lat(e); return pad(r ? `${fmt(r.latency_median_ms)} / p90 ${fmt(r.latency_p90_ms)} ms` : "-", 22); }).join(" ")}  ${others.map((e) => { const r = lat(e); return pad(r && r.queries === lo.queries ? `×${fmt(lo.latency_median_ms / r.latency_median_ms, 2)} (p90 ×${fmt(lo.latency_p90_ms / r.latency_p90_ms, 2)})` : "-", 14); }).join(" ")}`);
  }
}
section("== CPU path vs WASM (texts/s, tokens/s; single-query latency median / p90; ratios ours / transformers.js)",
  "medbridge-cpu", ["transformers.js-wasm-fp32", "transformers.js-wasm-q8"]);
section(`== WebGPU vs WebGPU on adapter ${adapter ? JSON.stringify(adapter) : "(none)"}${adapter ? " — SwiftShader here is a CPU emulation: these numbers say nothing about a GPU" : ""}`,
  "medbridge-webgpu", ["transformers.js-webgpu-fp32"]);

if (results.cos.length) {
  TABLE(`\n== embeddings agreement: cosine against ${short(REF)} on the same texts`);
  for (const c of results.cos) TABLE(`${short(c.a).padEnd(22)} ${c.input.padEnd(9)} ${pad(c.texts, 5)} texts  min ${c.min.toFixed(6)}  median ${c.median.toFixed(6)}`);
}

// The targets: our CPU path ≥ 2× transformers.js WASM throughput, ≤ 0.5× its single-query latency,
// against the faster of its fp32 and q8.
const wasm = ["transformers.js-wasm-fp32", "transformers.js-wasm-q8"];
const checks = [];
for (const input of TPUT_INPUTS) {
  const o = tput("medbridge-cpu", input);
  const best = wasm.map((e) => tput(e, input)).filter((r) => r && o && r.texts === o.texts).sort((a, b) => b.texts_per_s - a.texts_per_s)[0];
  if (o && best) checks.push([`throughput ${input} ≥ 2× ${short(best.engine)}`, o.texts_per_s / best.texts_per_s, (x) => x >= 2]);
}
const lo = lat("medbridge-cpu");
const bestLat = wasm.map(lat).filter((r) => r && lo && r.queries === lo.queries).sort((a, b) => a.latency_median_ms - b.latency_median_ms)[0];
if (lo && bestLat) checks.push([`latency median ≤ 0.5× ${short(bestLat.engine)}`, lo.latency_median_ms / bestLat.latency_median_ms, (x) => x <= 0.5]);
if (checks.length) {
  TABLE("\n== targets (CPU path against the faster transformers.js WASM dtype)");
  for (const [what, x, ok] of checks) TABLE(`${ok(x) ? "PASS" : "FAIL"}  ${what}: ×${x.toFixed(2)}`);
}
if (LIMIT !== Infinity) TABLE(`(--limit ${LIMIT}: first ${LIMIT} texts of each input; WebGPU ${WEBGPU_LIMIT} texts, ${WEBGPU_QUERIES} queries)`);
else if (ENGINES.some((e) => e.includes("webgpu"))) TABLE(`(WebGPU: first ${WEBGPU_LIMIT} texts of each input, ${WEBGPU_QUERIES} queries)`);
