"""Convert the Hugging Face directory of our model into a transformers.js model directory.

  target/peers/hf/   config.json (BertModel), model.safetensors (f32), tokenizer.json, tokenizer_config.json, ...
       -> target/peers/onnx/<name>/
            config.json, tokenizer.json, tokenizer_config.json (+ special_tokens_map.json if present)
            onnx/model.onnx            fp32, one file (no external data), opset 17
            onnx/model_quantized.onnx  q8 (onnxruntime quantize_dynamic, int8 weights, as transformers.js's
                                       own conversion script makes its "q8"), unless --no-quantize

The graph is torch.onnx.export of the BertModel (TorchScript exporter, eager attention): inputs
input_ids, attention_mask, token_type_ids (int64, [batch, sequence]), output last_hidden_state
([batch, sequence, hidden]); transformers.js does the mean pooling and the L2 normalisation.
After the export, onnxruntime (CPU) runs both files on a few texts and prints how far they are from
torch (max |diff| of last_hidden_state, cosine of the mean-pooled vectors); the export fails when the
fp32 graph disagrees with torch.

usage: target/peers/venv/bin/python scripts/peers/export_onnx.py [--hf target/peers/hf]
           [--out target/peers/onnx] [--name multilingual-e5-small] [--opset 17] [--no-quantize]
Needs torch, transformers, onnx, onnxruntime (scripts/peers/requirements.txt).
"""
import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--hf", default="target/peers/hf", help="Hugging Face model directory (BertModel)")
ap.add_argument("--out", default="target/peers/onnx", help="parent directory of the transformers.js model")
ap.add_argument("--name", default="multilingual-e5-small", help="model directory name (the id transformers.js loads)")
ap.add_argument("--opset", type=int, default=17, help="ONNX opset (onnxruntime-web supports up to 21+; 17 has LayerNormalization)")
ap.add_argument("--no-quantize", action="store_true", help="skip onnx/model_quantized.onnx")
args = ap.parse_args()

import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
from transformers import AutoConfig, AutoModel, AutoTokenizer  # noqa: E402

hf = Path(args.hf)
out = Path(args.out) / args.name
onnx_dir = out / "onnx"
for need in ["config.json", "model.safetensors", "tokenizer.json"]:
    if not (hf / need).exists():
        sys.exit(f"{hf / need} is missing (target/debug/medbridge --model models/e5-small export hf --out {hf})")
onnx_dir.mkdir(parents=True, exist_ok=True)
print(f"torch {torch.__version__}, onnx {onnx.__version__}, onnxruntime {ort.__version__}")

# --- config and tokenizer files, as transformers.js reads them ---------------------------------------
config = AutoConfig.from_pretrained(hf)
if config.model_type != "bert":
    print(f"warning: model_type is {config.model_type!r}, not 'bert'", file=sys.stderr)
for name in ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "sentencepiece.bpe.model"]:
    if (hf / name).exists():
        shutil.copyfile(hf / name, out / name)
tc_path = out / "tokenizer_config.json"
tc = json.loads(tc_path.read_text(encoding="utf-8")) if tc_path.exists() else {}
# transformers.js truncates to model_max_length; the model has 512 positions.
changed = False
if not isinstance(tc.get("model_max_length"), int) or tc["model_max_length"] > config.max_position_embeddings:
    tc["model_max_length"] = config.max_position_embeddings
    changed = True
if "tokenizer_class" not in tc:
    tc["tokenizer_class"] = "XLMRobertaTokenizer"
    changed = True
if changed:
    tc_path.write_text(json.dumps(tc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{tc_path}: set model_max_length={tc['model_max_length']}, tokenizer_class={tc['tokenizer_class']}")

# --- export ----------------------------------------------------------------------------------------
model = AutoModel.from_pretrained(hf, dtype=torch.float32, attn_implementation="eager", add_pooling_layer=False)
model.eval()


class LastHidden(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state


tok = AutoTokenizer.from_pretrained(hf)
samples = [
    "query: dolor de cabeza intenso y fiebre",
    "passage: Type 2 diabetes mellitus with diabetic chronic kidney disease",
    "passage: Paciente de 54 años que acude a urgencias por dolor torácico opresivo irradiado al brazo izquierdo.",
]
enc = tok(samples, padding=True, truncation=True, max_length=512, return_tensors="pt")
feed = (enc["input_ids"], enc["attention_mask"], enc.get("token_type_ids", torch.zeros_like(enc["input_ids"])))
names = ["input_ids", "attention_mask", "token_type_ids"]
fp32_path = onnx_dir / "model.onnx"
t0 = time.time()
export_kwargs = dict(
    input_names=names,
    output_names=["last_hidden_state"],
    dynamic_axes={**{n: {0: "batch_size", 1: "sequence_length"} for n in names},
                  "last_hidden_state": {0: "batch_size", 1: "sequence_length"}},
    opset_version=args.opset,
    do_constant_folding=True,
)
with torch.no_grad():
    try:
        torch.onnx.export(LastHidden(model), feed, str(fp32_path), dynamo=False, **export_kwargs)
    except TypeError:  # torch without the dynamo argument: the TorchScript exporter is the only one
        torch.onnx.export(LastHidden(model), feed, str(fp32_path), **export_kwargs)
# One self-contained file (the model is < 2 GB): fold any external data back in.
m = onnx.load(str(fp32_path), load_external_data=True)
for stale in onnx_dir.glob("model.onnx*data"):
    stale.unlink()
onnx.save_model(m, str(fp32_path), save_as_external_data=False)
onnx.checker.check_model(str(fp32_path))
print(f"{fp32_path}: {fp32_path.stat().st_size / 2**20:.1f} MiB, opset {args.opset}, {time.time() - t0:.1f} s")
del m

# --- q8 ------------------------------------------------------------------------------------------
q8_path = onnx_dir / "model_quantized.onnx"
if not args.no_quantize:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    t0 = time.time()
    # transformers.js's scripts/quantize.py "q8": int8 weights (uint8 only for Conv models),
    # per_channel and reduce_range off, default op types (MatMul, Gather, ...).
    quantize_dynamic(
        model_input=str(fp32_path),
        model_output=str(q8_path),
        weight_type=QuantType.QInt8,
        per_channel=False,
        reduce_range=False,
        extra_options={"EnableSubgraph": True},
    )
    print(f"{q8_path}: {q8_path.stat().st_size / 2**20:.1f} MiB, {time.time() - t0:.1f} s")
elif q8_path.exists():
    q8_path.unlink()

# --- check against torch, on shapes other than the traced one (the axes must really be dynamic) -----
checks = [
    ["query: fiebre"],
    samples[::-1] + [
        "passage: Acute myocardial infarction, unspecified",
        "passage: " + " ".join(["El paciente refiere disnea de esfuerzo progresiva y edemas en miembros inferiores."] * 12),
        "query: hipertensión arterial",
    ],
]


def pooled(h, mask):
    v = (h * mask).sum(1) / mask.sum(1)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


sessions = {p: ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for p in [fp32_path, q8_path] if p.exists()}
ok = True
for texts in checks:
    e = tok(texts, padding=True, truncation=True, max_length=512, return_tensors="pt")
    f = (e["input_ids"], e["attention_mask"], e.get("token_type_ids", torch.zeros_like(e["input_ids"])))
    mask = e["attention_mask"].numpy()[..., None].astype(np.float32)
    with torch.no_grad():
        ref = LastHidden(model)(*f).numpy()
    ref_v = pooled(ref, mask)
    for path, sess in sessions.items():
        got = sess.run(["last_hidden_state"], {n: t.numpy().astype(np.int64) for n, t in zip(names, f)})[0]
        diff = float(np.abs((got - ref) * mask).max())
        cos = (pooled(got, mask) * ref_v).sum(1)
        print(f"{path.name} on {tuple(f[0].shape)}: max |diff| vs torch {diff:.2e}, pooled cosine min {cos.min():.6f}")
        if path == fp32_path and diff > 1e-3:
            ok = False
            print(f"error: {path.name} disagrees with torch (max |diff| {diff:.2e} > 1e-3)", file=sys.stderr)
print(f"wrote {out}")
sys.exit(0 if ok else 1)
