"""Turn-by-turn evaluation: expand conversations into samples, generate, cut at stops.

Every assistant turn of a test conversation is one sample: its prompt is the tools and
the gold history before it, rendered by the family's training renderer and ending in
the assistant prefix.
"""

from __future__ import annotations

import torch
from tqdm import tqdm

from toolcall.glaive import decode_conversation
from toolcall.metrics import stratum_of
from toolcall.templates import Family


def build_samples(conversations: list[dict], family: Family) -> list[dict]:
    samples = []
    for conversation in conversations:
        tools, messages = decode_conversation(conversation)
        for k, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            previous_role = messages[k - 1]["role"] if k else None
            samples.append({
                "conversation_id": conversation["id"],
                "turn_index": k,
                "stratum": stratum_of(message, previous_role, bool(tools)),
                "tools": tools,
                "gold": message,
                "prompt": family.render(tools, messages[:k], add_generation_prompt=True).text,
            })
    return samples


def cut_at_stop(token_ids: list[int], stop_ids: set[int]) -> tuple[list[int], bool]:
    """Tokens before the first stop token, and whether a stop token was produced."""
    for i, token_id in enumerate(token_ids):
        if token_id in stop_ids:
            return token_ids[:i], True
    return token_ids, False


@torch.inference_mode()
def generate_greedy(
    model, tokenizer, prompts: list[str], stop_ids: list[int], max_new_tokens: int,
    batch_size: int, desc: str = "generate",
) -> list[dict]:
    """Greedy continuations of `prompts` (same order): text, token count, stopped.

    Batches are sorted by prompt length and left-padded, with an attention mask (without
    one, `generate` treats pad ids in the input as real tokens and is far slower).
    """
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    results: list[dict | None] = [None] * len(prompts)
    device = model.device
    stop_set = set(stop_ids)
    with tqdm(total=len(prompts), desc=desc, unit="turn") as progress:
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            width = max(len(encoded[i]) for i in batch)
            pad = tokenizer.pad_token_id
            input_ids = torch.tensor(
                [[pad] * (width - len(encoded[i])) + encoded[i] for i in batch], device=device)
            attention_mask = torch.tensor(
                [[0] * (width - len(encoded[i])) + [1] * len(encoded[i]) for i in batch],
                device=device)
            output = model.generate(
                input_ids=input_ids, attention_mask=attention_mask, do_sample=False,
                max_new_tokens=max_new_tokens, eos_token_id=stop_ids, pad_token_id=pad,
            )
            for row, i in enumerate(batch):
                new_tokens, stopped = cut_at_stop(output[row, width:].tolist(), stop_set)
                results[i] = {
                    "text": tokenizer.decode(new_tokens, skip_special_tokens=False),
                    "new_tokens": len(new_tokens),
                    "stopped": stopped,
                }
            progress.update(len(batch))
    return results
