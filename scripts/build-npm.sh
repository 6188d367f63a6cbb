#!/usr/bin/env bash
# The npm package for other sites: www/package (the wrapper, its types, package.json, README) + www/worker.js
# + the wasm engine (www/pkg) → target/npm/medbridge/ → `npm pack` → target/npm/medbridge-VERSION.tgz.
# The model and catalogue are not in it: a site serves them from its own origin (`medbridge export-web`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-wasm.sh
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
pkg_version=$(node -p 'require("./www/package/package.json").version')
if [ "$version" != "$pkg_version" ]; then
  echo "www/package/package.json has version $pkg_version but Cargo.toml $version: make them equal" >&2
  exit 1
fi
out=target/npm/medbridge
rm -rf "$out" && mkdir -p "$out/pkg"
cp www/package/package.json www/package/index.js www/package/index.d.ts www/package/README.md www/worker.js "$out/"
cp www/pkg/medbridge.js www/pkg/medbridge_bg.wasm "$out/pkg/"
tarball=$(cd target/npm && npm pack ./medbridge --silent)
bytes=$(stat -c %s "target/npm/$tarball")
echo "npm package: target/npm/$tarball ($bytes bytes, $(awk "BEGIN{printf \"%.2f\", $bytes/1048576}") MiB packed; $(du -sb "$out" | cut -f1) bytes unpacked)"
