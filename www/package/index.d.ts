// MedBridge: private, multilingual clinical search that runs in the browser (a Web Worker this package owns).

/** Stable error codes: switch on `error.code`, never on the message. */
export type ErrorCode =
  /** The device could not reach the assets URL (first visit offline, server down). */
  | "offline"
  /** A download was cut short three times; nothing incomplete was cached. */
  | "download-interrupted"
  /** The server answered with an HTTP error (assets missing at that URL?). */
  | "fetch-failed"
  /** A file does not match its sha256 in manifest.json, or a stored file is damaged. */
  | "damaged-file"
  /** An index or documents file was made with another model. */
  | "model-mismatch"
  /** A file is not a MedBridge file / has a format version this engine cannot read. */
  | "not-medbridge-file"
  | "unsupported-version"
  /** A bundle lacks a file it needs. */
  | "missing-piece"
  /** A bad argument or option (named in the message), an empty query, an unsupported document. */
  | "invalid-input"
  /** A document or file could not be parsed (the message names where). */
  | "parse"
  | "io"
  | "tokenizer"
  | "tensor"
  /** WebGPU failed; the engine moves to the CPU by itself, so this reaches you only if the CPU failed too. */
  | "gpu"
  /** Browser storage is full. */
  | "quota"
  /** This browser cannot compile or link the engine's WebAssembly. */
  | "wasm-unsupported"
  /** `search({ rerank: true })` or `rerank: N` with assets that ship no reranker (`rerankerId` null). */
  | "no-reranker"
  /** A newer `search` call overtook this one: only the latest answer is returned. */
  | "superseded"
  /** The engine's worker could not start or crashed (worker.js or the wasm not served?). */
  | "worker-failed"
  /** `dispose()` was called. */
  | "disposed"
  /** Anything else the engine reported (the message says what). */
  | "engine";

export class MedBridgeError extends Error {
  readonly name: "MedBridgeError";
  readonly code: ErrorCode;
}

/** "auto" (default): WebGPU on a hardware adapter, else the CPU; "webgpu": WebGPU on any adapter; "cpu". */
export type Backend = "auto" | "webgpu" | "cpu";

/** Download progress: `phase` "file" while bytes arrive (from the network or this browser's cache),
 *  then "build" (model) and "index" (ICD-10 catalogue). */
export interface LoadProgress {
  phase: "file" | "build" | "index";
  file: string;
  source: string;
  fileLoaded: number;
  fileTotal: number;
  loaded: number;
  total: number;
}

export interface LoadOptions {
  onProgress?: (progress: LoadProgress) => void;
  backend?: Backend;
  /** Where the package's `worker.js` is served, for bundlers that do not handle
   *  `new Worker(new URL("./worker.js", import.meta.url))` (Vite, webpack 5 and Parcel do). */
  workerUrl?: string | URL;
}

export interface FileReport {
  name: string;
  bytes: number;
  /** "cache", "network", "network-retry" or "network-after-damaged-cache". */
  source: string;
  attempts: number;
  /** Kept in the Cache API for the next visit. */
  cached: boolean;
  /** Time to get it (cache read or download, and verification), of which `verifyMs` checking its sha256. */
  ms: number;
  verifyMs: number;
}

export interface LoadReport {
  version: string;
  modelId: string;
  manifestSource: string;
  cacheAvailable: boolean;
  files: FileReport[];
  /** Cached files this bundle no longer uses (e.g. the previous index), and caches of earlier releases, deleted. */
  deletedCaches: string[];
  backend: "webgpu" | "cpu";
  gpuStatus: string;
  /** Why a downloaded file could not be kept for the next visit (storage full …), or null. */
  cacheWarning: string | null;
  fetchMs: number;
  buildMs: number;
  /** Where the start went, in order: [stage, ms] for manifest, files, config, tokenizer, weights, catalog,
   *  encoder, reranker, cleanup. */
  stages: [string, number][];
}

/** The ICD-10 search asset the bundle ships (null when it has none). */
export interface CatalogInfo {
  model_id: string;
  dim: number;
  passages: number;
  codes: number;
  entries: number;
  /** "icd10:es", "icd10:all" … */
  source: string;
  quantization: string;
}

export interface EngineInfo {
  backend: "webgpu" | "cpu";
  /** Why WebGPU is or is not used. */
  gpuStatus: string;
  /** navigator.gpu exists in this browser. */
  webgpuApi: boolean;
  modelId: string;
  /** The cross-encoder's model id, or null when the assets ship none. */
  rerankerId: string | null;
  version: string;
  catalog: CatalogInfo | null;
  report: LoadReport;
  /** Saved documents restored at load. */
  documents: number;
  /** Saved documents that could not be restored (each removed from storage). */
  problems: string[];
  loadMs: number;
}

export interface SearchOptions {
  /** Results per list, 1–100 (default 10). */
  k?: number;
  /** Language of the code descriptions: "en" (default), "es", "fr", "pt", "it", "ca" (falls back, marked). */
  lang?: string;
  /** "auto" (default, the measured best), "dense", "hybrid" (BM25 fusion) or "bm25". */
  method?: "auto" | "dense" | "hybrid" | "bm25";
  /** Search the ICD-10 catalogue (default true). */
  catalog?: boolean;
  /** Search the user's documents (default true). */
  documents?: boolean;
  /** Rerank the catalogue's first results with the cross-encoder: "auto" (default: the top 10 when the assets
   *  ship a reranker, else none), `true` (the top 10), `false`, or how many (0 = none, at most 100). `true` or a
   *  number without a reranker rejects with code "no-reranker". Documents are not reranked. */
  rerank?: boolean | number | "auto";
}

export interface CodeHit {
  rank: number;
  code: string;
  score: number;
  /** In the asked language, or in a fallback language (`fallback` true, `descriptionLang` says which). */
  description: string;
  descriptionLang: string;
  fallback: boolean;
  parent: string | null;
  parentDescription: string | null;
  /** The indexed text that matched, and its language. */
  matchedText: string;
  matchedLang: string;
  /** "bi-encoder", "bm25" or "bi-encoder+bm25"; " + reranker" appended when the cross-encoder reordered it
   *  (its `score` is then the fused one: z(reranker) + z(first stage) over the reranked results). */
  stage: string;
}

export interface DocHit {
  docId: string;
  docName: string;
  passage: number;
  title: string;
  text: string;
  score: number;
}

export interface SearchResult {
  catalog: CodeHit[];
  documents: DocHit[];
  /** The engine that answered ("cpu" after a GPU failure). */
  backend: "webgpu" | "cpu";
  embedMs: number;
  /** The first stage (HNSW, BM25) and the documents. */
  searchMs: number;
  /** Whether the cross-encoder reordered the catalogue's results, and how long it took. */
  reranked: boolean;
  rerankMs: number;
  totalMs: number;
}

export interface DocumentInfo {
  id: string;
  name: string;
  passages: number;
  addedMs: number;
}

export interface AddedDocument extends DocumentInfo {
  /** Set when the document is searchable now but could not be saved in this browser (storage full …). */
  warning: string | null;
}

export interface DocumentProgress {
  name: string;
  done: number;
  total: number;
}

export interface EngineEvents {
  /** WebGPU failed after loading: the engine runs on the CPU from now on (same results). */
  backend: { backend: "webgpu" | "cpu"; gpuStatus: string };
  /** Another tab of this site added or removed a document. */
  documents: { documents: DocumentInfo[]; note: string };
  /** The engine's worker crashed (code "worker-failed"): every call now rejects; load a new engine. */
  error: MedBridgeError;
}

export class MedBridge {
  private constructor();
  /** Download (or take from this browser's cache), verify (sha256) and start the engine from `assetsUrl`,
   *  a folder on the site's own origin holding `manifest.json` (`medbridge export-web --out …`). */
  static load(assetsUrl: string | URL, options?: LoadOptions): Promise<MedBridge>;
  readonly info: EngineInfo;
  readonly backend: "webgpu" | "cpu";
  /** Search the ICD-10 catalogue and the user's documents with one query embedding. */
  search(query: string, options?: SearchOptions): Promise<SearchResult>;
  /** `.txt`, `.md`, `.csv`, `.json` or `.jsonl` by `name`; up to 5 MB. Embedded on this device, kept in IndexedDB. */
  addDocument(name: string, text: string, options?: { onProgress?: (progress: DocumentProgress) => void }): Promise<AddedDocument>;
  removeDocument(id: string): Promise<{ removed: boolean; warning: string | null }>;
  listDocuments(): Promise<DocumentInfo[]>;
  /** All documents (or the one with `id`) as an `.mbdocs` file. */
  exportDocuments(id?: string): Promise<Uint8Array>;
  importDocuments(bytes: ArrayBuffer | Uint8Array, name?: string): Promise<{ imported: DocumentInfo[]; warning: string | null }>;
  on<E extends keyof EngineEvents>(event: E, listener: (detail: EngineEvents[E]) => void): () => void;
  /** Stop the worker and free the model; later calls reject with code "disposed". */
  dispose(): void;
}
