"""Qwen2.5-7B: fine-tune Qwen/Qwen2.5-7B; Qwen/Qwen2.5-7B-Instruct is the chat reference.

Format: ChatML with Hermes-style tools (toolcall/formats/chatml.py), with the default system
prompt "You are Qwen, created by Alibaba Cloud. You are a helpful assistant." when a
conversation has no system message of its own.

Checkpoints. Qwen2.5-7B: generation_config.json eos 151643 (<|endoftext|>) only, so a tuned
base exported with it never stops at <|im_end|>; Qwen2.5-7B-Instruct: eos [151645, 151643],
do_sample, repetition_penalty 1.05, temperature 0.7, top_p 0.8, top_k 20; its
tokenizer_config.json eos_token <|im_end|>; both ship the chat template; the tokenizer
prepends nothing.

Architecture. Qwen2ForCausalLM: 28 layers, hidden 3584, 28 heads, 4 key-value heads,
intermediate 18944, vocab 152064, rope_theta 1e6, q/k/v bias, untied embeddings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from toolcall.families.base import Architecture, Checkpoint, Family
from toolcall.formats import chatml

if TYPE_CHECKING:
    from transformers import Qwen2Config

DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."


def stand_in(vocab_size: int, pad: int, eos: list[int], shape: dict) -> Qwen2Config:
    from transformers import Qwen2Config  # noqa: PLC0415

    return Qwen2Config(vocab_size=vocab_size, pad_token_id=pad, eos_token_id=eos,
                       tie_word_embeddings=False, **shape)


def real() -> Qwen2Config:
    from transformers import Qwen2Config  # noqa: PLC0415

    return Qwen2Config(vocab_size=152064, hidden_size=3584, intermediate_size=18944,
                       num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4,
                       rope_theta=1e6, rms_norm_eps=1e-6, max_position_embeddings=131072,
                       pad_token_id=151643, eos_token_id=[151643, 151645], tie_word_embeddings=False)


FAMILY = Family(
    name="qwen2_5",
    render=chatml.renderer(DEFAULT_SYSTEM, think=False),
    assistant_text=chatml.assistant_text,
    chat_template=chatml.chat_template(DEFAULT_SYSTEM, think=False),
    special_tokens=chatml.SPECIAL_TOKENS,
    stop_tokens=chatml.STOP_TOKENS,
    pad_token="<|endoftext|>",
    tokenizer_prefix=[],
    architecture=Architecture("Qwen2ForCausalLM", stand_in, real),
    base=Checkpoint("Qwen/Qwen2.5-7B", ["<|endoftext|>"], "<|endoftext|>",
                    {"bos_token": "<|endoftext|>", "do_sample": False, "max_new_tokens": 2048}, True),
    chat=Checkpoint("Qwen/Qwen2.5-7B-Instruct", ["<|im_end|>", "<|endoftext|>"], "<|im_end|>",
                    {"bos_token": "<|endoftext|>", "do_sample": True, "repetition_penalty": 1.05,
                     "temperature": 0.7, "top_p": 0.8, "top_k": 20}, True),
)
