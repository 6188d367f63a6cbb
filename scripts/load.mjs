// Load and slowloris test of `medbridge serve` (run by scripts/load.sh; loopback only, bounded in
// count and time, stops by itself). Prints one line per phase and exits 1 on any error.
//   node scripts/load.mjs MEDBRIDGE_BIN PAGE_DIR ASSETS_DIR BUNDLE_FILE
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import { createRequire } from "node:module";

const require = createRequire(process.env.AUTOCANNON_FROM || import.meta.url);
const autocannon = require("autocannon");
const [MB, PAGE, ASSETS, BUNDLE] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const server = spawn(MB, ["serve", "--dir", PAGE, "--assets", ASSETS, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
const base = await new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error("medbridge serve printed no URL in 20 s")), 20_000);
  server.stdout.on("data", (d) => {
    const m = /http:\/\/127\.0\.0\.1:\d+/.exec(String(d));
    if (m) { clearTimeout(t); resolve(m[0]); }
  });
  server.on("exit", (c) => reject(new Error(`medbridge serve exited with ${c}`)));
});
const rss = () => {
  const s = fs.readFileSync(`/proc/${server.pid}/status`, "utf8");
  const kib = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)[1]);
  return `RSS ${(kib("VmRSS") / 1024).toFixed(1)} MiB (peak ${(kib("VmHWM") / 1024).toFixed(1)} MiB)`;
};
let failed = false;
const run = (opts) => new Promise((resolve, reject) => autocannon({ timeout: 120, ...opts }, (e, r) => (e ? reject(e) : resolve(r))));
const report = (name, r, amount) => {
  const bad = r.errors + r.timeouts + r.non2xx + (r.resets || 0);
  const ok = bad === 0 && r.requests.total === amount;
  if (!ok) failed = true;
  console.log(
    `${name}: ${r.requests.total} requests, ${bad} errors/timeouts/non-2xx, latency p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, ` +
      `max ${r.latency.max} ms, ${(r.throughput.total / 2 ** 20).toFixed(0)} MiB in ${r.duration.toFixed(1)} s; server ${rss()}`,
  );
};

try {
  const bundleName = BUNDLE.split("/").pop();
  const bundleBytes = fs.statSync(BUNDLE).size;
  // 1. 200 concurrent connections, each fetching the model bundle once (Node's fetch: autocannon's
  //    parser, not the server, is the bottleneck on 74 MiB bodies). Every byte is counted.
  {
    const t0 = performance.now();
    const times = [];
    let errors = 0, bytes = 0;
    await Promise.all(Array.from({ length: 200 }, async () => {
      const t = performance.now();
      try {
        const r = await fetch(`${base}/assets/${bundleName}`);
        let n = 0;
        for await (const chunk of r.body) n += chunk.length;
        if (r.status !== 200 || n !== bundleBytes) errors++;
        bytes += n;
      } catch { errors++; }
      times.push(performance.now() - t);
    }));
    times.sort((a, b) => a - b);
    const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(0);
    if (errors) failed = true;
    console.log(`200 concurrent fetches of /assets/${bundleName} (${(bundleBytes / 2 ** 20).toFixed(1)} MiB each): ${errors} errors or short bodies, ` +
      `completion p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, ${(bytes / 2 ** 30).toFixed(2)} GiB in ${((performance.now() - t0) / 1000).toFixed(1)} s; server ${rss()}`);
  }
  // 2. 10,000 small requests (the page), 50 connections with keep-alive.
  report("10,000 requests for / (50 connections)", await run({ url: `${base}/`, connections: 50, amount: 10_000 }), 10_000);

  // 3. Slowloris: 1,000 connections that send half a request head and then trickle a header line
  //    every 2 s; meanwhile a normal client loads the page's files.
  const idle = [];
  let closedByServer = 0;
  for (let i = 0; i < 1000; i++) {
    const s = net.connect({ host: "127.0.0.1", port: Number(new URL(base).port) });
    s.on("error", () => {});
    s.on("close", () => closedByServer++);
    s.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    idle.push(s);
  }
  const trickle = setInterval(() => idle.forEach((s) => !s.destroyed && s.write("X-Slow: 1\r\n")), 2000);
  await sleep(1000);
  const t0 = performance.now();
  const files = ["/", "/app.js", "/worker.js", "/style.css", "/pkg/medbridge_bg.wasm", "/assets/manifest.json"];
  const statuses = [];
  for (const f of files) {
    const r = await fetch(base + f);
    await r.arrayBuffer();
    statuses.push(r.status);
  }
  const pageMs = performance.now() - t0;
  const pageOk = statuses.every((s) => s === 200);
  if (!pageOk) failed = true;
  console.log(`slowloris: page files ${statuses.join(" ")} in ${pageMs.toFixed(0)} ms while 1,000 slow connections were open; server ${rss()}`);
  await sleep(13_000);
  clearInterval(trickle);
  const closedOk = closedByServer === 1000;
  if (!closedOk) failed = true;
  console.log(`slowloris: ${closedByServer} of 1,000 slow connections closed by the server within 14 s (header read timeout 10 s)`);
  idle.forEach((s) => s.destroy());
} catch (e) {
  console.error(`load test failed: ${e.stack || e}`);
  failed = true;
} finally {
  server.kill();
}
process.exit(failed ? 1 : 0);
