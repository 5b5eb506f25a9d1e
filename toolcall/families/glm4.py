"""GLM-4-9B: fine-tune THUDM/glm-4-9b-hf; THUDM/glm-4-9b-chat-hf is the chat reference.

Format: GLM-4's (toolcall/formats/glm.py), with the tools as a `<|system|>` turn: ChatGLM's
persona, `# 可用工具`, each function as `## name` and its JSON indented by 4, and an instruction to
write JSON arguments. The system turn is written with both newlines before each `##` (the
tokenizer's own Python code and BFCL's handler write them; transformers' trim_blocks would drop
one).

Checkpoints. glm-4-9b-hf and glm-4-9b-chat-hf: generation_config.json eos [151329, 151336,
151338] and pad 151329, nothing else; the base ships no chat template; the -hf tokenizer
prepends `[gMASK]<sop>` with add_special_tokens=True (transformers' convert_glm_weights_to_hf.py
post-processor; GLM-4's batch demo strips the 12 characters before tokenizing for this).

Architecture. GlmForCausalLM: 40 layers, hidden 4096, 32 heads, 2 key-value heads, head_dim
128, intermediate 13696 (fused gate_up_proj), vocab 151552, q/k/v bias, partial rotary 0.5,
rms_norm_eps 1.5625e-07, untied embeddings (config.json of glm-4-9b-hf / -chat-hf).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from toolcall.families.base import Architecture, Checkpoint, Family
from toolcall.formats import glm
from toolcall.schema import function_of

if TYPE_CHECKING:
    from transformers import GlmConfig

PREAMBLE = ("你是一个名为 ChatGLM 的人工智能助手。你是基于智谱AI训练的语言模型 GLM-4 模型开发的，"
            "你的任务是针对用户的问题和要求提供适当的答复和支持。")


def tools_block(tools: list[dict]) -> str:
    """The GLM-4 system turn listing the tools (empty when there are none)."""
    if not tools:
        return ""
    text = f"<|system|>\n{PREAMBLE}\n\n# 可用工具"
    for tool in tools:
        function = function_of(tool)
        body = json.dumps(function, indent=4, ensure_ascii=False)
        text += f"\n\n## {function['name']}\n\n{body}\n{glm.SUFFIX}"
    return text


TOOLS_JINJA = (
    "{%- if tools -%}"
    "{{- '<|system|>\\n" + PREAMBLE + "\\n\\n# 可用工具' -}}"
    "{%- for tool in tools -%}"
    "{%- set function = tool.function if tool.function is defined else tool -%}"
    "{{- '\\n\\n## ' + function.name + '\\n\\n' + function | tojson(indent=4) -}}"
    "{{- '\\n" + glm.SUFFIX + "' -}}"
    "{%- endfor -%}"
    "{%- endif -%}"
)


def stand_in(vocab_size: int, pad: int, eos: list[int], shape: dict) -> GlmConfig:
    from transformers import GlmConfig  # noqa: PLC0415

    return GlmConfig(vocab_size=vocab_size, pad_token_id=pad, eos_token_id=eos,
                     head_dim=shape["hidden_size"] // shape["num_attention_heads"],
                     tie_word_embeddings=False, **shape)


def real() -> GlmConfig:
    from transformers import GlmConfig  # noqa: PLC0415

    return GlmConfig(vocab_size=151552, hidden_size=4096, intermediate_size=13696, num_hidden_layers=40,
                     num_attention_heads=32, num_key_value_heads=2, head_dim=128,
                     partial_rotary_factor=0.5, attention_bias=True, rms_norm_eps=1.5625e-07,
                     max_position_embeddings=131072, pad_token_id=151329,
                     eos_token_id=[151329, 151336, 151338], tie_word_embeddings=False)


FAMILY = Family(
    name="glm4",
    render=glm.renderer(tools_block),
    assistant_text=glm.assistant_text,
    chat_template=glm.chat_template(TOOLS_JINJA),
    special_tokens=glm.SPECIAL_TOKENS,
    stop_tokens=glm.STOP_TOKENS,
    pad_token="<|endoftext|>",
    tokenizer_prefix=["[gMASK]", "<sop>"],
    architecture=Architecture("GlmForCausalLM", stand_in, real),
    base=Checkpoint("THUDM/glm-4-9b-hf", glm.STOP_TOKENS, "<|endoftext|>", {}, False),
    chat=Checkpoint("THUDM/glm-4-9b-chat-hf", glm.STOP_TOKENS, "<|endoftext|>", {}, True),
)
