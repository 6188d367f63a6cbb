// MedBridge as other sites use it (issue 17), in headless Chromium on the CPU path (WebGPU disabled), each
// part served by a generic static server (`python3 -m http.server`: no CSP or other special headers):
//  1. the static site from `medbridge export-site`, under the sub-path /demo/medbridge/: loads, answers,
//     and never requests another origin;
//  2. the example portal (examples/portal: the npm package from its tarball, bundled by Vite; run-site.sh
//     type-checks it with tsc first): loads and answers, same origin only;
//  3. the package's whole API, from the unbundled package: load (progress, bad arguments), search (options,
//     typed error codes, superseded searches), documents (add with progress, list, search, export, remove,
//     import), events, dispose — each checked against what it must return.
// Prints the package tarball's and the static site's sizes. Exit code 1 if anything fails.
//
//   node tests/browser/site.test.mjs --site target/site-test/root --portal target/portal/dist --tarball target/npm/medbridge-0.1.0.tgz
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { ROOT, arg } from "./lib.mjs";
import { launch, waitReady, search, foreign } from "./page-lib.mjs";

const SITE = path.resolve(arg("site", path.join(ROOT, "target/site-test/root")));
const SUBPATH = "/demo/medbridge/";
const PORTAL = path.resolve(arg("portal", path.join(ROOT, "target/portal/dist")));
const TARBALL = path.resolve(arg("tarball", path.join(ROOT, "target/npm/medbridge-0.1.0.tgz")));

const failures = [];
function check(ok, what, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${detail ? ` — ${detail}` : ""}`);
  if (!ok) failures.push(what);
  return ok;
}

function treeBytes(dir) {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? treeBytes(p) : fs.statSync(p).size; // statSync follows the assets symlink
  }
  return total;
}
const mib = (n) => `${(n / 1048576).toFixed(2)} MiB`;

// `python3 -m http.server` on a free loopback port; its request log (stderr) is kept.
async function staticServer(dir) {
  const child = spawn("python3", ["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", dir], { stdio: ["ignore", "pipe", "pipe"] });
  const log = [];
  child.stderr.on("data", (d) => {
    for (const m of String(d).matchAll(/"(GET|HEAD|POST|PUT) (\S+) HTTP\/[\d.]+" (\d+)/g)) log.push({ method: m[1], path: m[2], status: +m[3] });
  });
  const url = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("python3 -m http.server printed no port in 20 s")), 20_000);
    child.on("exit", (c) => reject(new Error(`python3 -m http.server exited with ${c}`)));
    let buf = "";
    child.stdout.on("data", (d) => {
      buf += d;
      const m = buf.match(/port (\d+)/);
      if (m) { clearTimeout(t); resolve(`http://127.0.0.1:${m[1]}`); }
    });
  });
  return { url, log, close: () => child.kill() };
}

// A static server on `dir` and a fresh headless Chromium (CPU path) for one part of the test.
async function withBrowser(dir, part) {
  const server = await staticServer(dir);
  const b = await launch("cpu");
  try {
    await part(server, b);
  } finally {
    await b.close();
    server.close();
  }
}

const sizes = { tarballBytes: fs.statSync(TARBALL).size, siteBytes: treeBytes(path.join(SITE, SUBPATH)) };
console.log(`npm package tarball: ${path.relative(ROOT, TARBALL)} ${sizes.tarballBytes} bytes (${mib(sizes.tarballBytes)})`);
console.log(`static site (export-site): ${sizes.siteBytes} bytes (${mib(sizes.siteBytes)}) under ${SUBPATH}`);

// ---- 1. The exported static site under a sub-path.
await withBrowser(SITE, async (server, b) => {
  const t0 = Date.now();
  await b.page.goto(server.url + SUBPATH, { waitUntil: "domcontentloaded" });
  const ready = await waitReady(b.page);
  check(ready.state === "ready" && ready.backend === "cpu", "static site: ready on the CPU path", ready.status);
  const r = await search(b.page, "diabetes mellitus tipo 2", "es");
  check(r.codes[0]?.startsWith("E11"), "static site: 'diabetes mellitus tipo 2' → E11 at rank 1", r.codes.slice(0, 3).join(", "));
  console.log(`     static site: first result ${((Date.now() - t0) / 1000).toFixed(1)} s after navigation`);
  const off = foreign(b.requests, server.url);
  check(off.length === 0, "static site: no request to another origin", off.slice(0, 3).join(", "));
  const outside = server.log.filter((l) => !l.path.startsWith(SUBPATH));
  check(outside.length === 0, `static site: every request stays under ${SUBPATH}`, outside.slice(0, 3).map((l) => l.path).join(", "));
  const failed = server.log.filter((l) => l.status >= 400);
  check(failed.length === 0, "static site: no failed request", failed.slice(0, 3).map((l) => `${l.path} ${l.status}`).join(", "));
  const csp = await b.page.$eval('meta[http-equiv="Content-Security-Policy"]', (m) => m.content).catch(() => "");
  check(/default-src 'self'/.test(csp) && /connect-src 'self'/.test(csp), "static site: the CSP is in the page (the server sends none)");
  const headers = fs.readFileSync(path.join(SITE, SUBPATH, "_headers"), "utf8");
  check(headers.includes(`${SUBPATH}*`) && headers.includes("Content-Security-Policy:"), "static site: _headers for hosts that read it, with the sub-path");
});

// ---- 2. The example portal, bundled by Vite from the package tarball.
await withBrowser(PORTAL, async (server, b) => {
  await b.page.goto(server.url + "/", { waitUntil: "domcontentloaded" });
  await b.page.waitForFunction(() => !document.getElementById("q").disabled || /\w+:/.test(document.getElementById("status").textContent), null, { timeout: 300_000, polling: 200 });
  const status = await b.page.textContent("#status");
  check(/^Ready \(cpu\)/.test(status), "portal: the engine loads from the portal's own assets", status);
  await b.page.fill("#q", "diabetes mellitus tipo 2");
  await b.page.waitForFunction(() => document.querySelectorAll("#hits li").length > 0, null, { timeout: 120_000, polling: 100 });
  const hits = await b.page.$$eval("#hits li", (lis) => lis.map((l) => l.textContent));
  check(hits.length === 5 && hits[0].startsWith("E11"), "portal: 'diabetes mellitus tipo 2' → E11 first, 5 hits", hits[0]);
  const off = foreign(b.requests, server.url);
  check(off.length === 0, "portal: no request to another origin", off.slice(0, 3).join(", "));
  const bundled = fs.readdirSync(path.join(PORTAL, "assets"));
  check(bundled.some((f) => /^worker-.*\.js$/.test(f)) && bundled.some((f) => /\.wasm$/.test(f)), "portal: Vite shipped the package's worker and wasm", bundled.join(", "));
});

// ---- 3. The package's API, unbundled (served from the portal's origin, as a site without a bundler would).
await withBrowser(PORTAL, async (server, b) => {
  await b.page.goto(server.url + "/blank.html");
  const r = await b.page.evaluate(async () => {
    const { MedBridge, MedBridgeError } = await import("/medbridge-pkg/index.js");
    const code = async (p) => p.then(() => "resolved", (e) => (e instanceof MedBridgeError ? e.code : `not a MedBridgeError: ${e}`));
    const out = {};
    out.badUrl = await code(MedBridge.load(42));
    out.badBackend = await code(MedBridge.load("/medbridge-assets/", { backend: "gpu" }));
    out.missingAssets = await code(MedBridge.load("/no-such-assets/", { backend: "cpu" }));
    const progress = [];
    const mb = await MedBridge.load("/medbridge-assets/", { backend: "cpu", onProgress: (p) => progress.push(p.phase) });
    out.info = { backend: mb.backend, codes: mb.info.catalog?.codes, version: mb.info.version, files: mb.info.report.files.length };
    out.progress = [...new Set(progress)];
    const hit = await mb.search("infarto agudo de miocardio", { k: 3, lang: "es" });
    out.search = { n: hit.catalog.length, first: hit.catalog[0]?.code, lang: hit.catalog[0]?.descriptionLang, backend: hit.backend, docs: hit.documents.length };
    out.rerankerId = mb.info.rerankerId;
    const rr = await mb.search("cefalea", { rerank: 5, k: 3, lang: "es" });
    out.rerank = { reranked: rr.reranked, rerankMs: rr.rerankMs, codes: rr.catalog.map((h) => h.code), stages: rr.catalog.map((h) => h.stage) };
    out.rerankOff = (await mb.search("cefalea", { rerank: false, k: 3 })).reranked;
    out.badRerank = await code(mb.search("cefalea", { rerank: "yes" }));
    out.unknownOption = await code(mb.search("cefalea", { top: 3 }));
    out.emptyQuery = await code(mb.search("   "));
    out.badMethod = await code(mb.search("cefalea", { method: "magic" }));
    // typing fast: the second of three searches sent at once is overtaken by the third
    const burst = await Promise.all(["a", "as", "asma"].map((q) => code(mb.search(q, { k: 1 }))));
    out.burst = burst;
    const docProgress = [];
    const added = await mb.addDocument("nota.txt", "Paciente con asma bronquial. Usa el inhalador con cámara espaciadora dos veces al día.\n\nControl en tres meses.", { onProgress: (p) => docProgress.push(`${p.done}/${p.total}`) });
    out.added = { name: added.name, passages: added.passages, warning: added.warning, progress: docProgress };
    out.list1 = (await mb.listDocuments()).map((d) => d.name);
    const found = await mb.search("inhaler with a spacer", { catalog: false });
    out.docSearch = { catalog: found.catalog.length, doc: found.documents[0]?.docName, text: found.documents[0]?.text };
    const file = await mb.exportDocuments();
    out.exported = file instanceof Uint8Array ? file.length : -1;
    out.exportUnknown = await code(mb.exportDocuments("no-such-id"));
    out.removed = await mb.removeDocument(added.id);
    out.list2 = (await mb.listDocuments()).length;
    const imported = await mb.importDocuments(file, "backup.mbdocs");
    out.imported = imported.imported.map((d) => d.name);
    out.list3 = (await mb.listDocuments()).map((d) => d.name);
    out.badImport = await code(mb.importDocuments(new Uint8Array([1, 2, 3]), "junk.mbdocs"));
    out.badEvent = (() => { try { mb.on("nope", () => {}); return "accepted"; } catch (e) { return e.code; } })();
    const off = mb.on("documents", () => {});
    out.unsubscribe = typeof off === "function" && off() === true;
    await mb.removeDocument(added.id);
    mb.dispose();
    out.afterDispose = await code(mb.search("cefalea"));
    const viaUrl = await MedBridge.load("/medbridge-assets/", { backend: "cpu", workerUrl: "/medbridge-pkg/worker.js" });
    out.workerUrl = (await viaUrl.search("cefalea", { k: 1, lang: "es" })).catalog[0]?.code;
    viaUrl.dispose();
    return out;
  });
  console.log(`     API results: ${JSON.stringify(r)}`);
  check(r.badUrl === "invalid-input" && r.badBackend === "invalid-input", "API: bad load arguments reject with code invalid-input", `${r.badUrl}, ${r.badBackend}`);
  check(r.missingAssets === "fetch-failed", "API: an assets URL with nothing there rejects with code fetch-failed", r.missingAssets);
  check(r.info.backend === "cpu" && r.info.codes > 0 && r.info.files === 5, "API: load → info (backend, catalogue, files incl. the reranker)", JSON.stringify(r.info));
  check(["file", "build", "index"].every((p) => r.progress.includes(p)), "API: onProgress reports file, build and index phases", r.progress.join(","));
  check(r.search.n === 3 && r.search.first?.startsWith("I21") && r.search.lang === "es" && r.search.backend === "cpu", "API: search with k and lang", JSON.stringify(r.search));
  check(/\+cross-/.test(r.rerankerId ?? "") && r.rerank.reranked === true && r.rerank.codes.length === 3 && r.rerank.stages.every((s) => s.endsWith("+ reranker")) && r.rerankOff === false,
    "API: rerank: 5 reranks the catalogue's top 5 with the shipped cross-encoder (rerankerId set), rerank: false does not", JSON.stringify({ id: r.rerankerId, ...r.rerank, off: r.rerankOff }));
  check(r.badRerank === "invalid-input", "API: a bad rerank option rejects with code invalid-input", r.badRerank);
  check(r.unknownOption === "invalid-input" && r.emptyQuery === "invalid-input" && r.badMethod === "invalid-input", "API: bad search input rejects with code invalid-input",
    `${r.unknownOption}, ${r.emptyQuery}, ${r.badMethod}`);
  check(r.burst[1] === "superseded" && r.burst[2] === "resolved", "API: a search overtaken by a newer one rejects with code superseded", r.burst.join(","));
  check(r.added.name === "nota.txt" && r.added.passages >= 1 && r.added.warning === null && r.added.progress.at(-1) === `${r.added.passages}/${r.added.passages}`,
    "API: addDocument embeds with progress and saves", JSON.stringify(r.added));
  check(r.list1.length === 1 && r.list1[0] === "nota.txt", "API: listDocuments", JSON.stringify(r.list1));
  check(r.docSearch.catalog === 0 && r.docSearch.doc === "nota.txt" && /espaciadora/.test(r.docSearch.text), "API: an English query finds the Spanish document (catalog: false)", JSON.stringify(r.docSearch));
  check(r.exported > 0 && r.exportUnknown === "invalid-input", "API: exportDocuments (and an unknown id refused)", `${r.exported} bytes, ${r.exportUnknown}`);
  check(r.removed.removed === true && r.removed.warning === null && r.list2 === 0, "API: removeDocument", JSON.stringify(r.removed));
  check(r.imported[0] === "nota.txt" && r.list3.length === 1, "API: importDocuments restores the exported file", JSON.stringify(r.imported));
  check(r.badImport !== "resolved" && r.badImport.length > 0 && !r.badImport.startsWith("not a"), "API: a damaged import rejects with a typed code", r.badImport);
  check(r.badEvent === "invalid-input" && r.unsubscribe, "API: on() checks the event name and returns an unsubscribe function");
  check(r.afterDispose === "disposed", "API: calls after dispose() reject with code disposed", r.afterDispose);
  check(r.workerUrl?.startsWith("R51"), "API: workerUrl option (a site serving worker.js itself)", r.workerUrl);
  const off = foreign(b.requests, server.url);
  check(off.length === 0, "API: no request to another origin", off.slice(0, 3).join(", "));
});

console.log(`\nsizes: npm tarball ${mib(sizes.tarballBytes)}, static site ${mib(sizes.siteBytes)}`);
if (failures.length) {
  console.log(`${failures.length} FAILED: ${failures.join("; ")}`);
  process.exit(1);
}
console.log("all site, portal and package API tests passed");
