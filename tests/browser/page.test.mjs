// End-to-end tests of the search page (www/) in headless Chromium, served by `medbridge serve`.
//
//   node tests/browser/page.test.mjs [--assets target/page-assets/icd10-es-slice-names-q8_0] [--modes webgpu,cpu]
//
// Runs everything twice: with WebGPU (--enable-unsafe-webgpu, SwiftShader; the page's engine set to WebGPU)
// and with WebGPU unavailable (no flag, WebGPU disabled: the page must say so and use the CPU path).
// Per mode, in a fresh browser profile:
//  1. first visit: progress → ready with the backend shown; the fixed cases (six languages) each have their
//     expected code at rank 1 (everyday wordings: in the top 5; ranks recorded); time from navigation to the first result;
//  2. a document added through the file input (Spanish) is found by an English query; unsupported and
//     too-large files are refused with clear messages;
//  3. reload (cached visit): zero requests for model/index files, the document is still there and found;
//     time to first result again;
//  4. (cpu mode) export → remove → import round trip; removal survives a reload;
//  5. never a request to another origin (server log and browser request events), screenshots under
//     target/screenshots/.
// Writes target/page-test-report.json. Exit code 1 if anything fails.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT, CHROMIUM, arg } from "./lib.mjs";
import { startServer, launch, waitReady, search, foreign } from "./page-lib.mjs";

const ASSETS = path.resolve(arg("assets", process.env.MEDBRIDGE_PAGE_ASSETS || path.join(ROOT, "target/page-assets/icd10-es-slice-names-q8_0")));
const MODES = arg("modes", process.env.MEDBRIDGE_PAGE_MODES || "webgpu,cpu").split(",");
const MB = path.resolve(arg("medbridge", process.env.MEDBRIDGE_BIN || path.join(ROOT, "target/debug/medbridge")));
const SHOTS = path.join(ROOT, "target/screenshots");
const ASSET_FILES = ["weights.gguf", "tokenizer.json", "config.json", "catalog.mbca", "reranker.gguf"];

// Fixed cases: query, language, expected code prefix, the rank it must reach (1 unless `top` says otherwise).
// Index: the Spanish catalogue (descriptions es) under all names.
export const CASES = [
  { lang: "es", q: "diabetes mellitus tipo 2", code: "E11" },
  { lang: "es", q: "infarto agudo de miocardio", code: "I21" },
  { lang: "es", q: "neumonía bacteriana", code: "J15" },
  { lang: "en", q: "type 2 diabetes mellitus", code: "E11" },
  { lang: "en", q: "acute myocardial infarction", code: "I21" },
  { lang: "en", q: "essential hypertension", code: "I10" },
  { lang: "ca", q: "infart agut de miocardi", code: "I21" },
  { lang: "ca", q: "diabetis mellitus tipus 2", code: "E11" },
  { lang: "ca", q: "insuficiència cardíaca", code: "I50" },
  { lang: "it", q: "infarto miocardico acuto", code: "I21" },
  { lang: "it", q: "asma bronchiale", code: "J45" },
  { lang: "it", q: "cefalea", code: "R51" },
  { lang: "pt", q: "diabetes mellitus tipo 2", code: "E11" },
  { lang: "pt", q: "pneumonia bacteriana", code: "J15" },
  { lang: "pt", q: "insuficiência cardíaca", code: "I50" },
  { lang: "fr", q: "infarctus aigu du myocarde", code: "I21" },
  { lang: "fr", q: "diabète sucré de type 2", code: "E11" },
  { lang: "fr", q: "pneumonie bactérienne", code: "J15" },
  // everyday wordings, found through the names the index learned (the synthetic generator's lay wordings)
  { lang: "it", q: "mal di testa", code: "R51", top: 5 },
  { lang: "ca", q: "mal de cap", code: "R51", top: 5 },
  { lang: "es", q: "dolor de cabeza", code: "R51", top: 5 },
  { lang: "es", q: "dolor torácico opresivo", code: "R07", top: 5 },
  { lang: "fr", q: "hypertension artérielle essentielle", code: "I10", top: 5 },
];
// Wordings still missed (ranks reported, not asserted): targets for the next models.
export const KNOWN_MISSES = [];

const DOC_NAME = "protocolo-urgencias.md";
const DOC_TEXT = `# Protocolo de urgencias

## Técnica de inhalación
Para usar el inhalador con cámara espaciadora: agitar el inhalador, acoplarlo a la cámara, exhalar,
pulsar una vez y respirar lentamente por la boquilla cinco veces. Enjuagar la boca tras los corticoides.

## Dieta en insuficiencia cardiaca
Limitar la sal a menos de dos gramos al día y pesarse cada mañana; consultar si aumenta dos kilos en tres días.
`;
const DOC_QUERY = { q: "how do I use an inhaler with a spacer", expect: "cámara espaciadora" };

const failures = [];
const report = { cases: {}, timings: {}, sizes: {}, requests: {}, screenshots: [] };
function check(ok, what, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${detail ? ` — ${detail}` : ""}`);
  if (!ok) failures.push(what);
  return ok;
}

async function runMode(mode, srv) {
  console.log(`\n=== mode ${mode}${mode === "cpu" ? " (WebGPU unavailable)" : " (WebGPU, SwiftShader)"}`);
  const b = await launch(mode);
  const { page } = b;
  const url = `${srv.url}/?webgpu=${mode === "webgpu" ? "on" : "auto"}&lang=es`;
  const r = { cases: [] };
  report.cases[mode] = r.cases;
  try {
    // 1. First visit.
    srv.clear();
    const t0 = Date.now();
    await page.goto(url, { waitUntil: "domcontentloaded" });
    const sawProgress = await page.waitForFunction(() => /Downloading the search engine: \d+ %/.test(document.getElementById("status").textContent) ||
      document.getElementById("status").dataset.state !== "loading", null, { timeout: 60_000, polling: 50 }).then(() => true, () => false);
    const ready = await waitReady(page);
    if (!check(ready.state === "ready", `${mode}: page ready`, `${ready.status} ${ready.detail}`)) {
      console.log(b.consoleLines.slice(-20).join("\n"));
      return;
    }
    check(sawProgress, `${mode}: progress shown while downloading`);
    const first = await search(page, CASES[0].q, CASES[0].lang);
    const firstResultMs = Date.now() - t0;
    console.log(`${mode}: ${ready.status}; ${ready.detail}; first result after ${firstResultMs} ms (${first.latency})`);
    if (mode === "webgpu") {
      check(ready.backend === "webgpu", "webgpu: the page runs on WebGPU and says so", ready.status);
    } else {
      check(ready.backend === "cpu", "cpu: the page runs on the CPU and says so", ready.status);
      check(!!ready.notice && /WebGPU/.test(ready.notice), "cpu: the page explains that WebGPU is unavailable", ready.notice || "no notice");
    }
    check(ready.files.every((f) => f.source === "network"), `${mode}: first visit downloads every asset`, ready.files.map((f) => `${f.name}:${f.source}`).join(" "));
    report.sizes[mode] = Object.fromEntries(srv.log.filter((e) => e.status === 200).map((e) => [e.path.split("?")[0], e.bytes]));
    report.timings[mode] = { firstVisit: { readyMs: Math.round(ready.readyMs), firstResultMs } };

    // The reranker is on by default and reorders the first search. SwiftShader (a CPU pretending to be a GPU)
    // takes ~1 s per pair: in webgpu mode only this search is reranked on the GPU path (its scores are checked
    // against native ones by encoder.test.mjs) and the cases rank with the first stage alone.
    check(first.last.reranked === true && first.stages[0]?.endsWith("+ reranker") && first.codes[0]?.startsWith(CASES[0].code),
      `${mode}: the first search is reranked by default (${first.backend}), ${CASES[0].code} first`, first.latency);
    if (mode === "webgpu") await page.uncheck("#rerank");

    // Cases.
    for (const c of CASES) {
      const res = await search(page, c.q, c.lang);
      const rank = res.codes.findIndex((code) => code === c.code || code.startsWith(c.code + ".")) + 1;
      r.cases.push({ ...c, rank: rank || null, top5: res.codes.slice(0, 5), ms: Math.round(res.last.totalMs), rerankMs: Math.round(res.last.rerankMs), reranked: res.last.reranked });
      const top = c.top || 1;
      check(rank >= 1 && rank <= top, `${mode}: [${c.lang}] "${c.q}" → ${c.code} ${top === 1 ? "at rank 1" : `in top ${top}`}`, `rank ${rank || "none"}, top 5 ${res.codes.slice(0, 5).join(" ")}`);
    }
    const unreranked = r.cases.filter((c) => !c.reranked);
    if (mode === "cpu") check(unreranked.length === 0, `${mode}: every case's codes were reranked by the cross-encoder (on by default)`, unreranked.map((c) => c.q).join(", "));
    const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const qms = { queryMedianMs: median(r.cases.map((c) => c.ms)), queryMaxMs: Math.max(...r.cases.map((c) => c.ms)), rerankMedianMs: median(r.cases.map((c) => c.rerankMs)) };
    console.log(`     ${mode}: query (${mode === "cpu" ? "reranked" : "first stage only"}): median ${qms.queryMedianMs} ms (max ${qms.queryMaxMs}), of which reranking median ${qms.rerankMedianMs} ms`);
    if (mode === "cpu") {
      // The same cases with the top 20 reranked, through the page's engine client (one call: embed, search, rerank).
      const top20 = [];
      for (const c of CASES) {
        top20.push(await page.evaluate(async ([q, lang]) => {
          const t0 = performance.now();
          const res = await window.medbridgePage.engine.search(q, { lang, k: 10, rerank: 20 });
          return { ms: performance.now() - t0, rerankMs: res.rerankMs, reranked: res.reranked };
        }, [c.q, c.lang]));
      }
      check(top20.every((t) => t.reranked), "cpu: a search reranking the top 20 (engine option rerank: 20) is reranked", JSON.stringify(top20.filter((t) => !t.reranked)));
      qms.top20MedianMs = Math.round(median(top20.map((t) => t.ms)));
      qms.top20RerankMedianMs = Math.round(median(top20.map((t) => t.rerankMs)));
      console.log(`     cpu: query reranking the top 20: median ${qms.top20MedianMs} ms (max ${Math.round(Math.max(...top20.map((t) => t.ms)))}), of which reranking median ${qms.top20RerankMedianMs} ms`);
    }
    // The setting turns it off (and says so in the latency line); back on for the rest.
    if (mode === "cpu") {
    await page.uncheck("#rerank");
    const plain = await search(page, CASES[0].q, CASES[0].lang);
    check(plain.last.reranked === false && !/reranking/.test(plain.latency) && plain.stages.every((s) => !/reranker/.test(s)),
      `${mode}: "Rerank" off → first-stage order, no reranking time shown`, `${plain.latency}; ${Math.round(plain.last.totalMs)} ms`);
    qms.queryWithoutRerankMs = Math.round(plain.last.totalMs);
    await page.check("#rerank");
    const on = await search(page, CASES[0].q, CASES[0].lang);
    check(on.last.reranked && /reranking \d+ ms/.test(on.latency) && on.stages[0].endsWith("+ reranker"),
      `${mode}: on again → reranked, its latency shown`, on.latency);
    }
    report.timings[mode].queries = qms;
    r.misses = [];
    for (const c of KNOWN_MISSES) {
      const res = await search(page, c.q, c.lang);
      const rank = res.codes.findIndex((code) => code === c.code || code.startsWith(c.code + ".")) + 1;
      r.misses.push({ ...c, rank: rank || null, top5: res.codes.slice(0, 5) });
      console.log(`info ${mode}: known miss [${c.lang}] "${c.q}" → ${c.code}: rank ${rank || "none in top 10"}, top 5 ${res.codes.slice(0, 5).join(" ")}`);
    }
    report.misses = report.misses || {};
    report.misses[mode] = r.misses;
    // The Catalan view marks its fallback descriptions.
    const ca = await search(page, "mal de cap", "ca");
    check(ca.fallbacks === ca.codes.length && ca.codes.length > 0, `${mode}: Catalan descriptions are marked as a fallback language`, ca.first);
    // Hybrid ranking (bi-encoder + BM25 fusion) labels each code with the stage(s) that found it.
    await page.selectOption("#method", "hybrid");
    const hy = await search(page, "diabetes mellitus tipo 2", "es");
    const stages = await page.$$eval("#code-results li .badge.stage", (els) => els.map((e) => e.textContent));
    check(hy.codes.slice(0, 5).some((c) => c.startsWith("E11")) && stages.some((s) => s.startsWith("bi-encoder+bm25")), `${mode}: hybrid ranking works and shows the ranking stage`,
      `top 5 ${hy.codes.slice(0, 5).join(" ")}; stages ${[...new Set(stages)].join(", ")}`);
    await page.selectOption("#method", "dense");
    const shot = path.join(SHOTS, `results-${mode}.png`);
    await search(page, "infart agut de miocardi", "en"); // Catalan query, English descriptions (fallbacks marked)
    await page.screenshot({ path: shot, fullPage: false });
    report.screenshots.push(path.relative(ROOT, shot));

    // 2. Documents: add through the file input; refuse bad files.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbridge-docs-"));
    const docPath = path.join(dir, DOC_NAME);
    fs.writeFileSync(docPath, DOC_TEXT);
    const tAdd = Date.now();
    await page.setInputFiles("#file", docPath);
    await page.waitForFunction((n) => [...document.querySelectorAll("#doc-list li .doc-name")].some((e) => e.textContent === n) ||
      document.getElementById("doc-status").dataset.kind === "error", DOC_NAME, { timeout: 300_000 });
    const addStatus = await page.textContent("#doc-status");
    check(/^Added/.test(addStatus), `${mode}: document added through the file input`, `${addStatus} (${Date.now() - tAdd} ms)`);
    const found = await search(page, DOC_QUERY.q, "en");
    check(found.docs.length > 0 && found.docs[0].doc === DOC_NAME && found.docs[0].text.includes(DOC_QUERY.expect),
      `${mode}: English query finds the Spanish document's passage first`, JSON.stringify(found.docs[0] || null));
    const pdf = path.join(dir, "scan.pdf");
    fs.writeFileSync(pdf, "%PDF-1.4");
    await page.setInputFiles("#file", pdf);
    check(/unsupported file type \.pdf/.test(await page.textContent("#doc-status")), `${mode}: unsupported file type refused`, await page.textContent("#doc-status"));
    const big = path.join(dir, "big.txt");
    fs.writeFileSync(big, "x".repeat(6 * 1024 * 1024));
    await page.setInputFiles("#file", big);
    check(/file too large/.test(await page.textContent("#doc-status")), `${mode}: file too large refused`, await page.textContent("#doc-status"));
    fs.rmSync(dir, { recursive: true, force: true });

    // 3. Cached visit.
    srv.clear();
    b.requests.length = 0;
    const t1 = Date.now();
    await page.goto(url, { waitUntil: "domcontentloaded" });
    const ready2 = await waitReady(page);
    check(ready2.state === "ready", `${mode}: reload ready`, ready2.status);
    const again = await search(page, CASES[0].q, CASES[0].lang);
    const cachedFirstResultMs = Date.now() - t1;
    report.timings[mode].cachedVisit = { readyMs: Math.round(ready2.readyMs), firstResultMs: cachedFirstResultMs };
    // where a cached start goes: the engine's stages, and the sha256 checks inside "files"
    const verifyMs = Math.round(ready2.files.reduce((a, f) => a + f.verifyMs, 0));
    console.log(`     ${mode} cached start: ${(ready2.stages || []).map(([s, ms]) => `${s} ${Math.round(ms)} ms`).join(" · ")} (sha256 of all files: ${verifyMs} ms); first result ${cachedFirstResultMs} ms after navigation`);
    report.timings[mode].cachedVisit.stages = ready2.stages;
    report.timings[mode].cachedVisit.verifyMs = verifyMs;
    const assetReqs = srv.log.filter((e) => ASSET_FILES.some((f) => e.path === `/assets/${f}`));
    check(assetReqs.length === 0, `${mode}: cached visit makes zero requests for model/index files`, `server log: ${srv.log.map((e) => `${e.status} ${e.path}`).join(", ")}`);
    check(ready2.files.every((f) => f.source === "cache"), `${mode}: load report says cache for every asset`, ready2.files.map((f) => `${f.name}:${f.source}`).join(" "));
    report.requests[`${mode}-cached`] = srv.log.map((e) => `${e.method} ${e.path} ${e.status} ${e.bytes}`);
    check(again.codes[0] !== undefined, `${mode}: cached visit answers`, `first result after ${cachedFirstResultMs} ms`);
    const docsAfter = await page.$$eval("#doc-list li .doc-name", (els) => els.map((e) => e.textContent));
    check(docsAfter.includes(DOC_NAME), `${mode}: the document is still there after the reload`, JSON.stringify(docsAfter));
    const found2 = await search(page, DOC_QUERY.q, "en");
    check(found2.docs[0]?.doc === DOC_NAME, `${mode}: and still found after the reload`, JSON.stringify(found2.docs[0] || null));

    // 4. Export → remove → import; removal persists.
    if (mode === "cpu") {
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export")]);
      const exported = path.join(os.tmpdir(), `medbridge-export-${process.pid}.mbdocs`);
      await download.saveAs(exported);
      check(fs.statSync(exported).size > 1000, "cpu: export writes one file", `${fs.statSync(exported).size} bytes`);
      await page.click(`#doc-list li button.remove`);
      await page.waitForFunction(() => document.querySelectorAll("#doc-list li").length === 0);
      await page.goto(url, { waitUntil: "domcontentloaded" });
      await waitReady(page);
      check((await page.$$("#doc-list li")).length === 0, "cpu: a removed document stays removed after a reload");
      await page.setInputFiles("#import", exported);
      await page.waitForFunction(() => /^Imported/.test(document.getElementById("doc-status").textContent) ||
        document.getElementById("doc-status").dataset.kind === "error", null, { timeout: 60_000 });
      const imp = await search(page, DOC_QUERY.q, "en");
      check(imp.docs[0]?.doc === DOC_NAME, "cpu: an imported export is searchable again", await page.textContent("#doc-status"));
      fs.rmSync(exported, { force: true });
      // Pasted text is a document too (Italian note, found from a Portuguese query).
      await page.click("#paste-box summary");
      await page.fill("#paste-title", "Nota di reparto");
      await page.fill("#paste", "Il paziente presenta una frattura del polso destro dopo una caduta in bicicletta; immobilizzato con gesso per sei settimane.");
      await page.click("#paste-add");
      await page.waitForFunction(() => [...document.querySelectorAll("#doc-list li .doc-name")].some((e) => e.textContent === "Nota di reparto.txt"), null, { timeout: 120_000 });
      const pasted = await search(page, "fratura do pulso após queda de bicicleta", "pt");
      check(pasted.docs[0]?.doc === "Nota di reparto.txt", "cpu: pasted text is added and found from another language", JSON.stringify(pasted.docs[0] || null));
      // Phone width.
      await page.setViewportSize({ width: 375, height: 800 });
      await search(page, "diabetis mellitus tipus 2", "ca");
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      check(overflow <= 0, "phone width (375 px): no horizontal scrolling", `overflow ${overflow}px`);
      const phone = path.join(SHOTS, "results-phone.png");
      await page.screenshot({ path: phone, fullPage: false });
      report.screenshots.push(path.relative(ROOT, phone));
    }

    // 5. Nothing but our own origin, ever.
    const bad = foreign(b.requests, srv.url);
    check(bad.length === 0, `${mode}: no request to any other origin (browser request events)`, bad.slice(0, 5).join(", "));
    const csp = await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]').content);
    check(/default-src 'self'/.test(csp) && !/https?:/.test(csp), `${mode}: CSP allows only the page's own origin`, csp);
    check(await page.isVisible("#privacy"), `${mode}: privacy statement on the page`);
  } catch (e) {
    check(false, `${mode}: test run`, e.stack || String(e));
    console.log(b.consoleLines.slice(-30).join("\n"));
  } finally {
    await b.close();
  }
}

fs.mkdirSync(SHOTS, { recursive: true });
for (const f of [MB, path.join(ROOT, "www/pkg/medbridge_bg.wasm"), path.join(ASSETS, "manifest.json"), path.join(ASSETS, "catalog.mbca"), CHROMIUM]) {
  if (!fs.existsSync(f)) {
    console.error(`${f} is missing: run tests/browser/run-page.sh (builds the package, the index and the page's assets)`);
    process.exit(1);
  }
}
const srv = await startServer(MB, ASSETS);
// The server's own headers: CSP and MIME types.
for (const [p, type] of [["/", "text/html"], ["/worker.js", "text/javascript"], ["/pkg/medbridge_bg.wasm", "application/wasm"], ["/assets/manifest.json", "application/json"]]) {
  const res = await fetch(srv.url + p, { method: "HEAD" });
  check(res.status === 200 && (res.headers.get("content-type") || "").startsWith(type), `serve: ${p} is ${type}`, res.headers.get("content-type"));
  if (p === "/") check(/default-src 'self'/.test(res.headers.get("content-security-policy") || ""), "serve: CSP header", res.headers.get("content-security-policy"));
}
try {
  for (const mode of MODES) await runMode(mode, srv);
} finally {
  srv.close();
}

const manifest = JSON.parse(fs.readFileSync(path.join(ASSETS, "manifest.json"), "utf8"));
report.assets = Object.fromEntries(manifest.files.map((f) => [f.name, f.bytes]));
fs.writeFileSync(path.join(ROOT, "target/page-test-report.json"), JSON.stringify(report, null, 2));
console.log("\nranks (1 = first):");
for (const [mode, cases] of Object.entries(report.cases)) {
  console.log(`  ${mode}: ${cases.map((c) => `[${c.lang}] ${c.q} → ${c.code}: ${c.rank ?? "-"}`).join("; ")}`);
}
console.log(`timings: ${JSON.stringify(report.timings)}`);
console.log(`first-visit downloads: ${JSON.stringify(report.sizes)}`);
console.log(`screenshots: ${report.screenshots.join(", ")}; report: target/page-test-report.json`);
if (failures.length) {
  console.log(`\n${failures.length} FAILED: ${failures.join("; ")}`);
  process.exit(1);
}
console.log("\nall page tests passed");
