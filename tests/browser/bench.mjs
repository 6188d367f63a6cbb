// Benchmark of the MedBridge wasm package in headless Chromium, WebGPU and CPU paths in one page:
// single-query latency, batch-32 throughput, their ratio; bundle and wasm sizes.
//
//   node tests/browser/bench.mjs [--pkg www/pkg] [--bundle target/web-bundle] [--reps N] [--batch-reps N]
// (tests/browser/run.sh bench builds everything first.)  WebGPU here is SwiftShader (CPU emulation):
// numbers on a real GPU differ.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { checkInputs, serve, launch, openPage, golden, arg, PKG, BUNDLE } from "./lib.mjs";

checkInputs();
const reps = Number(arg("reps", "3"));
const batchReps = Number(arg("batch-reps", "1")); // SwiftShader: one batch-32 pass takes minutes
const mib = (n) => `${(n / 1048576).toFixed(2)} MiB`;

console.log("== sizes");
const manifest = JSON.parse(fs.readFileSync(path.join(BUNDLE, "manifest.json"), "utf8"));
for (const f of manifest.files) console.log(`bundle ${f.name.padEnd(15)} ${String(f.bytes).padStart(10)} B  ${mib(f.bytes)}`);
console.log(`bundle total           ${String(manifest.files.reduce((a, f) => a + f.bytes, 0)).padStart(10)} B  ${mib(manifest.files.reduce((a, f) => a + f.bytes, 0))}  (body ${manifest.body}, version ${manifest.version})`);
for (const name of ["medbridge_bg.wasm", "medbridge.js"]) {
  const b = fs.readFileSync(path.join(PKG, name));
  console.log(`pkg ${name.padEnd(18)} ${String(b.length).padStart(10)} B  ${mib(b.length)}  gzip -9: ${mib(zlib.gzipSync(b, { level: 9 }).length)}`);
}

const cases = golden();
const query = "query: dolor de cabeza intenso y fiebre";
const batch = Array.from({ length: 32 }, (_, i) => cases[i % cases.length].text);

const srv = await serve();
const browser = await launch();
const rows = {};
try {
  await openPage(browser.page, `${srv.url}/index.html`);
  for (const [label, webgpu] of [["webgpu", true], ["cpu", false]]) {
    const r = await browser.page.evaluate((o) => window.medbridgeTest.load(o), { webgpu });
    if (r.backend !== label) {
      console.log(`${label}: not available (${r.gpuStatus})`);
      continue;
    }
    const single = await browser.page.evaluate(([t, n]) => window.medbridgeTest.time([t], "raw", n), [query, reps]);
    const b32 = await browser.page.evaluate(([t, n]) => window.medbridgeTest.time(t, "raw", n, false), [batch, batchReps]); // warmed by the single queries
    rows[label] = { loadMs: r.loadMs, buildMs: r.report.buildMs, single, b32, tput: 32000 / b32 };
  }
} finally {
  await browser.close();
  await srv.close();
}

console.log(`\n== speed (${reps} reps single, ${batchReps} reps batch; SwiftShader WebGPU)`);
console.log("path     load ms  build ms  single-query ms  batch-32 ms  texts/s");
for (const [k, r] of Object.entries(rows)) {
  console.log(`${k.padEnd(8)} ${r.loadMs.toFixed(0).padStart(7)}  ${r.buildMs.toFixed(0).padStart(8)}  ${r.single.toFixed(1).padStart(15)}  ${r.b32.toFixed(0).padStart(11)}  ${r.tput.toFixed(1).padStart(7)}`);
}
if (rows.webgpu && rows.cpu) {
  console.log(`ratio webgpu/cpu: single-query latency ×${(rows.webgpu.single / rows.cpu.single).toFixed(2)}, batch-32 throughput ×${(rows.webgpu.tput / rows.cpu.tput).toFixed(2)}`);
} else {
  console.log("ratio: n/a (one path missing)");
  process.exitCode = 1;
}
