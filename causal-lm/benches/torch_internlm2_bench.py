#!/usr/bin/env python3
"""PyTorch side of `prover bench model`: the same measurements on the same weights.

Loads an InternLM2 checkpoint directory (config.json + model.safetensors, f32) into transformers'
LlamaForCausalLM (wqkv split by the published grouped layout) and prints one JSON line:
prefill and decode tokens/s with greedy decoding and a KV cache, like the Rust side.
"""

import argparse
import json
import os
import statistics
import time

import torch
from safetensors.torch import load_file
from transformers import LlamaConfig, LlamaForCausalLM


def load(model_dir):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    w = load_file(os.path.join(model_dir, "model.safetensors"))
    hidden, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads") or heads
    hd, groups = hidden // heads, heads // kv
    lc = LlamaConfig(
        vocab_size=cfg["vocab_size"], hidden_size=hidden, intermediate_size=cfg["intermediate_size"],
        num_hidden_layers=cfg["num_hidden_layers"], num_attention_heads=heads, num_key_value_heads=kv,
        max_position_embeddings=cfg["max_position_embeddings"], rms_norm_eps=cfg["rms_norm_eps"],
        rope_parameters={"rope_type": "default", "rope_theta": float(cfg["rope_theta"])},
        attention_bias=False, tie_word_embeddings=False,
    )
    lc._attn_implementation = "sdpa"
    sd = {
        "model.embed_tokens.weight": w["model.tok_embeddings.weight"],
        "model.norm.weight": w["model.norm.weight"],
        "lm_head.weight": w["output.weight"],
    }
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}"
        qkv = w[f"{p}.attention.wqkv.weight"].view(kv, groups + 2, hd, hidden)
        sd[f"{p}.self_attn.q_proj.weight"] = qkv[:, :groups].reshape(-1, hidden)
        sd[f"{p}.self_attn.k_proj.weight"] = qkv[:, groups].reshape(-1, hidden)
        sd[f"{p}.self_attn.v_proj.weight"] = qkv[:, groups + 1].reshape(-1, hidden)
        sd[f"{p}.self_attn.o_proj.weight"] = w[f"{p}.attention.wo.weight"]
        sd[f"{p}.mlp.gate_proj.weight"] = w[f"{p}.feed_forward.w1.weight"]
        sd[f"{p}.mlp.up_proj.weight"] = w[f"{p}.feed_forward.w3.weight"]
        sd[f"{p}.mlp.down_proj.weight"] = w[f"{p}.feed_forward.w2.weight"]
        sd[f"{p}.input_layernorm.weight"] = w[f"{p}.attention_norm.weight"]
        sd[f"{p}.post_attention_layernorm.weight"] = w[f"{p}.ffn_norm.weight"]
    m = LlamaForCausalLM(lc).eval()
    m.load_state_dict(sd, strict=False)
    return m, cfg


def tokens(n, vocab, salt):
    return [(i * 7919 + salt * 104729 + 3) % vocab for i in range(n)]


@torch.inference_mode()
def prefill_and_decode(m, prompt, rows, steps):
    t = time.perf_counter()
    out = m(torch.tensor([prompt]), use_cache=True, logits_to_keep=1)
    nxt = out.logits[:, -1].log_softmax(-1).argmax(-1)
    prefill = time.perf_counter() - t
    past = out.past_key_values
    if rows > 1:
        past.batch_repeat_interleave(rows)
        nxt = nxt.repeat(rows)
    t = time.perf_counter()
    for _ in range(steps):
        out = m(nxt[:, None], past_key_values=past, use_cache=True)
        past = out.past_key_values
        nxt = out.logits[:, -1].log_softmax(-1).argmax(-1)
    return prefill, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--prompt-tokens", type=int, default=256)
    ap.add_argument("--decode-tokens", type=int, default=32)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    m, cfg = load(a.model)
    prompt = tokens(a.prompt_tokens, cfg["vocab_size"], 0)
    prefill_and_decode(m, prompt, 1, 2)
    pre, dec, decb = [], [], []
    for _ in range(max(1, a.repeats)):
        p, d = prefill_and_decode(m, prompt, 1, a.decode_tokens)
        pre.append(a.prompt_tokens / p)
        dec.append(a.decode_tokens / d)
        _, d = prefill_and_decode(m, prompt, a.batch, a.decode_tokens)
        decb.append(a.decode_tokens * a.batch / d)
    print(json.dumps({
        "prefill_tok_s": statistics.median(pre),
        "decode_tok_s": statistics.median(dec),
        "decode_batch_tok_s": statistics.median(decb),
        "threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
    }))


if __name__ == "__main__":
    main()
