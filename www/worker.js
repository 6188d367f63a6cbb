// The search engine, in a module Web Worker so that typing never waits for it. Driven by the client in
// package/index.js (the page's and the npm package's), which also keeps searches from piling up.
// Protocol: the page posts {id, type, ...}; the worker answers {id, ok, result | error} and posts
// events {event: "progress" | "docProgress" | "backend" | "documents", ...}: "backend" when the GPU
// failed and the CPU path took over, "documents" when another tab of this site added or removed one.
import init, { MedBridge, lastPanic } from "./pkg/medbridge.js";

const DB_NAME = "medbridge";
const STORE = "documents";
let mb = null;
let chain = Promise.resolve(); // operations run one at a time (one encoder)
let backend = null;
// Tabs of this site tell each other which documents they saved or removed (ids only; the
// document itself is read from IndexedDB), so no tab's list goes stale and nothing is lost.
const tabs = typeof BroadcastChannel === "function" ? new BroadcastChannel("medbridge-documents") : null;

function post(msg, transfer) {
  self.postMessage(msg, transfer || []);
}

function describe(e) {
  const msg = e && e.message ? e.message : String(e);
  const panic = lastPanic && lastPanic();
  return panic && /unreachable|RuntimeError/.test(msg) ? `${msg} (${panic})` : msg;
}

// ---- IndexedDB: one record per document {id, name, passages, addedMs, bytes}.
function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "id" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function dbDo(mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const result = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("IndexedDB transaction aborted"));
    });
  } finally {
    db.close();
  }
}

function storageError(e) {
  if (e && (e.name === "QuotaExceededError" || /quota/i.test(e.message || ""))) {
    return new Error("Browser storage is full: the document is searchable now but will not survive a reload. Remove documents or free space in this site's storage.");
  }
  return new Error(`Could not save the document in this browser (IndexedDB): ${describe(e)}`);
}

async function persist(info, bytes) {
  try {
    await dbDo("readwrite", (s) => s.put({ id: info.id, name: info.name, passages: info.passages, addedMs: info.addedMs, bytes }));
    return null;
  } catch (e) {
    return storageError(e).message;
  }
}

async function restoreDocuments() {
  let records = [];
  try {
    records = await dbDo("readonly", (s) => s.getAll());
  } catch (e) {
    return [`Saved documents could not be read: ${describe(e)}`];
  }
  const problems = [];
  for (const r of records || []) {
    const name = (r && typeof r.name === "string" && r.name) || `saved document ${r && r.id}`;
    try {
      importRecord(r);
    } catch (e) {
      // A damaged record cannot be searched or repaired: say which one, and drop it so it is not
      // reported again on every visit.
      problems.push(`${name}: could not be restored from this browser's storage: ${describe(e)} (removed)`);
      await dbDo("readwrite", (s) => s.delete(r.id)).catch(() => {});
    }
  }
  return problems;
}

function importRecord(r) {
  const bytes = r && r.bytes;
  if (!(bytes instanceof ArrayBuffer || ArrayBuffer.isView(bytes))) throw new Error("the record holds no document file");
  return mb.importDocuments(new Uint8Array(bytes.buffer || bytes, bytes.byteOffset || 0, bytes.byteLength), r.name || String(r.id));
}

function announce(msg) {
  if (tabs) tabs.postMessage(msg);
}

// Another tab saved or removed a document: follow it (in the same queue as our own operations).
if (tabs) {
  tabs.onmessage = (ev) => {
    const { added, removed } = ev.data || {};
    chain = chain.then(async () => {
      if (!mb) return;
      const have = new Set(mb.documents().map((d) => d.id));
      let note = null;
      if (added && !have.has(added)) {
        const r = await dbDo("readonly", (s) => s.get(added)).catch(() => null);
        if (!r) return;
        try {
          importRecord(r);
          note = `${r.name} was added in another tab.`;
        } catch (e) {
          note = `${r.name} (added in another tab) could not be read: ${describe(e)}`;
        }
      } else if (removed && have.has(removed)) {
        const name = mb.documents().find((d) => d.id === removed)?.name;
        mb.removeDocument(removed);
        note = `${name} was removed in another tab.`;
      }
      if (note) post({ event: "documents", documents: mb.documents(), note });
    });
  };
}

// After an operation that embedded text: if the GPU failed and the engine moved to the CPU, say so.
function checkBackend() {
  const now = mb.backend();
  if (backend !== null && now !== backend) post({ event: "backend", backend: now, gpuStatus: mb.gpuStatus() });
  backend = now;
}

// ---- Operations.
const ops = {
  // assetsUrl: the bundle's directory (absolute, or relative to this worker); default ./assets/ beside it.
  async load({ webgpu, assetsUrl }) {
    await init();
    const t0 = performance.now();
    const option = webgpu === "on" ? true : webgpu === "off" ? false : "auto";
    mb = await MedBridge.load(assetsUrl || "./assets/", (p) => post({ event: "progress", ...p }), { webgpu: option });
    const loadMs = performance.now() - t0;
    const problems = await restoreDocuments();
    backend = mb.backend();
    return {
      backend: mb.backend(),
      gpuStatus: mb.gpuStatus(),
      webgpuApi: typeof navigator !== "undefined" && !!navigator.gpu,
      modelId: mb.modelId(),
      rerankerId: mb.rerankerId() ?? null,
      version: mb.version(),
      catalog: mb.catalogInfo(),
      report: mb.loadReport(),
      documents: mb.documents(),
      problems,
      loadMs,
    };
  },
  async search({ q, lang, method, k, catalog, documents, rerank }) {
    const t0 = performance.now();
    const r = await mb.search(q, { lang, method, k: k || 10, catalog, documents, rerank });
    checkBackend();
    return { ...r, totalMs: performance.now() - t0 };
  },
  async addDocument({ name, text }) {
    const r = await mb.addDocument(name, text, (p) => post({ event: "docProgress", ...p }));
    checkBackend();
    const { bytes, ...info } = r;
    const warning = await persist(info, bytes.buffer);
    if (!warning) announce({ added: info.id });
    return { info, warning, documents: mb.documents() };
  },
  async removeDocument({ docId: id }) {
    const removed = mb.removeDocument(id);
    let warning = null;
    await dbDo("readwrite", (s) => s.delete(id)).catch((e) => { warning = `Could not delete it from browser storage: ${describe(e)}`; });
    if (!warning) announce({ removed: id });
    return { removed, warning, documents: mb.documents() };
  },
  async listDocuments() {
    return mb.documents();
  },
  async exportDocuments({ docId }) {
    const bytes = mb.exportDocuments(docId);
    return { bytes };
  },
  async importDocuments({ bytes, name }) {
    const infos = mb.importDocuments(new Uint8Array(bytes), name);
    const warnings = [];
    for (const info of infos) {
      const w = await persist(info, mb.exportDocuments(info.id).buffer);
      if (w) warnings.push(w);
      else announce({ added: info.id });
    }
    return { imported: infos, warning: warnings[0] || null, documents: mb.documents() };
  },
};

self.onmessage = (ev) => {
  const msg = ev.data;
  const op = ops[msg.type];
  if (!op) {
    post({ id: msg.id, ok: false, error: `unknown operation ${msg.type}` });
    return;
  }
  if (msg.type !== "load" && !mb) {
    post({ id: msg.id, ok: false, error: "the search engine is not loaded yet" });
    return;
  }
  chain = chain.then(async () => {
    try {
      const result = await op(msg);
      const transfer = result && result.bytes instanceof Uint8Array ? [result.bytes.buffer] : [];
      post({ id: msg.id, ok: true, result }, transfer);
    } catch (e) {
      post({ id: msg.id, ok: false, error: describe(e), name: e && e.name, code: e && e.code });
    }
  });
};
