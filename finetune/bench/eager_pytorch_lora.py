"""Reference for `quiver bench train`: the same LoRA training step in eager PyTorch, on the same model directory.

Loads a Qwen3 model directory (config.json + model.safetensors, any of F32/BF16/F16) as frozen fp32 weights,
puts rank-r LoRA (alpha = 2r, dropout 0.05, PEFT's init) on every linear layer, and runs `--steps` optimizer
steps over rows of `--seq-len` random token ids, every token after the first a target: forward, cross-entropy on
the targets, backward, clip_grad_norm_(1.0), AdamW. It mirrors dev.quiver.finetune (fp32, explicit causal mask
added to full scores unless --sdpa, LM head on target positions only) and prints one JSON line with the same
fields and the same FLOP formula as TrainBenchmark, and the fp32 matmul peak measured in the same process.

Usage: python eager_pytorch_lora.py MODEL_DIR [--rank 16] [--seq-len 512] [--steps 4] [--rows 1]
                                             [--threads 1] [--sdpa]
Needs only torch (no transformers, no peft, no safetensors).
"""
import argparse
import json
import math
import os
import struct
import time

import torch
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}
LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def load_weights(model_dir):
    path = os.path.join(model_dir, "model.safetensors")
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = bytearray(f.read())
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        t = torch.frombuffer(data[start:end], dtype=DTYPES[meta["dtype"]]).reshape(meta["shape"])
        out[name] = t.float()
    return out


def shapes(c):
    h, q, kv, i = c["hidden_size"], c["num_attention_heads"] * c["head_dim"], \
        c["num_key_value_heads"] * c["head_dim"], c["intermediate_size"]
    return {"q_proj": (h, q), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (q, h),
            "gate_proj": (h, i), "up_proj": (h, i), "down_proj": (i, h)}


class Lora:
    def __init__(self, c, rank, generator):
        self.params = {}
        for layer in range(c["num_hidden_layers"]):
            for m, (fan_in, fan_out) in shapes(c).items():
                bound = 1.0 / math.sqrt(fan_in)
                a = (torch.rand(rank, fan_in, generator=generator) * 2 - 1) * bound
                b = torch.zeros(fan_out, rank)
                self.params[(layer, m)] = (a.requires_grad_(), b.requires_grad_())
        self.scale = 2.0  # alpha / r with alpha = 2r

    def all(self):
        return [p for ab in self.params.values() for p in ab]


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


def forward_loss(c, w, lora, ids, targets, sdpa, dropout):
    rows, seq = ids.shape
    heads, kv_heads, d = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    eps = c["rms_norm_eps"]
    inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
    freqs = torch.outer(torch.arange(seq, dtype=torch.float32), inv)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    mask = torch.full((seq, seq), float("-inf")).triu(1)[None, None]

    def proj(x, layer, m):
        y = F.linear(x, w[f"model.layers.{layer}.{'mlp' if m in ('gate_proj', 'up_proj', 'down_proj') else 'self_attn'}.{m}.weight"])
        a, b = lora.params[(layer, m)]
        return y + F.linear(F.linear(F.dropout(x, dropout, True), a), b) * lora.scale

    x = F.embedding(ids, w["model.embed_tokens.weight"])
    for layer in range(c["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = proj(h, layer, "q_proj").view(rows, seq, heads, d)
        k = proj(h, layer, "k_proj").view(rows, seq, kv_heads, d)
        v = proj(h, layer, "v_proj").view(rows, seq, kv_heads, d)
        q = rms_norm(q, w[p + "self_attn.q_norm.weight"], eps).transpose(1, 2)
        k = rms_norm(k, w[p + "self_attn.k_norm.weight"], eps).transpose(1, 2)
        v = v.transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
        if sdpa:
            ctx = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            scores = q @ k.transpose(-1, -2) / math.sqrt(d) + mask
            ctx = scores.softmax(-1) @ v
        x = x + proj(ctx.transpose(1, 2).reshape(rows, seq, heads * d), layer, "o_proj")
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        x = x + proj(F.silu(proj(h, layer, "gate_proj")) * proj(h, layer, "up_proj"), layer, "down_proj")
    x = rms_norm(x, w["model.norm.weight"], eps).reshape(rows * seq, -1)
    where = targets.reshape(-1) >= 0
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    logits = F.linear(x[where], head)
    return F.cross_entropy(logits, targets.reshape(-1)[where], reduction="mean")


def matmul_peak(size=2048, runs=4):
    a, b = torch.randn(size, size), torch.randn(size, size)
    best = float("inf")
    for i in range(runs + 1):
        t = time.perf_counter()
        (a @ b)[0, 0].item()
        if i > 0:
            best = min(best, time.perf_counter() - t)
    return 2.0 * size ** 3 / best / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--rows", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sdpa", action="store_true", help="causal scaled_dot_product_attention instead of mask + matmul")
    o = ap.parse_args()
    torch.set_num_threads(o.threads)
    torch.manual_seed(7)
    c = json.load(open(os.path.join(o.model_dir, "config.json")))
    w = load_weights(o.model_dir)
    lora = Lora(c, o.rank, torch.Generator().manual_seed(7))
    opt = torch.optim.AdamW(lora.all(), lr=2e-4, weight_decay=0.0)
    bound = min(c["vocab_size"], 4096)
    data = torch.randint(0, bound, (o.steps, o.rows, o.seq_len))
    peak = matmul_peak()
    ends, losses = [], []
    began = time.perf_counter()
    for step in range(o.steps):
        ids = data[step]
        targets = torch.full_like(ids, -1)
        targets[:, :-1] = ids[:, 1:]
        loss = forward_loss(c, w, lora, ids, targets, o.sdpa, 0.05)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lora.all(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        ends.append(time.perf_counter())
    sh = shapes(c)
    layers = c["num_hidden_layers"]
    p_lin = layers * sum(i * j for i, j in sh.values())
    p_lora = layers * sum(o.rank * (i + j) for i, j in sh.values())
    tokens = o.rows * o.seq_len
    flops = (4.0 * p_lin * tokens + 6.0 * p_lora * tokens
             + 12.0 * layers * o.rows * o.seq_len ** 2 * c["num_attention_heads"] * c["head_dim"]
             + 4.0 * c["vocab_size"] * c["hidden_size"] * o.rows * (o.seq_len - 1))
    measured = max(1, o.steps - 1)
    seconds = (ends[-1] - ends[0]) if o.steps > 1 else (ends[0] - began)
    gflops = flops * measured / seconds / 1e9
    rss = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print(json.dumps({
        "benchmark": "train-eager-pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "attention": "sdpa-causal" if o.sdpa else "mask+matmul", "rank": o.rank, "seq_len": o.seq_len,
        "rows": o.rows, "steps": o.steps, "trainable_params": p_lora,
        "first_step_seconds": round(ends[0] - began, 3), "step_seconds": round(seconds / measured, 3),
        "tokens_per_second": round(tokens * measured / seconds, 1), "gflop_per_step": round(flops / 1e9, 4),
        "achieved_gflops": round(gflops, 2), "matmul_peak_gflops": round(peak, 2),
        "fraction_of_matmul_peak": round(gflops / peak, 3), "peak_rss_mb": round(rss / 1024),
        "loss_first": round(losses[0], 4), "loss_last": round(losses[-1], 4)}))


if __name__ == "__main__":
    main()
