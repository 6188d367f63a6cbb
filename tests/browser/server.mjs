// Tiny static file server for the browser tests: 127.0.0.1, random port, correct MIME types
// (application/wasm for streaming compilation), GET/HEAD only, a request log for assertions.
//
//   import { startServer } from "./server.mjs";
//   const srv = await startServer({ "/": "page", "/pkg/": "../../www/pkg", "/model/": "bundle" });
//   srv.url, srv.log (array of {method, path, status, bytes, time}), srv.clearLog(), await srv.close()
//
// As a command: node server.mjs /=page /pkg/=../../www/pkg /model/=DIR  (prints the URL).
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".css": "text/css; charset=utf-8",
  ".gguf": "application/octet-stream",
  ".ts": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
};

export async function startServer(mounts, { port = 0, quiet = true } = {}) {
  // Longest prefix first.
  const table = Object.entries(mounts)
    .map(([prefix, dir]) => [prefix.endsWith("/") ? prefix : prefix + "/", path.resolve(dir)])
    .sort((a, b) => b[0].length - a[0].length);
  const log = [];
  const server = http.createServer((req, res) => {
    const entry = { method: req.method, path: "", status: 0, bytes: 0, time: Date.now() };
    log.push(entry);
    const done = (status, headers = {}, body = null) => {
      entry.status = status;
      res.writeHead(status, headers);
      res.end(body);
    };
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, "http://x").pathname);
    } catch {
      return done(400);
    }
    entry.path = pathname;
    if (req.method !== "GET" && req.method !== "HEAD") return done(405, { Allow: "GET, HEAD" });
    const hit = table.find(([prefix]) => pathname.startsWith(prefix) || pathname + "/" === prefix);
    if (!hit) return done(404);
    const [prefix, root] = hit;
    let file = path.join(root, pathname.slice(prefix.length));
    if (file !== root && !file.startsWith(root + path.sep)) return done(403);
    fs.stat(file, (err, st) => {
      if (!err && st.isDirectory()) {
        file = path.join(file, "index.html");
        st = fs.existsSync(file) ? fs.statSync(file) : null;
      }
      if (err || !st || !st.isFile()) return done(404, { "Content-Type": "text/plain" }, "not found");
      entry.status = 200;
      entry.bytes = st.size;
      res.writeHead(200, {
        "Content-Type": MIME[path.extname(file).toLowerCase()] || "application/octet-stream",
        "Content-Length": st.size,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
      });
      if (req.method === "HEAD") return res.end();
      fs.createReadStream(file).pipe(res);
    });
    if (!quiet) res.on("finish", () => console.log(`${entry.status} ${req.method} ${pathname}`));
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    log,
    clearLog: () => log.splice(0, log.length),
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const mounts = Object.fromEntries(process.argv.slice(2).map((a) => a.split("=", 2)));
  if (!Object.keys(mounts).length) {
    console.error("usage: node server.mjs /=DIR [/pkg/=DIR ...]");
    process.exit(2);
  }
  const srv = await startServer(mounts, { port: Number(process.env.PORT || 0), quiet: false });
  console.log(`serving ${JSON.stringify(mounts)} at ${srv.url}/`);
}
