"""The peer benchmark's inputs, the same for every engine (one text per line, e5 prefix included):
  icd.txt       2,048 ICD-10-CM descriptions (every k-th of CodiEsp's English code pool), "passage: …"
  passages.txt  256 passages of ~150 tokens cut at sentence ends from CodiEsp-D *train* cases
                (Spanish and their English translations, alternating), "passage: …"
  queries.txt   200 CodiEsp *train* mentions, "query: …" (single-query latency)
  golden.txt    the 15 texts of golden.json (numpy reference vectors of the same weights), when given
usage: python3 inputs.py ../shared/data OUT_DIR [golden.json]
"""
import json
import re
import sys
from pathlib import Path

data, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)


def jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def one_line(text):
    return re.sub(r"\s+", " ", text).strip()


codes = jsonl(data / "codiesp/corpus_en.jsonl")
step = len(codes) // 2048
icd = [one_line(c["text"]) for c in codes[::step][:2048]]

# ~150 XLM-R tokens is ~100 words of clinical Spanish or English.
passages = []
docs = [jsonl(data / "codiesp-d/train/docs.jsonl"), jsonl(data / "codiesp-d/train/docs_en.jsonl")]
for es, en in zip(*docs):
    for doc in (es, en):
        words, cur = [], []
        for sentence in re.split(r"(?<=[.!?])\s+", one_line(doc["text"])):
            cur.extend(sentence.split())
            if len(cur) >= 95:
                words.append(" ".join(cur[:120]))
                cur = []
        if words:
            passages.append(words[0])
    if len(passages) >= 256:
        break

mentions = jsonl(data / "codiesp/train/queries.jsonl")
queries = [one_line(m["text"]) for m in mentions[:: len(mentions) // 200][:200]]

if len(sys.argv) > 3:
    golden = json.loads(Path(sys.argv[3]).read_text(encoding="utf-8"))["cases"]
    assert all("\n" not in c["text"] for c in golden)
    (out / "golden.txt").write_text("".join(c["text"] + "\n" for c in golden), encoding="utf-8")

for name, prefix, texts in [("icd.txt", "passage: ", icd), ("passages.txt", "passage: ", passages[:256]), ("queries.txt", "query: ", queries)]:
    (out / name).write_text("".join(prefix + t + "\n" for t in texts), encoding="utf-8")
    print(f"{out / name}: {len(texts)} texts, mean {sum(len(t.split()) for t in texts) / len(texts):.1f} words")
