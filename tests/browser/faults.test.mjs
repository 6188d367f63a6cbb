// The search page under faults (issue 14), in headless Chromium against `medbridge serve`:
//
//   node tests/browser/faults.test.mjs [--assets target/page-assets/icd10-es-slice-names-q8_0] [--index-assets target/page-assets/icd10-es-r5-q8_0]
//
//  1. storage quota exceeded while caching the model (CDP Storage.overrideQuotaForOrigin): the page works
//     from memory and says it could not keep a copy;
//  2. offline on a first visit (every asset request fails as with no network): a clear message, no
//     endless spinner, "Try again" works once the network is back;
//  3. a download cut short: every time (error, and no unverified cache entry), then only once (the page
//     downloads it again by itself); the cache is checked against the manifest's sha256s;
//  4. IndexedDB holding damaged document records: the good document loads and is found, each damaged one
//     is named;
//  5. two tabs adding documents at the same time: both tabs list both, and a reload keeps both;
//  6. the WebGPU device lost between queries (GPUDevice.destroy(), hooked into the worker by the test):
//     the page moves to the CPU path, says so, and returns the same codes;
//  7. a new catalogue index published (--index-assets: a bundle of the same model with another index):
//     a returning visitor downloads only catalog.mbca, the old index's cached copy is deleted, and the
//     new index answers.
// Exit code 1 if anything fails.
import fs from "node:fs";
import path from "node:path";
import { ROOT, CHROMIUM, arg } from "./lib.mjs";
import { startServer, launch, waitReady, search, foreign } from "./page-lib.mjs";

const ASSETS = path.resolve(arg("assets", process.env.MEDBRIDGE_PAGE_ASSETS || path.join(ROOT, "target/page-assets/icd10-es-slice-names-q8_0")));
const MB = path.resolve(arg("medbridge", process.env.MEDBRIDGE_BIN || path.join(ROOT, "target/debug/medbridge")));
const MANIFEST = JSON.parse(fs.readFileSync(path.join(ASSETS, "manifest.json"), "utf8"));
const INDEX_ASSETS = path.resolve(arg("index-assets", path.join(ROOT, "target/page-assets/icd10-es-r5-q8_0")));
const WEIGHTS = "weights.gguf";
const QUERY = { q: "diabetes mellitus tipo 2", lang: "es", code: "E11" };

const failures = [];
function check(ok, what, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${detail ? ` — ${detail}` : ""}`);
  if (!ok) failures.push(what);
  return ok;
}

// Wait for the engine to settle (ready or error), within `timeout`: never an endless spinner.
async function settle(page, timeout = 300_000) {
  const t0 = Date.now();
  const r = await waitReady(page, timeout).catch(() => null);
  return r && { ...r, ms: Date.now() - t0, retry: await page.isVisible("#retry") };
}

// Every response in this origin's medbridge caches, checked against the manifest: {name: "ok" | why}.
async function cachedFiles(page) {
  const entries = await page.evaluate(async () => {
    const out = [];
    for (const name of await caches.keys()) {
      if (!name.startsWith("medbridge-model-")) continue;
      const c = await caches.open(name);
      for (const req of await c.keys()) {
        const bytes = new Uint8Array(await (await c.match(req)).arrayBuffer());
        const sha = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
        out.push({ cache: name, url: req.url, bytes: bytes.length, sha });
      }
    }
    return out;
  });
  const byName = {};
  for (const e of entries) {
    const name = new URL(e.url).pathname.split("/").pop();
    const want = MANIFEST.files.find((f) => f.name === name);
    if (name === "manifest.json") byName[name] = "ok";
    else if (!want) byName[name] = "not in the manifest";
    else byName[name] = e.bytes === want.bytes && e.sha === want.sha256 ? "ok" : `damaged (${e.bytes} bytes, sha ${e.sha.slice(0, 12)}…)`;
  }
  return byName;
}

async function addPasted(page, title, text) {
  await page.evaluate(() => { document.getElementById("paste-box").open = true; });
  await page.fill("#paste-title", title);
  await page.fill("#paste", text);
  await page.click("#paste-add");
}

async function docNames(page) {
  return page.$$eval("#doc-list li .doc-name", (els) => els.map((e) => e.textContent).sort());
}

// Serve the first half of `name`'s bytes (as a connection dropped half-way would), `times` times.
async function cutShort(context, name, times) {
  let cut = 0;
  await context.route(`**/assets/${name}`, async (route) => {
    if (cut >= times) return route.continue();
    cut++;
    const res = await route.fetch();
    const body = await res.body();
    await route.fulfill({ response: res, body: body.subarray(0, body.length >> 1) });
  });
  return () => cut;
}

// 1. Quota exceeded while caching.
async function quota(srv) {
  console.log("\n=== storage quota exceeded while caching the model (cpu)");
  const b = await launch("cpu");
  try {
    const cdp = await b.context.newCDPSession(b.page);
    await cdp.send("Storage.overrideQuotaForOrigin", { origin: srv.url, quotaSize: 2 * 1024 * 1024 });
    await b.page.goto(`${srv.url}/?webgpu=off&lang=es`, { waitUntil: "domcontentloaded" });
    const r = await settle(b.page);
    check(r?.state === "ready", "quota: the page starts although nothing big can be stored", r?.status);
    const notice = await b.page.isVisible("#storage-notice") ? await b.page.textContent("#storage-notice") : "";
    check(/could not keep a copy/.test(notice) && /next visit downloads/.test(notice), "quota: the page says it could not keep a copy", notice);
    const weights = r?.files?.find((f) => f.name === WEIGHTS);
    check(weights && weights.cached === false, "quota: the load report marks the model as not cached", JSON.stringify(weights));
    const res = await search(b.page, QUERY.q, QUERY.lang);
    check(res.codes[0]?.startsWith(QUERY.code), "quota: searches work from memory", res.codes.slice(0, 3).join(" "));
    const cached = await cachedFiles(b.page);
    check(Object.values(cached).every((v) => v === "ok") && !(WEIGHTS in cached), "quota: whatever was cached is intact, the model is not", JSON.stringify(cached));
  } finally {
    await b.close();
  }
}

// 2–5 in one profile: offline first visit → a download cut short every time → cut short once → damaged
// IndexedDB records → two tabs.
async function network(srv) {
  console.log("\n=== offline first visit, interrupted downloads, damaged documents, two tabs (cpu)");
  const b = await launch("cpu");
  const { page, context } = b;
  const url = `${srv.url}/?webgpu=off&lang=es`;
  try {
    // 2. Offline.
    await context.route("**/assets/**", (route) => route.abort("internetdisconnected"));
    await page.goto(url, { waitUntil: "domcontentloaded" });
    let r = await settle(page, 60_000);
    check(r?.state === "error" && /offline/.test(r.status), "offline: a clear message, within 60 s", r ? `${r.ms} ms: ${r.status}` : "still loading after 60 s");
    check(r?.retry === true, "offline: a Try again button is offered");
    await context.unroute("**/assets/**");

    // 3a. Cut short every time: an error, and nothing unverified kept.
    const always = await cutShort(context, WEIGHTS, Infinity);
    await page.click("#retry");
    r = await settle(page);
    check(r?.state === "error" && /interrupted/.test(r.status) && /cut short/.test(r.status), "interrupted: a download cut short every time ends in a clear message", r?.status);
    check(always() === 3, "interrupted: the page tried the download 3 times", `${always()} downloads`);
    let cached = await cachedFiles(page);
    check(!(WEIGHTS in cached) && Object.values(cached).every((v) => v === "ok"), "interrupted: no damaged or partial cache entry survives (sha256)", JSON.stringify(cached));
    await context.unroute(`**/assets/${WEIGHTS}`);

    // 3b. Cut short once: downloaded again by itself, then cached and verified.
    const once = await cutShort(context, WEIGHTS, 1);
    await page.click("#retry");
    r = await settle(page);
    const w = r?.files?.find((f) => f.name === WEIGHTS);
    check(r?.state === "ready" && w?.source === "network-retry" && w?.attempts === 2 && once() === 1,
      "interrupted once: the page downloads the file again and starts", `${r?.status}; ${JSON.stringify(w)}`);
    cached = await cachedFiles(page);
    check(MANIFEST.files.every((f) => cached[f.name] === "ok"), "interrupted once: every cached file matches the manifest's sha256", JSON.stringify(cached));
    await context.unroute(`**/assets/${WEIGHTS}`);
    const res = await search(page, QUERY.q, QUERY.lang);
    check(res.codes[0]?.startsWith(QUERY.code), "interrupted once: searches work", res.codes.slice(0, 3).join(" "));

    // 4. Damaged documents in IndexedDB next to a good one.
    await addPasted(page, "Nota de alta", "Paciente con fractura de cadera tras una caída; se programa artroplastia y rehabilitación.");
    await page.waitForFunction(() => [...document.querySelectorAll("#doc-list li .doc-name")].some((e) => e.textContent === "Nota de alta.txt"), null, { timeout: 120_000 });
    await page.evaluate(() => new Promise((resolve, reject) => {
      const req = indexedDB.open("medbridge", 1);
      req.onsuccess = () => {
        const tx = req.result.transaction("documents", "readwrite");
        const s = tx.objectStore("documents");
        s.put({ id: "damaged-bytes", name: "informe-dañado.md", passages: 2, addedMs: 0, bytes: new Uint8Array([77, 66, 68, 79, 67, 1, 2, 3]).buffer });
        s.put({ id: "no-bytes", name: "nota-vacía.txt", passages: 1, addedMs: 0 });
        tx.oncomplete = () => { req.result.close(); resolve(); };
        tx.onerror = () => reject(tx.error);
      };
      req.onerror = () => reject(req.error);
    }));
    await page.goto(url, { waitUntil: "domcontentloaded" });
    r = await settle(page);
    const status = await page.textContent("#doc-status");
    check(r?.state === "ready" && JSON.stringify(await docNames(page)) === JSON.stringify(["Nota de alta.txt"]), "damaged records: the good document is restored, the damaged ones are not listed", JSON.stringify(await docNames(page)));
    check(/informe-dañado\.md/.test(status) && /nota-vacía\.txt/.test(status), "damaged records: each damaged record is named", status);
    const hip = await search(page, "hip fracture after a fall", "en");
    check(hip.docs[0]?.doc === "Nota de alta.txt", "damaged records: the good document is still found", JSON.stringify(hip.docs[0] || null));

    // 5. Two tabs add a document each, at the same time.
    const page2 = await context.newPage();
    await page2.goto(url, { waitUntil: "domcontentloaded" });
    const r2 = await settle(page2);
    check(r2?.state === "ready", "two tabs: the second tab starts", r2?.status);
    const want = ["Nota de alta.txt", "Nota A.txt", "Nota B.txt"].sort();
    await Promise.all([
      addPasted(page, "Nota A", "Dolor torácico opresivo irradiado al brazo izquierdo; troponina elevada."),
      addPasted(page2, "Nota B", "Tos productiva y fiebre de tres días; crepitantes en la base derecha."),
    ]);
    const both = (p) => p.waitForFunction((n) => document.querySelectorAll("#doc-list li").length >= n, want.length, { timeout: 180_000 }).then(() => true, () => false);
    await Promise.all([both(page), both(page2)]);
    const [l1, l2] = [await docNames(page), await docNames(page2)];
    check(JSON.stringify(l1) === JSON.stringify(want) && JSON.stringify(l2) === JSON.stringify(want), "two tabs: each tab lists both new documents", `tab 1 ${JSON.stringify(l1)}; tab 2 ${JSON.stringify(l2)}`);
    await page2.close();
    await page.goto(url, { waitUntil: "domcontentloaded" });
    await settle(page);
    const l3 = await docNames(page);
    check(JSON.stringify(l3) === JSON.stringify(want), "two tabs: after a reload both documents are still there", JSON.stringify(l3));
    const cough = await search(page, "productive cough and fever", "en");
    check(cough.docs[0]?.doc === "Nota B.txt", "two tabs: the other tab's document is searchable here", JSON.stringify(cough.docs[0] || null));
    const bad = foreign(b.requests, srv.url);
    check(bad.length === 0, "faults: no request to any other origin", bad.slice(0, 5).join(", "));
  } finally {
    await b.close();
  }
}

// 6. Device lost: the test wraps GPUAdapter.requestDevice in the worker to keep the devices, and destroys
// them on a message (the page itself has no such hook).
const DEVICE_HOOK = `const __medbridgeTestDevices = [];
{
  const request = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...a) { const d = await request.apply(this, a); __medbridgeTestDevices.push(d); return d; };
  new BroadcastChannel("medbridge-test").onmessage = (ev) => { if (ev.data && ev.data.type === "test:destroy-gpu") for (const d of __medbridgeTestDevices) d.destroy(); };
}
`;

async function deviceLost(srv) {
  console.log("\n=== WebGPU device lost between queries (SwiftShader)");
  const b = await launch("webgpu");
  const { page, context } = b;
  try {
    await context.route("**/worker.js", async (route) => {
      const res = await route.fetch();
      await route.fulfill({ response: res, body: DEVICE_HOOK + (await res.text()) });
    });
    await page.goto(`${srv.url}/?webgpu=on&lang=es`, { waitUntil: "domcontentloaded" });
    const r = await settle(page);
    if (!check(r?.state === "ready" && r.backend === "webgpu", "device lost: the page starts on WebGPU", r?.status)) return;
    const before = await search(page, QUERY.q, QUERY.lang);
    check(before.backend === "webgpu", "device lost: the first query runs on WebGPU", before.latency);
    await page.evaluate(() => new BroadcastChannel("medbridge-test").postMessage({ type: "test:destroy-gpu" }));
    const after = await search(page, QUERY.q, QUERY.lang);
    const status = await page.evaluate(() => ({ backend: document.getElementById("status").dataset.backend, notice: document.getElementById("engine-notice").textContent }));
    check(after.backend === "cpu" && status.backend === "cpu", "device lost: the query is answered on the CPU path", after.latency);
    check(/WebGPU stopped working/.test(status.notice), "device lost: the page says it moved to the CPU", status.notice);
    // Each code's score on both paths. The CPU path computes in int8 (WebGPU: f32 activations): the
    // reranker's scores differ by up to ~0.15 natively between the two, so near-ties may swap below the top 5.
    const maxDiff = Math.max(...before.hits.map((h) => Math.abs(h.score - (after.hits.find((a) => a.code === h.code)?.score ?? Infinity))));
    check(JSON.stringify(before.codes.slice(0, 5)) === JSON.stringify(after.codes.slice(0, 5)) && before.codes.length === after.codes.length &&
      before.codes.every((c) => after.codes.includes(c)) && maxDiff <= 0.1,
      "device lost: same codes (top 5 in the same order, same top 10) and each code's score within 0.1", `WebGPU ${before.codes.join(" ")}; CPU ${after.codes.join(" ")}; max score diff ${maxDiff.toExponential(2)}`);
    const next = await search(page, "infarto agudo de miocardio", "es");
    check(next.codes[0]?.startsWith("I21") && next.backend === "cpu", "device lost: later queries keep working on the CPU", next.codes.slice(0, 3).join(" "));
  } finally {
    await b.close();
  }
}

// 7. A new catalogue index: the site's assets change only catalog.mbca (and the manifest).
async function newIndex() {
  console.log("\n=== a new catalogue index published: only it is downloaded again (cpu)");
  const next = JSON.parse(fs.readFileSync(path.join(INDEX_ASSETS, "manifest.json"), "utf8"));
  const sha = (m, name) => m.files.find((f) => f.name === name)?.sha256;
  const same = ["weights.gguf", "tokenizer.json", "config.json"].every((n) => sha(next, n) === sha(MANIFEST, n));
  if (!check(same && sha(next, "catalog.mbca") !== sha(MANIFEST, "catalog.mbca"), "new index: the two bundles differ in catalog.mbca only",
    `${INDEX_ASSETS} vs ${ASSETS}`)) return;
  const dir = fs.mkdtempSync(path.join(ROOT, "target/new-index-"));
  fs.cpSync(ASSETS, dir, { recursive: true });
  const own = await startServer(MB, dir);
  const b = await launch("cpu");
  try {
    await b.page.goto(`${own.url}/?webgpu=off&lang=es`, { waitUntil: "domcontentloaded" });
    const first = await settle(b.page);
    check(first?.state === "ready" && first.files.every((f) => f.source === "network"), "new index: first visit downloads everything", first?.status);
    // publish the new index: its file, then its manifest (as a deploy would)
    fs.copyFileSync(path.join(INDEX_ASSETS, "catalog.mbca"), path.join(dir, "catalog.mbca"));
    fs.copyFileSync(path.join(INDEX_ASSETS, "manifest.json"), path.join(dir, "manifest.json"));
    own.clear();
    await b.page.reload({ waitUntil: "domcontentloaded" });
    const again = await settle(b.page);
    const sources = Object.fromEntries((again?.files || []).map((f) => [f.name, f.source]));
    check(again?.state === "ready" && sources["catalog.mbca"] === "network" && ["weights.gguf", "tokenizer.json", "config.json"].every((n) => sources[n] === "cache"),
      "new index: the returning visit downloads catalog.mbca only (load report)", JSON.stringify(sources));
    const fetched = own.log.filter((e) => e.path.startsWith("/assets/") && e.status === 200).map((e) => e.path).sort();
    check(JSON.stringify(fetched) === JSON.stringify(["/assets/catalog.mbca", "/assets/manifest.json"]), "new index: the server sent the manifest and catalog.mbca, nothing else",
      fetched.join(", "));
    const report = await b.page.evaluate(() => window.medbridgePage.info.report);
    const deleted = report.deletedCaches.filter((u) => u.includes("/assets/catalog.mbca?sha256="));
    check(deleted.length === 1 && deleted[0].endsWith(sha(MANIFEST, "catalog.mbca")), "new index: the old index's cached copy is deleted", JSON.stringify(report.deletedCaches));
    const res = await search(b.page, "fiebre", "es");
    check(res.codes.length > 0 && res.codes.every((c) => c.startsWith("R5")), "new index: searches answer from the new index (R5x codes only)", res.codes.slice(0, 5).join(" "));
  } finally {
    await b.close();
    own.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

for (const f of [MB, path.join(ROOT, "www/pkg/medbridge_bg.wasm"), path.join(ASSETS, "manifest.json"), CHROMIUM]) {
  if (!fs.existsSync(f)) {
    console.error(`${f} is missing: run tests/browser/run-page.sh (builds the package, the index and the page's assets)`);
    process.exit(1);
  }
}
const only = (arg("only", "") || "").split(",").filter(Boolean);
const srv = await startServer(MB, ASSETS);
const t0 = Date.now();
try {
  for (const [name, run] of [["quota", quota], ["network", network], ["device-lost", deviceLost], ["new-index", newIndex]]) {
    if (only.length && !only.includes(name)) continue;
    try {
      await run(srv);
    } catch (e) {
      check(false, `${name}: test run`, e.stack || String(e));
    }
  }
} finally {
  srv.close();
}
console.log(`\nfault tests took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
if (failures.length) {
  console.log(`\n${failures.length} FAILED: ${failures.join("; ")}`);
  process.exit(1);
}
console.log("\nall fault tests passed");
