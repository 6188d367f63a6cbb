#!/usr/bin/env python3
"""Real annotated mentions → training pairs (the JSONL of `medbridge synth`, generator "annotated").

For a user who has mentions coded by people (e.g. CodiEsp train: BEIR-style queries.jsonl + qrels.tsv):
each mention becomes a pair with its first gold code's description in --passage-lang as the positive and up
to three siblings in the hierarchy as hard negatives (`medbridge train cross` mines more with the bi-encoder).
Mentions whose text occurs in an --exclude file (evaluation queries) are dropped and counted.

  python3 scripts/annotated-pairs.py --queries ../shared/data/codiesp/train/queries.jsonl \
    --qrels ../shared/data/codiesp/train/qrels.tsv --lang es --exclude ../shared/data/codiesp/dev/queries.jsonl \
    --out target/train/codiesp-train-pairs.jsonl
"""
import argparse, json, random, sys


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as e:
                    sys.exit(f"{path}:{n}: bad JSON: {e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", required=True)
    ap.add_argument("--qrels", required=True)
    ap.add_argument("--lang", required=True, help="language of the mentions (en, es, fr, pt, it, ca)")
    ap.add_argument("--passage-lang", default="en", help="language of the code descriptions used as passages")
    ap.add_argument("--catalog", default="models/icd10/catalog.jsonl")
    ap.add_argument("--exclude", action="append", default=[], help="queries file whose texts must not be used")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    cat = {e["code"]: e for e in read_jsonl(a.catalog)}
    children = {}
    for code, e in cat.items():
        if e.get("parent"):
            children.setdefault(e["parent"], []).append(code)
    banned = {q["text"].strip().lower() for f in a.exclude for q in read_jsonl(f)}
    gold = {}
    with open(a.qrels, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            cols = line.rstrip("\n").split("\t")
            if n == 1 and cols[0] == "query-id":
                continue
            if len(cols) < 3:
                sys.exit(f"{a.qrels}:{n}: expected query-id<TAB>corpus-id<TAB>score")
            if float(cols[2]) > 0:
                gold.setdefault(cols[0], []).append(cols[1])
    rng = random.Random(a.seed)
    out, dropped = [], {"excluded": 0, "no gold": 0, "gold not described": 0}
    for q in read_jsonl(a.queries):
        text, qid = q.get("text", "").strip(), q.get("_id")
        if text.lower() in banned:
            dropped["excluded"] += 1
            continue
        codes = gold.get(qid)
        if not codes:
            dropped["no gold"] += 1
            continue
        e = cat.get(codes[0])
        desc = e and e["descriptions"].get(a.passage_lang)
        if not desc:
            dropped["gold not described"] += 1
            continue
        sibs = [c for c in children.get(e.get("parent"), []) if c != e["code"] and a.passage_lang in cat[c]["descriptions"]]
        rng.shuffle(sibs)
        out.append({"lang": a.lang, "query": text, "positive_code": e["code"], "positive_text": desc,
                    "positive_lang": a.passage_lang,
                    "hard_negatives": [{"code": c, "text": cat[c]["descriptions"][a.passage_lang], "relation": "sibling"} for c in sibs[:3]],
                    "generator": "annotated", "seed": a.seed, "template": "annotated"})
    with open(a.out, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(p, ensure_ascii=False) + "\n" for p in out)
    print(f"{len(out)} pairs written to {a.out}; dropped: {dropped}", file=sys.stderr)


if __name__ == "__main__":
    main()
