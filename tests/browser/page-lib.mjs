// The page tests' shared pieces: the real server (`medbridge serve --log`), a headless Chromium per
// mode (WebGPU on SwiftShader, or WebGPU unavailable), and the page driven as a user would.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { chromium } from "playwright-core";
import { ROOT, CHROMIUM } from "./lib.mjs";

// ---- The real server: `medbridge serve --log`, request log parsed from its stdout.
export async function startServer(MB, ASSETS) {
  const child = spawn(MB, ["serve", "--dir", path.join(ROOT, "www"), "--assets", ASSETS, "--port", "0", "--log"], { stdio: ["ignore", "pipe", "inherit"] });
  const log = [];
  let buf = "";
  const url = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("medbridge serve printed no URL in 20 s")), 20_000);
    child.on("exit", (c) => reject(new Error(`medbridge serve exited with ${c}`)));
    child.stdout.on("data", (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const m = line.match(/(http:\/\/127\.0\.0\.1:\d+)\//);
        if (m) { clearTimeout(t); resolve(m[1]); continue; }
        const [method, p, status, bytes] = line.split(" ");
        log.push({ method, path: p, status: +status, bytes: +bytes });
      }
    });
  });
  return { url, log, clear: () => log.splice(0, log.length), close: () => child.kill() };
}

export async function launch(mode) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), `medbridge-page-${mode}-`));
  const args = ["--headless=new", "--no-sandbox", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic"];
  if (mode === "webgpu") args.push("--enable-unsafe-webgpu");
  else args.push("--disable-features=WebGPU,Vulkan", "--disable-gpu");
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM, headless: true, ignoreDefaultArgs: ["--headless"], args,
    viewport: { width: 1100, height: 1400 }, acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const requests = [];
  context.on("request", (r) => requests.push(r.url()));
  page.on("worker", (w) => w.on("console", () => {}));
  const consoleLines = [];
  page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
  return {
    context, page, requests, consoleLines,
    close: async () => { await context.close(); fs.rmSync(userDataDir, { recursive: true, force: true }); },
  };
}

// Polled every 25 ms: the tests time page open → first result with these waits, and a coarser poll added up to
// 300 ms of the test's own delay to the page's figure.
export async function waitReady(page, timeout = 300_000) {
  await page.waitForFunction(() => {
    const s = document.getElementById("status").dataset.state;
    return s === "ready" || s === "error";
  }, null, { timeout, polling: 25 });
  return page.evaluate(() => ({
    state: document.getElementById("status").dataset.state,
    status: document.getElementById("status").textContent,
    backend: document.getElementById("status").dataset.backend,
    notice: document.getElementById("engine-notice").hidden ? null : document.getElementById("engine-notice").textContent,
    noticeKind: document.getElementById("engine-notice").dataset.kind,
    detail: document.getElementById("load-detail").textContent,
    readyMs: window.medbridgePage.readyMs,
    files: window.medbridgePage.info?.report.files,
    stages: window.medbridgePage.info?.report.stages,
  }));
}

// Type a query (as a user: fill + Enter) and wait for its results. Returns codes, docs and latency.
export async function search(page, q, lang) {
  if (lang && (await page.$eval("#lang", (s) => s.value)) !== lang) await page.selectOption("#lang", lang);
  await page.$eval("#results", (r) => { r.dataset.state = "pending"; }); // not a previous search's outcome
  await page.fill("#q", q);
  await page.press("#q", "Enter");
  await page.waitForFunction((q) => {
    const r = document.getElementById("results");
    return (r.dataset.state === "done" && r.dataset.query === q) || r.dataset.state === "error";
  }, q, { timeout: 180_000, polling: 25 });
  if ((await page.$eval("#results", (r) => r.dataset.state)) === "error") throw new Error(`search "${q}": ${await page.textContent("#latency")}`);
  return page.evaluate(() => ({
    hits: window.medbridgePage.last.catalog.map((h) => ({ code: h.code, score: h.score })),
    backend: window.medbridgePage.last.backend,
    codes: [...document.querySelectorAll("#code-results li")].map((li) => li.dataset.code),
    fallbacks: [...document.querySelectorAll("#code-results li .badge.fallback")].length,
    first: document.querySelector("#code-results li")?.textContent,
    docs: [...document.querySelectorAll("#doc-results li")].map((li) => ({ doc: li.dataset.doc, text: li.querySelector(".passage").textContent })),
    latency: document.getElementById("latency").textContent,
    last: {
      embedMs: window.medbridgePage.last.embedMs,
      searchMs: window.medbridgePage.last.searchMs,
      rerankMs: window.medbridgePage.last.rerankMs,
      reranked: window.medbridgePage.last.reranked,
      totalMs: window.medbridgePage.last.totalMs,
    },
    stages: [...document.querySelectorAll("#code-results li .badge.stage")].map((e) => e.textContent),
  }));
}

export function foreign(requests, origin) {
  return requests.filter((u) => !u.startsWith(origin + "/") && !u.startsWith("blob:") && !u.startsWith("data:"));
}

