// The page: UI only. The engine (model, catalogue, documents) runs in worker.js, driven through the same
// client other sites get from the npm package (package/index.js).
import { MedBridge } from "./package/index.js";

const $ = (id) => document.getElementById(id);
const SUPPORTED = ["txt", "md", "csv", "json", "jsonl"];
const MAX_FILE_BYTES = 5 * 1024 * 1024;
const LANG_NAMES = { en: "English", es: "Spanish", fr: "French", pt: "Portuguese", it: "Italian", ca: "Catalan" };

const params = new URLSearchParams(location.search);
const state = {
  engine: null,
  ready: false,
  seq: 0,
  shownSeq: 0,
  timer: null,
  info: null,
};
// For tests and the curious: what the page knows (no data leaves the page).
window.medbridgePage = state;

function fmtBytes(n) {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${n} B`;
}

function setStatus(text, st) {
  const el = $("status");
  el.textContent = text;
  el.dataset.state = st;
}

// Another tab of this site added or removed a document.
function onOtherTab(m) {
  renderDocs(m.documents);
  if (m.note) showDocStatus(m.note);
  if ($("q").value.trim()) schedule(0);
}

function onProgress(p) {
  const bar = $("load-progress");
  if (p.phase === "file") {
    bar.max = p.total || 1;
    bar.value = p.loaded;
    const pct = p.total ? Math.floor((100 * p.loaded) / p.total) : 0;
    const from = p.source === "cache" ? " (from this browser's cache)" : "";
    setStatus(`Downloading the search engine: ${pct} %`, "loading");
    $("load-detail").textContent = `${p.file}${from}: ${fmtBytes(p.fileLoaded)} of ${fmtBytes(p.fileTotal)} · total ${fmtBytes(p.loaded)} of ${fmtBytes(p.total)}`;
  } else if (p.phase === "build") {
    setStatus("Preparing the model…", "loading");
    $("load-detail").textContent = "All files verified (sha256).";
  } else if (p.phase === "index") {
    setStatus("Opening the ICD-10 index…", "loading");
  }
}

// The GPU failed after loading (device lost …): the engine now runs on the CPU, with the same results.
function onBackendChange(m) {
  state.info = state.engine.info;
  $("status").dataset.backend = m.backend;
  setStatus(`Ready · engine: ${m.backend === "webgpu" ? "WebGPU" : "CPU (WebAssembly)"}`, "ready");
  const notice = $("engine-notice");
  notice.hidden = false;
  notice.textContent = `WebGPU stopped working, so searches now run on the CPU: slower, same results. (WebGPU ${m.gpuStatus})`;
  notice.dataset.kind = "gpu-lost";
}

function onDocProgress(p) {
  const bar = $("doc-progress");
  bar.hidden = false;
  bar.max = p.total || 1;
  bar.value = p.done;
  $("doc-status").textContent = `Embedding ${p.name} on this device: ${p.done} of ${p.total} passages`;
}

// Errors from the engine carry a stable `code` (package/index.d.ts: Rust's Error::code, the loader's
// "offline" / "fetch-failed" / "download-interrupted", the browser's "quota" / "wasm-unsupported").
function describeLoadError(e) {
  const msg = e.message || String(e);
  switch (e.code) {
    case "offline":
      return `Cannot reach the server to download the search engine: this device seems to be offline (${msg}). ` +
        "The first visit needs a connection once; after that the page works offline.";
    case "download-interrupted":
      return `The download of the search engine was interrupted (${msg}). Nothing incomplete was kept: try again.`;
    case "fetch-failed":
      return `The engine's files are missing on this server (${msg}). Build them with scripts/run.sh.`;
    case "damaged-file":
    case "model-mismatch":
    case "unsupported-version":
    case "not-medbridge-file":
      return `The engine's files on this server do not fit together (${msg}). Rebuild them with scripts/run.sh.`;
  }
  if (e.code === "wasm-unsupported") return `This browser cannot run the engine (WebAssembly): ${msg}`;
  if (e.code === "quota") return `Browser storage is full: ${msg}`;
  return `The search engine could not start: ${msg}`;
}

async function start() {
  const engine = params.get("webgpu") || localStorage.getItem("medbridge.engine") || "auto";
  $("engine").value = ["auto", "on", "off"].includes(engine) ? engine : "auto";
  const lang = params.get("lang") || localStorage.getItem("medbridge.lang") || (navigator.language || "en").slice(0, 2);
  $("lang").value = LANG_NAMES[lang] ? lang : "en";
  $("rerank").checked = localStorage.getItem("medbridge.rerank") !== "off";
  const method = localStorage.getItem("medbridge.method");
  $("method").value = ["auto", "dense", "hybrid"].includes(method) ? method : "auto";

  if (typeof WebAssembly !== "object") {
    setStatus("This browser cannot run the search engine: WebAssembly is not available.", "error");
    return;
  }
  await load();
}

// Start the engine in a fresh worker (again after a failed start: "Try again").
async function load() {
  $("retry").hidden = true;
  setStatus("Starting the search engine…", "loading");
  $("load-detail").textContent = "";
  if (state.engine) state.engine.dispose();
  state.engine = null;
  state.ready = false;
  const t0 = performance.now();
  try {
    const choice = { on: "webgpu", off: "cpu" }[$("engine").value] || "auto";
    const mb = await MedBridge.load("./assets/", { backend: choice, workerUrl: "./worker.js", onProgress });
    state.engine = mb;
    mb.on("backend", onBackendChange);
    mb.on("documents", onOtherTab);
    mb.on("error", (e) => {
      state.ready = false;
      setStatus(`The search engine stopped: ${e.message}`, "error");
      $("retry").hidden = false;
    });
    const info = mb.info;
    const documents = await mb.listDocuments();
    state.info = info;
    state.readyMs = performance.now() - t0;
    state.ready = true;
    const backend = info.backend === "webgpu" ? "WebGPU" : "CPU (WebAssembly)";
    const cat = info.catalog;
    const cached = info.report.files.every((f) => f.source === "cache");
    setStatus(`Ready · engine: ${backend}`, "ready");
    $("status").dataset.backend = info.backend;
    $("load-progress").value = $("load-progress").max;
    $("load-detail").textContent =
      `${cached ? "Started from this browser's cache" : `Downloaded ${fmtBytes(info.report.files.reduce((a, f) => a + f.bytes, 0))}`} in ${(state.readyMs / 1000).toFixed(1)} s` +
      (cat ? ` · ICD-10 index: ${cat.codes.toLocaleString()} codes (${cat.source.replace("icd10:", "descriptions: ")})` : "");
    const notice = $("engine-notice");
    if (info.backend !== "webgpu") {
      notice.hidden = false;
      notice.textContent = !info.webgpuApi
        ? "WebGPU is not available in this browser: searches run on the CPU (slower, same results)."
        : `WebGPU not used: ${info.gpuStatus}. Searches run on the CPU (same results).`;
      notice.dataset.kind = info.webgpuApi ? "info" : "no-webgpu";
    }
    if (info.report.cacheWarning) {
      const total = info.report.files.filter((f) => !f.cached).reduce((a, f) => a + f.bytes, 0);
      const sn = $("storage-notice");
      sn.hidden = false;
      sn.textContent = `This browser could not keep a copy of the search engine (${info.report.cacheWarning}). ` +
        `It works now, from memory; the next visit downloads ${fmtBytes(total)} again. Free some of this site's storage to keep it.`;
    }
    if (!cat) {
      $("code-empty").textContent = "This bundle has no ICD-10 index (export it with `medbridge export-web --index …`). Documents can still be searched.";
    }
    if (info.problems.length) showDocStatus(info.problems.join(" · "), true);
    renderDocs(documents);
    for (const id of ["q", "go", "file", "paste-add", "import"]) $(id).disabled = false;
    $("rerank").disabled = !info.rerankerId;
    if (!info.rerankerId) {
      $("rerank").checked = false;
      $("rerank").parentElement.title = "These assets ship no reranker (export them with `medbridge export-web --reranker …`).";
    }
    $("export").disabled = documents.length === 0;
    if ($("q").value.trim()) schedule(0);
  } catch (e) {
    setStatus(describeLoadError(e), "error");
    $("load-progress").value = 0;
    $("retry").hidden = false;
  }
}

// ---- Search.
function schedule(delay = 250) {
  clearTimeout(state.timer);
  state.timer = setTimeout(runSearch, delay);
}

async function runSearch() {
  const q = $("q").value.trim();
  if (!state.ready) return;
  if (!q) {
    renderResults(null);
    return;
  }
  const seq = ++state.seq;
  $("results").dataset.state = "searching";
  const options = { lang: $("lang").value, method: $("method").value, k: 10 };
  const rerank = !!state.info.rerankerId && $("rerank").checked;
  try {
    // The first stage answers in tens of milliseconds: show it at once, then the cross-encoder's order
    // when it is ready (hundreds of milliseconds on the CPU path).
    const first = { ...(await state.engine.search(q, { ...options, rerank: false })), q };
    if (seq < state.shownSeq) return;
    state.shownSeq = seq;
    state.last = first;
    if (state.firstResultMs === undefined) state.firstResultMs = performance.now();
    renderResults(first, rerank ? "reranking" : "done");
    if (!rerank) return;
    const r = { ...(await state.engine.search(q, { ...options, rerank: true })), q, firstStageMs: first.totalMs };
    if (seq < state.shownSeq) return;
    state.last = r;
    renderResults(r, "done");
  } catch (e) {
    if (e.code === "superseded") return; // a newer search is on its way
    if (seq >= state.shownSeq) {
      $("results").dataset.state = "error";
      $("latency").textContent = `Search failed: ${e.message}`;
    }
  }
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function renderResults(r, outcome = "done") {
  const codes = $("code-results");
  const docs = $("doc-results");
  codes.replaceChildren();
  docs.replaceChildren();
  if (!r) {
    $("results").dataset.state = "idle";
    $("latency").textContent = "";
    $("code-empty").hidden = false;
    $("doc-empty").hidden = false;
    return;
  }
  const lang = $("lang").value;
  for (const h of r.catalog) {
    const li = el("li", "hit");
    li.dataset.code = h.code;
    li.dataset.rank = h.rank;
    const top = el("div", "hit-top");
    top.append(el("span", "code", h.code), el("span", "desc", h.description));
    if (h.fallback) {
      const fb = el("span", "badge fallback", `${LANG_NAMES[h.descriptionLang] || h.descriptionLang} (no ${LANG_NAMES[lang]} description)`);
      fb.title = `This code has no ${LANG_NAMES[lang]} description in the catalogue`;
      top.append(fb);
    }
    li.append(top);
    const meta = el("div", "hit-meta");
    if (h.parent) meta.append(el("span", "parent", `in ${h.parent}${h.parentDescription ? ` – ${h.parentDescription}` : ""}`));
    meta.append(el("span", "score", `score ${h.score.toFixed(3)}`), el("span", "badge stage", h.stage));
    if (h.matchedLang !== h.descriptionLang) meta.append(el("span", "matched", `matched (${h.matchedLang}): ${h.matchedText}`));
    li.append(meta);
    codes.append(li);
  }
  $("code-empty").hidden = r.catalog.length > 0;
  if (!r.catalog.length && state.info?.catalog) $("code-empty").textContent = "No matching codes.";
  for (const h of r.documents) {
    const li = el("li", "hit doc-hit");
    li.dataset.doc = h.docName;
    const top = el("div", "hit-top");
    top.append(el("span", "doc-name", h.title || h.docName));
    li.append(top, el("p", "passage", h.text));
    const meta = el("div", "hit-meta");
    meta.append(el("span", "", h.docName), el("span", "score", `score ${h.score.toFixed(3)}`), el("span", "badge stage", "bi-encoder"));
    li.append(meta);
    docs.append(li);
  }
  $("doc-empty").hidden = r.documents.length > 0;
  $("doc-empty").textContent = state.docCount ? "No matching passages." : "Add documents below to search them too.";
  const backend = state.info.backend === "webgpu" ? "WebGPU" : "CPU";
  $("latency").textContent = `${r.catalog.length} codes, ${r.documents.length} passages in ${Math.round(r.totalMs)} ms (embedding ${Math.round(r.embedMs)} ms, search ${Math.round(r.searchMs)} ms` +
    `${r.reranked ? `, reranking ${Math.round(r.rerankMs)} ms` : ""}, ${backend})` + (outcome === "reranking" ? " · reranking…" : "");
  $("results").dataset.query = r.q;
  $("results").dataset.state = outcome;
}

// ---- Documents.
function showDocStatus(text, isError = false) {
  const s = $("doc-status");
  s.textContent = text;
  s.dataset.kind = isError ? "error" : "info";
}

function renderDocs(list) {
  state.docCount = list.length;
  const ul = $("doc-list");
  ul.replaceChildren();
  for (const d of list) {
    const li = el("li", "doc");
    li.dataset.id = d.id;
    li.append(el("span", "doc-name", d.name), el("span", "detail", ` ${d.passages} passage${d.passages === 1 ? "" : "s"}`));
    const rm = el("button", "remove", "Remove");
    rm.type = "button";
    rm.setAttribute("aria-label", `Remove ${d.name}`);
    rm.onclick = () => removeDoc(d);
    li.append(rm);
    ul.append(li);
  }
  $("doc-list-empty").hidden = list.length > 0;
  $("export").disabled = list.length === 0;
}

async function addDocument(name, text) {
  showDocStatus(`Reading ${name}…`);
  try {
    const r = await state.engine.addDocument(name, text, { onProgress: onDocProgress });
    renderDocs(await state.engine.listDocuments());
    $("doc-progress").hidden = true;
    showDocStatus(r.warning ? r.warning : `Added ${name}: ${r.passages} passages, saved in this browser.`, !!r.warning);
    if ($("q").value.trim()) schedule(0);
  } catch (e) {
    $("doc-progress").hidden = true;
    showDocStatus(e.message, true);
  }
}

async function addFiles(files) {
  for (const f of files) {
    const ext = (f.name.split(".").pop() || "").toLowerCase();
    if (!f.name.includes(".") || !SUPPORTED.includes(ext)) {
      showDocStatus(`${f.name}: unsupported file type${f.name.includes(".") ? ` .${ext}` : ""}. Supported: ${SUPPORTED.map((s) => "." + s).join(", ")}.`, true);
      continue;
    }
    if (f.size > MAX_FILE_BYTES) {
      showDocStatus(`${f.name}: file too large (${fmtBytes(f.size)}; the limit is 5 MB). Split it into smaller files.`, true);
      continue;
    }
    let text;
    try {
      text = await f.text();
    } catch (e) {
      showDocStatus(`${f.name}: could not be read: ${e.message}`, true);
      continue;
    }
    await addDocument(f.name, text);
  }
}

async function removeDoc(d) {
  try {
    const r = await state.engine.removeDocument(d.id);
    renderDocs(await state.engine.listDocuments());
    showDocStatus(r.warning || `Removed ${d.name}.`, !!r.warning);
    if ($("q").value.trim()) schedule(0);
  } catch (e) {
    showDocStatus(e.message, true);
  }
}

async function exportDocs() {
  try {
    const bytes = await state.engine.exportDocuments();
    const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
    const a = el("a");
    a.href = url;
    a.download = "medbridge-documents.mbdocs";
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    showDocStatus(`Exported ${state.docCount} documents (${fmtBytes(bytes.length)}). The file stays on your device.`);
  } catch (e) {
    showDocStatus(e.message, true);
  }
}

async function importDocs(file) {
  try {
    const bytes = await file.arrayBuffer();
    const r = await state.engine.importDocuments(bytes, file.name);
    renderDocs(await state.engine.listDocuments());
    showDocStatus(r.warning || `Imported ${r.imported.length} documents from ${file.name}.`, !!r.warning);
  } catch (e) {
    showDocStatus(e.message, true);
  }
}

// ---- Wiring.
document.addEventListener("DOMContentLoaded", () => {
  $("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    schedule(0);
  });
  $("q").addEventListener("input", () => schedule());
  $("lang").addEventListener("change", () => {
    localStorage.setItem("medbridge.lang", $("lang").value);
    if ($("q").value.trim()) schedule(0);
  });
  $("rerank").addEventListener("change", () => {
    localStorage.setItem("medbridge.rerank", $("rerank").checked ? "on" : "off");
    if ($("q").value.trim()) schedule(0);
  });
  $("method").addEventListener("change", () => {
    localStorage.setItem("medbridge.method", $("method").value);
    if ($("q").value.trim()) schedule(0);
  });
  $("engine").addEventListener("change", () => {
    localStorage.setItem("medbridge.engine", $("engine").value);
    const u = new URL(location.href);
    u.searchParams.delete("webgpu");
    location.replace(u.href);
  });
  $("file").addEventListener("change", async (e) => {
    const files = [...e.target.files];
    e.target.value = "";
    await addFiles(files);
  });
  const drop = $("drop");
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      if (!$("file").disabled) $("file").click();
    }
  });
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (!state.ready) return showDocStatus("The engine is still loading; try again in a moment.", true);
    await addFiles([...e.dataTransfer.files]);
  });
  $("paste-add").addEventListener("click", async () => {
    const text = $("paste").value;
    if (!text.trim()) return showDocStatus("Paste some text first.", true);
    const title = ($("paste-title").value.trim() || "Pasted note").replace(/[\\/]/g, " ");
    await addDocument(`${title}.txt`, `${title}\n\n${text}`);
    $("paste").value = "";
  });
  $("export").addEventListener("click", exportDocs);
  $("retry").addEventListener("click", () => load());
  $("import").addEventListener("change", async (e) => {
    const f = e.target.files[0];
    e.target.value = "";
    if (f) await importDocs(f);
  });
  start();
});
