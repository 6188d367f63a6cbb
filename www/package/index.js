// MedBridge for other sites: private clinical search in the browser. This module owns a Web Worker that
// runs the engine (WebAssembly, WebGPU where the device has it); the site calls the async methods below.
// The worker fetches only the assets URL the site gives (its own origin): no text leaves the device.
// Types and documentation: index.d.ts.

/** An engine error with a stable `code` (see ErrorCode in index.d.ts). */
export class MedBridgeError extends Error {
  constructor(message, code) {
    super(message);
    this.name = "MedBridgeError";
    this.code = code || "engine";
  }
}

const BACKENDS = { auto: "auto", webgpu: "on", cpu: "off" };
// The browser's own errors (no engine code), by name.
const BROWSER_ERRORS = { QuotaExceededError: "quota", CompileError: "wasm-unsupported", LinkError: "wasm-unsupported" };
const CREATE = Symbol("MedBridge.load"); // instances come from load() only

export class MedBridge {
  #worker;
  #pending = new Map();
  #nextId = 1;
  #searchRunning = false;
  #searchWaiting = null; // {resolve, reject} of the search waiting for the running one
  #onProgress;
  #docProgress = []; // onProgress of the queued addDocument calls, in order (the worker runs them in order)
  #listeners = { backend: new Set(), documents: new Set(), error: new Set() };
  #info = null;
  #failure = null;

  constructor(token, worker, onProgress) {
    if (token !== CREATE) throw new MedBridgeError("use `await MedBridge.load(assetsUrl)` to create an engine", "invalid-input");
    this.#worker = worker;
    this.#onProgress = onProgress;
    worker.onmessage = (ev) => this.#receive(ev.data);
    worker.onerror = (ev) => this.#crash(`the engine's worker failed: ${ev.message || "could not start it (is worker.js served?)"}`);
    worker.onmessageerror = () => this.#crash("the engine's worker sent a message that could not be read");
  }

  /** Download (or take from this browser's cache), verify and start the engine from `assetsUrl`. */
  static async load(assetsUrl, options = {}) {
    if (typeof assetsUrl !== "string" && !(assetsUrl instanceof URL)) {
      throw new MedBridgeError('load(assetsUrl): give the URL of the folder holding manifest.json, e.g. "/medbridge-assets/"', "invalid-input");
    }
    const { onProgress, backend = "auto", workerUrl } = options ?? {};
    if (!Object.hasOwn(BACKENDS, backend)) {
      throw new MedBridgeError(`options.backend must be "auto", "webgpu" or "cpu", not ${JSON.stringify(backend)}`, "invalid-input");
    }
    if (onProgress !== undefined && typeof onProgress !== "function") throw new MedBridgeError("options.onProgress must be a function", "invalid-input");
    // The worker resolves URLs against its own location, which a bundler moves: send an absolute one.
    const base = typeof document !== "undefined" ? document.baseURI : self.location.href;
    const url = new URL(String(assetsUrl), base);
    if (!url.pathname.endsWith("/")) url.pathname += "/";
    // Written out in full so that bundlers (Vite, webpack, Parcel) see the worker and ship it with its wasm.
    const worker = workerUrl
      ? new Worker(workerUrl, { type: "module" })
      : new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    const mb = new MedBridge(CREATE, worker, onProgress);
    try {
      const { documents, ...info } = await mb.#call("load", { assetsUrl: url.href, webgpu: BACKENDS[backend] });
      mb.#info = { ...info, documents: documents.length };
    } catch (e) {
      mb.dispose();
      throw e;
    }
    return mb;
  }

  /** What was loaded: backend, gpuStatus, modelId, version, catalog, report, problems, loadMs. */
  get info() {
    return this.#info;
  }

  /** "webgpu" or "cpu" (the CPU after a GPU failure: see the "backend" event). */
  get backend() {
    return this.#info?.backend;
  }

  /** Search the ICD-10 catalogue and the documents with one query. A search overtaken by a newer one
   *  rejects with code "superseded" (type-as-you-search: only the latest answer matters). */
  async search(query, options = {}) {
    const { k, lang, method, catalog, documents, rerank, ...unknown } = options ?? {};
    const extra = Object.keys(unknown);
    if (extra.length) throw new MedBridgeError(`unknown search option ${extra[0]} (known: k, lang, method, catalog, documents, rerank)`, "invalid-input");
    if (typeof query !== "string") throw new MedBridgeError("search(query): query must be a string", "invalid-input");
    if (rerank !== undefined && rerank !== null && rerank !== "auto" && typeof rerank !== "boolean" && !(Number.isFinite(rerank) && rerank >= 0)) {
      throw new MedBridgeError(`options.rerank must be true, false, "auto" or a number of results from 0 to 100, not ${JSON.stringify(rerank)}`, "invalid-input");
    }
    // One search in the worker at a time, and at most one waiting: a newer call replaces the waiting one,
    // so a user typing fast gets the answer to what they typed last, not a backlog.
    if (this.#searchRunning) {
      this.#searchWaiting?.reject(new MedBridgeError("superseded by a newer search", "superseded"));
      await new Promise((resolve, reject) => (this.#searchWaiting = { resolve, reject }));
    }
    this.#searchRunning = true;
    try {
      return await this.#call("search", { q: query, k, lang, method, catalog, documents, rerank });
    } finally {
      this.#searchRunning = false;
      const next = this.#searchWaiting;
      this.#searchWaiting = null;
      next?.resolve();
    }
  }

  /** Split a document into passages, embed them on this device and keep it in this browser (IndexedDB). */
  async addDocument(name, text, options = {}) {
    if (typeof name !== "string" || typeof text !== "string") throw new MedBridgeError("addDocument(name, text): both must be strings", "invalid-input");
    const entry = { onProgress: options?.onProgress };
    this.#docProgress.push(entry);
    try {
      const r = await this.#call("addDocument", { name, text });
      return { ...r.info, warning: r.warning };
    } finally {
      this.#docProgress.splice(this.#docProgress.indexOf(entry), 1);
    }
  }

  /** Remove a document (here and from this browser's storage). */
  async removeDocument(id) {
    const r = await this.#call("removeDocument", { docId: String(id) });
    return { removed: r.removed, warning: r.warning };
  }

  /** The documents this engine searches. */
  async listDocuments() {
    return this.#call("listDocuments");
  }

  /** The documents (or one, by id) as an `.mbdocs` file, for the user to keep or move to another browser. */
  async exportDocuments(id) {
    return (await this.#call("exportDocuments", { docId: id })).bytes;
  }

  /** Add the documents of an `.mbdocs` file (checked: format, checksum, model). */
  async importDocuments(bytes, name = "documents file") {
    const copy = bytes instanceof ArrayBuffer ? bytes.slice(0) : new Uint8Array(bytes).buffer.slice(0);
    const r = await this.#call("importDocuments", { bytes: copy, name }, [copy]);
    return { imported: r.imported, warning: r.warning };
  }

  /** Subscribe to "backend" (the GPU failed, the CPU took over), "documents" (another tab changed them) or
   *  "error" (the worker crashed: load again). Returns the function that unsubscribes. */
  on(event, listener) {
    const set = this.#listeners[event];
    if (!set) throw new MedBridgeError(`unknown event ${event} (known: backend, documents, error)`, "invalid-input");
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Stop the worker and free the model; pending and later calls reject with code "disposed". */
  dispose() {
    this.#worker.terminate();
    this.#fail(new MedBridgeError("this MedBridge was disposed", "disposed"));
  }

  #call(type, payload = {}, transfer = []) {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...payload, id, type }, transfer);
    });
  }

  #receive(m) {
    if (m.event === "progress") return this.#onProgress?.(strip(m));
    if (m.event === "docProgress") return this.#docProgress[0]?.onProgress?.(strip(m));
    if (m.event === "backend") {
      if (this.#info) this.#info.backend = m.backend;
      return this.#emit("backend", { backend: m.backend, gpuStatus: m.gpuStatus });
    }
    if (m.event === "documents") return this.#emit("documents", { documents: m.documents, note: m.note });
    const p = this.#pending.get(m.id);
    if (!p) return;
    this.#pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new MedBridgeError(m.error, m.code || BROWSER_ERRORS[m.name] || "engine"));
  }

  #emit(event, detail) {
    for (const listener of this.#listeners[event]) {
      try {
        listener(detail);
      } catch (e) {
        console.error(e); // a site's listener must not stop the engine's messages
      }
    }
  }

  // The worker is gone: every pending and later call fails, and the site hears of it once.
  #crash(message) {
    const first = !this.#failure;
    const error = new MedBridgeError(message, "worker-failed");
    this.#fail(error);
    if (first) this.#emit("error", error);
  }

  #fail(error) {
    this.#failure ??= error;
    for (const p of this.#pending.values()) p.reject(this.#failure);
    this.#pending.clear();
  }
}

function strip({ event: _e, ...rest }) {
  return rest;
}
