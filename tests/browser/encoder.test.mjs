// Browser tests of the MedBridge wasm package in headless Chromium (WebGPU via SwiftShader).
//
//   node tests/browser/encoder.test.mjs [--pkg www/pkg] [--bundle target/web-bundle]
//
// 1. WebGPU path (webgpu: true, so SwiftShader's fallback adapter is used): first load (all model files from the network, one request each), golden.json texts
//    embedded and compared with golden.json's reference vectors (dequantised-f32 model): cosine ≥ 0.999.
// 2. CPU path (webgpu: false) after a reload in the same profile: the same comparison, and the server's
//    request log and the page's request events show zero requests for model files (manifest only).
// 3. A cached file damaged through the Cache API is discarded and fetched again (one request), the model
//    still loads and embeds correctly, and the next reload is again served from the cache.
// 4. Errors surface as JS Error objects with clear messages.
// Exit code 1 if anything fails; a missing WebGPU backend is a failure, reported with the reason.
import fs from "node:fs";
import { arg, checkInputs, serve, launch, openPage, cosine, golden, MODEL_FILES, ROOT } from "./lib.mjs";

const MIN_COS = 0.999;
const failures = [];
const results = {};
function check(ok, what, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${detail ? ` — ${detail}` : ""}`);
  if (!ok) failures.push(what);
  return ok;
}

checkInputs();
const cases = golden();
const texts = cases.map((c) => c.text); // golden texts carry their "query: "/"passage: " prefix: kind raw
const srv = await serve();
const browser = await launch();
const { page } = browser;
const pageRequests = [];
page.on("request", (r) => pageRequests.push(r.url()));
const modelRequests = (log) => log.filter((e) => MODEL_FILES.some((f) => e.path === `/model/${f}`));
const summary = (log) => log.map((e) => `${e.status} ${e.path}`).join(", ");

// The reranker: scores of tests/browser/rerank-pairs.jsonl computed natively from the same bundle
// (`medbridge score-pairs --bundle`, tests/browser/run.sh) in each path's arithmetic — int8 for the
// CPU path, f32 activations for WebGPU's kernels —; the page's must match on both paths.
// WebGPU: f32 activations, as natively: ≤ 1e-3. CPU path: int8 products on both sides, but the f32 steps
// between them (attention, layer norm) differ by ~1e-7 between x86 and wasm, enough to flip a few
// 12-bit roundings: measured 3.5e-2 on scores spanning −4..4 (int8 vs f32 natively: 0.15), same order.
const MAX_SCORE_DIFF = { webgpu: 1e-3, cpu: 5e-2 };
const readScores = (name, file) => fs.readFileSync(arg(name, `${ROOT}/target/${file}`), "utf8").trim().split("\n").map((l) => JSON.parse(l));
const nativeScores = { cpu: readScores("rerank-cpu", "rerank-native-int8.jsonl"), webgpu: readScores("rerank-webgpu", "rerank-native-f32.jsonl") };
const byQuery = new Map();
nativeScores.cpu.forEach((p, i) => byQuery.set(p.query, [...(byQuery.get(p.query) ?? []), i]));
const order = (s) => s.map((_, i) => i).sort((a, b) => s[b] - s[a]).join(",");
async function compareReranker(label) {
  const native = nativeScores[label];
  const got = new Array(native.length);
  for (const [q, idx] of byQuery) {
    const scores = await page.evaluate(([q, ps]) => window.medbridgeTest.scorePairs(q, ps), [q, idx.map((i) => native[i].passage)]);
    idx.forEach((i, j) => (got[i] = scores[j]));
  }
  const diff = Math.max(...got.map((s, i) => Math.abs(s - native[i].score)));
  results[`reranker-${label}`] = { pairs: got.length, maxAbsDiff: +diff.toExponential(2) };
  check(diff <= MAX_SCORE_DIFF[label], `${label}: reranker scores of ${got.length} pairs match the native ones (max abs diff ≤ ${MAX_SCORE_DIFF[label]})`, `max abs diff ${diff.toExponential(2)}`);
  const sameOrder = [...byQuery.values()].every((idx) => order(idx.map((i) => got[i])) === order(idx.map((i) => native[i].score)));
  check(sameOrder && order(got) === order(native.map((p) => p.score)), `${label}: reranker orders every query's passages (and all pairs) as natively`);
  return got;
}

const vectors = {};
function compare(label, vecs) {
  vectors[label] = vecs;
  const cos = vecs.map((v, i) => cosine(v, cases[i].embedding));
  const min = Math.min(...cos);
  const mean = cos.reduce((a, b) => a + b, 0) / cos.length;
  results[label] = { min: +min.toFixed(6), mean: +mean.toFixed(6), n: cos.length };
  check(vecs.length === cases.length && vecs.every((v) => v.length === 384), `${label}: ${cases.length} vectors of 384`);
  check(min >= MIN_COS, `${label}: cosine to golden ≥ ${MIN_COS}`, `min ${min.toFixed(6)}, mean ${mean.toFixed(6)}`);
}

try {
  await openPage(page, `${srv.url}/index.html`);
  const adapter = await page.evaluate(() => window.medbridgeTest.webgpuAdapter());
  console.log(`WebGPU adapter: ${JSON.stringify(adapter)}`);

  // 1. First load, WebGPU requested.
  srv.clearLog();
  const first = await page.evaluate(() => window.medbridgeTest.load({ webgpu: true }));
  console.log(`load 1: backend ${first.backend} (${first.gpuStatus}), ${first.loadMs.toFixed(0)} ms, version ${first.version}`);
  const firstModel = modelRequests(srv.log);
  check(MODEL_FILES.every((f) => firstModel.filter((e) => e.path === `/model/${f}`).length === 1),
    "load 1: each model file fetched exactly once", summary(firstModel));
  check(first.report.files.every((f) => f.source === "network"), "load 1: load report says network for every file",
    first.report.files.map((f) => `${f.name}:${f.source}`).join(" "));
  check(first.progressEvents > 3 && first.progressLast && first.progressLast.loaded === first.progressLast.total,
    "load 1: progress callbacks up to bytes total", `${first.progressEvents} events, last ${JSON.stringify(first.progressLast)}`);
  if (check(first.backend === "webgpu", "WebGPU path: backend() is webgpu", `gpuStatus: ${first.gpuStatus}`)) {
    compare("webgpu", await page.evaluate((t) => window.medbridgeTest.embed(t, "raw"), texts));
    const rid = await page.evaluate(() => window.medbridgeTest.rerankerId());
    check(typeof rid === "string" && rid.includes("+cross-"), "the bundle's reranker is loaded", rid);
    await compareReranker("webgpu");
  } else {
    console.log(`     WebGPU half NOT tested: ${first.gpuStatus}`);
  }

  // 2. Reload (same profile), CPU path: model files must come from the cache with no request at all.
  await openPage(page, `${srv.url}/index.html`);
  srv.clearLog();
  pageRequests.length = 0;
  const second = await page.evaluate(() => window.medbridgeTest.load({ webgpu: false }));
  console.log(`load 2: backend ${second.backend} (${second.gpuStatus}), ${second.loadMs.toFixed(0)} ms`);
  check(second.backend === "cpu", "load 2: webgpu:false gives the CPU path");
  check(modelRequests(srv.log).length === 0, "load 2 (reload): zero server requests for model files",
    `server log: [${summary(srv.log)}]`);
  check(!pageRequests.some((u) => MODEL_FILES.some((f) => u.endsWith(`/model/${f}`))), "load 2: zero page request events for model files",
    `page requests: ${pageRequests.map((u) => new URL(u).pathname).join(", ")}`);
  check(second.report.files.every((f) => f.source === "cache"), "load 2: load report says cache for every file",
    second.report.files.map((f) => `${f.name}:${f.source}`).join(" "));
  results.reloadServerLog = srv.log.map((e) => `${e.method} ${e.path} ${e.status}`);
  compare("cpu", await page.evaluate((t) => window.medbridgeTest.embed(t, "raw"), texts));
  await compareReranker("cpu");
  if (vectors.webgpu) {
    // Same weights, different arithmetic: close, but not bit-identical (proves two paths ran).
    const cos = vectors.webgpu.map((v, i) => cosine(v, vectors.cpu[i]));
    const maxAbs = Math.max(...vectors.webgpu.flatMap((v, i) => v.map((x, j) => Math.abs(x - vectors.cpu[i][j]))));
    results.webgpuVsCpu = { minCos: +Math.min(...cos).toFixed(7), maxAbsDiff: +maxAbs.toExponential(2) };
    // int8 products on the CPU path, f32 activations on WebGPU: cosine ≥ 0.9998 measured.
    check(Math.min(...cos) >= 0.9995, "webgpu vs cpu vectors agree", JSON.stringify(results.webgpuVsCpu));
  }

  // 3. Damage the cached weights; the next load must refetch exactly that file and still work.
  const damaged = await page.evaluate(() => window.medbridgeTest.corruptCached("weights.gguf"));
  console.log(`corrupted one byte of ${damaged.url} in cache ${damaged.cache}`);
  await openPage(page, `${srv.url}/index.html`);
  srv.clearLog();
  const third = await page.evaluate(() => window.medbridgeTest.load({ webgpu: false }));
  const thirdModel = modelRequests(srv.log);
  check(thirdModel.length === 1 && thirdModel[0].path === "/model/weights.gguf" && thirdModel[0].status === 200,
    "load 3: damaged cached weights.gguf refetched (one request, nothing else)", summary(thirdModel));
  check(third.report.files.find((f) => f.name === "weights.gguf")?.source === "network-after-damaged-cache",
    "load 3: load report says network-after-damaged-cache", third.report.files.map((f) => `${f.name}:${f.source}`).join(" "));
  const [v] = await page.evaluate((t) => window.medbridgeTest.embed([t], "raw"), texts[0]);
  check(cosine(v, cases[0].embedding) >= MIN_COS, "load 3: model works after refetch", `cos ${cosine(v, cases[0].embedding).toFixed(6)}`);
  await openPage(page, `${srv.url}/index.html`);
  srv.clearLog();
  await page.evaluate(() => window.medbridgeTest.load({ webgpu: false }));
  check(modelRequests(srv.log).length === 0, "load 4: repaired cache serves every file again", summary(modelRequests(srv.log)));

  // Default policy ("auto"): a software fallback adapter (SwiftShader here) is skipped for the CPU path.
  if (adapter?.isFallbackAdapter) {
    await openPage(page, `${srv.url}/index.html`);
    const auto = await page.evaluate(() => window.medbridgeTest.load({}));
    check(auto.backend === "cpu" && /software fallback/.test(auto.gpuStatus), "default options skip a software fallback adapter", auto.gpuStatus);
  }

  // 4. Errors are JS Errors with messages.
  const errs = await page.evaluate(async () => {
    const { MedBridge } = await import("/pkg/medbridge.js");
    const out = {};
    try { await MedBridge.load("/no-such-model/", null, {}); out.load = "no error"; } catch (e) { out.load = `${e instanceof Error}: ${e.message}`; }
    try { await window.medbridgeTest.embed(["x"], "question"); out.kind = "no error"; } catch (e) { out.kind = `${e instanceof Error}: ${e.message}`; }
    return out;
  });
  check(/^true: .*manifest\.json.*404/.test(errs.load), "missing bundle → Error naming the URL and status", errs.load);
  check(/^true: .*unknown kind/.test(errs.kind), "bad kind → Error", errs.kind);
  const panic = await page.evaluate(() => window.medbridgeTest.lastPanic());
  check(panic == null, "no Rust panic", panic ?? "");
} catch (e) {
  check(false, "test run", e.stack || String(e));
  console.log(browser.consoleLines.slice(-20).join("\n"));
} finally {
  await browser.close();
  await srv.close();
}

console.log(`\ncosines: ${JSON.stringify(results.webgpu ? { webgpu: results.webgpu, cpu: results.cpu, webgpuVsCpu: results.webgpuVsCpu } : { cpu: results.cpu })}`);
console.log(`reranker vs native: ${JSON.stringify({ webgpu: results["reranker-webgpu"], cpu: results["reranker-cpu"] })}`);
console.log(`reload server log (model files must be absent): ${JSON.stringify(results.reloadServerLog)}`);
if (failures.length) {
  console.log(`\n${failures.length} FAILED: ${failures.join("; ")}`);
  process.exit(1);
}
console.log("\nall browser tests passed");
