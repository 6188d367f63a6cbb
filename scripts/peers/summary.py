"""The peer benchmark's table: every engine's measurements from one run (JSON lines), as ratios against a
reference engine on the same inputs, and every engine's vectors against sentence-transformers' (same texts)
and against golden.json (numpy reference forward pass of the same weights).
usage: python summary.py RESULTS.jsonl EMB_DIR [golden.json]
Native rows are compared with `st` (sentence-transformers), page rows (medbridge-cpu, medbridge-webgpu,
transformers.js-*) with `transformers.js-wasm-fp32`.
"""
import json
import sys
from pathlib import Path

import numpy as np

rows = [json.loads(line) for line in Path(sys.argv[1]).read_text(encoding="utf-8").splitlines() if line.startswith("{")]
emb_dir = Path(sys.argv[2])
golden = json.loads(Path(sys.argv[3]).read_text(encoding="utf-8"))["cases"] if len(sys.argv) > 3 else None


def in_browser(engine):
    return engine in ("medbridge-cpu", "medbridge-webgpu") or engine.startswith("transformers.js-")


def reference(engine):
    return "transformers.js-wasm-fp32" if in_browser(engine) else "st"


speed = {(r["engine"], r["input"]): r for r in rows if "texts_per_s" in r and r["input"] != "golden.txt"}
latency = {r["engine"]: r for r in rows if "latency_median_ms" in r}

print("\n== throughput, batch 32, one thread (ratio: texts/s against the reference engine on the same input)")
print(f"{'engine':<28} {'input':<14} {'texts':>6} {'tokens/text':>11} {'texts/s':>9} {'tokens/s':>9} {'ratio':>7}  vs")
for (engine, name), r in speed.items():
    ref = speed.get((reference(engine), name))
    ratio = f"{r['texts_per_s'] / ref['texts_per_s']:.2f}×" if ref else "–"
    print(f"{engine:<28} {name:<14} {r['texts']:>6} {r['tokens'] / r['texts']:>11.1f} {r['texts_per_s']:>9.1f} "
          f"{r['tokens_per_s']:>9.0f} {ratio:>7}  {reference(engine)}")

print("\n== single query (one text alone), latency in ms (ratio: median against the reference engine's)")
print(f"{'engine':<28} {'n':>4} {'median':>8} {'p90':>8} {'ratio':>7}  vs")
for engine, r in latency.items():
    ref = latency.get(reference(engine))
    ratio = f"{r['latency_median_ms'] / ref['latency_median_ms']:.2f}×" if ref else "–"
    print(f"{engine:<28} {r.get('n', r.get('queries', 0)):>4} {r['latency_median_ms']:>8.1f} {r['latency_p90_ms']:>8.1f} {ratio:>7}  {reference(engine)}")


def vectors(engine, name):
    path = emb_dir / f"{engine}-{name}.f32"
    if not path.is_file():
        return None
    v = np.fromfile(path, dtype="<f4")
    return v.reshape(-1, 384)


def cosines(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


print("\n== agreement: cosine of each text's vector with sentence-transformers' (same input) and with golden.json")
print(f"{'engine':<28} {'input':<14} {'min':>9} {'median':>9}")
engines = sorted({r["engine"] for r in rows if "engine" in r})
for engine in engines:
    for name in ("icd.txt", "passages.txt", "queries.txt"):
        mine, st = vectors(engine, name), vectors("st", name)
        # The page may measure the first N texts of a file only.
        if engine != "st" and mine is not None and st is not None and len(mine) <= len(st):
            c = cosines(mine, st[: len(mine)])
            print(f"{engine:<28} {name:<14} {c.min():>9.5f} {np.median(c):>9.5f}")
    mine = vectors(engine, "golden.txt")
    if golden and mine is not None and len(mine) == len(golden):
        c = cosines(mine, np.array([g["embedding"] for g in golden], dtype=np.float32))
        print(f"{engine:<28} {'golden.json':<14} {c.min():>9.5f} {np.median(c):>9.5f}")
for r in rows:
    if "cosine_min" in r or "cosine" in r:
        print("page:", json.dumps(r, ensure_ascii=False))
