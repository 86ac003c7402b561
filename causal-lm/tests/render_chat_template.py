#!/usr/bin/env python3
"""Renders chat templates with transformers, for tests/chat_template.rs.

Reads {"template", "bos_token", "eos_token", "conversations": [{"messages", "add_generation_prompt"}]}
as JSON on stdin; writes a JSON list with, per conversation, {"text": …} or {"error": …}.
Rendering goes through transformers' own path (`render_jinja_template`, which
`apply_chat_template(tokenize=False)` calls with the tokenizer's special tokens).
"""

import json
import sys

from transformers.utils.chat_template_utils import render_jinja_template


def main():
    job = json.load(sys.stdin)
    out = []
    for conv in job["conversations"]:
        try:
            rendered, _ = render_jinja_template(
                conversations=[conv["messages"]],
                chat_template=job["template"],
                add_generation_prompt=conv["add_generation_prompt"],
                bos_token=job["bos_token"] or "",
                eos_token=job["eos_token"] or "",
            )
            out.append({"text": rendered[0]})
        except Exception as e:  # the template raised: the Rust side must fail too
            out.append({"error": f"{type(e).__name__}: {e}"})
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
