"""GLM-4-9B-0414: no base checkpoint is published at 9B (the 0414 series has a base only at 32B),
so the chat model THUDM/GLM-4-9B-0414 is both what is fine-tuned and the chat reference.

Format. GLM-4's turns and call syntax (toolcall/formats/glm.py: `name\\n{json}` calls joined by
`<|assistant|>`, ended by `<|observation|>`; answers `\\n{text}` ended by `<|user|>`), with the
0414 template's own system turn for the tools: `<|system|>\\n# 可用工具`, then each function as
`## name` and its JSON indented by 4, without GLM-4-9B-chat's persona, as transformers renders
the shipped template (two newlines before the first `##`, one before each later one), and
every system message right after the tools, wherever it stands in the conversation. The model
writes a call as `name\\n{json}` (vLLM issue 16771, mlx-swift-lm issue 491); the template writes
past calls as `name \\n{json}`, with a space. We train and show what the model writes, so
the parser, the training rows and the prompts agree; the parser also reads the spaced form.
Sources: the chat template of the 0414 checkpoints (as xinference ships it, where the tests
fetch it from PyPI), the GLM-4-32B-0414 model card's function-call section.

Checkpoints. eos [151329, 151336, 151338], pad 151329; the tokenizer prepends [gMASK]<sop>
with add_special_tokens=True (GLM-4's batch demo strips them for 0414 too); ships its template.

Architecture. Glm4ForCausalLM (model type glm4): GLM-4-9B's shape (40 layers, hidden 4096, 32
heads, 2 key-value heads, head_dim 128, intermediate 13696, vocab 151552, q/k/v bias, partial
rotary 0.5) plus a norm after attention and after the MLP in every layer; rms_norm_eps 1e-5.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from toolcall.families.base import Architecture, Checkpoint, Family
from toolcall.formats import glm
from toolcall.schema import function_of

if TYPE_CHECKING:
    from transformers import Glm4Config


def tools_block(tools: list[dict]) -> str:
    """The 0414 system turn listing the tools (empty when there are none)."""
    if not tools:
        return ""
    text = "<|system|>\n# 可用工具\n"
    for tool in tools:
        function = function_of(tool)
        body = json.dumps(function, indent=4, ensure_ascii=False)
        text += f"\n## {function['name']}\n\n{body}\n{glm.SUFFIX}"
    return text


TOOLS_JINJA = (
    "{%- if tools -%}"
    "{{- '<|system|>\\n# 可用工具\\n' -}}"
    "{%- for tool in tools -%}"
    "{%- set function = tool.function if tool.function is defined else tool -%}"
    "{{- '\\n## ' + function.name + '\\n\\n' + function | tojson(indent=4) -}}"
    "{{- '\\n" + glm.SUFFIX + "' -}}"
    "{%- endfor -%}"
    "{%- endif -%}"
)


def stand_in(vocab_size: int, pad: int, eos: list[int], shape: dict) -> Glm4Config:
    from transformers import Glm4Config  # noqa: PLC0415

    return Glm4Config(vocab_size=vocab_size, pad_token_id=pad, eos_token_id=eos,
                      head_dim=shape["hidden_size"] // shape["num_attention_heads"],
                      partial_rotary_factor=0.5, attention_bias=True, tie_word_embeddings=False,
                      **shape)


def real() -> Glm4Config:
    from transformers import Glm4Config  # noqa: PLC0415

    return Glm4Config(vocab_size=151552, hidden_size=4096, intermediate_size=13696, num_hidden_layers=40,
                      num_attention_heads=32, num_key_value_heads=2, head_dim=128,
                      partial_rotary_factor=0.5, attention_bias=True, rms_norm_eps=1e-5,
                      max_position_embeddings=32768, pad_token_id=151329,
                      eos_token_id=[151329, 151336, 151338], tie_word_embeddings=False)


CHECKPOINT = Checkpoint("THUDM/GLM-4-9B-0414", glm.STOP_TOKENS, "<|endoftext|>", {}, True)

FAMILY = Family(
    name="glm4_0414",
    render=glm.renderer(tools_block, system_first=True),
    assistant_text=glm.assistant_text,
    chat_template=glm.chat_template(TOOLS_JINJA, system_first=True),
    special_tokens=glm.SPECIAL_TOKENS,
    stop_tokens=glm.STOP_TOKENS,
    pad_token="<|endoftext|>",
    tokenizer_prefix=["[gMASK]", "<sop>"],
    architecture=Architecture("Glm4ForCausalLM", stand_in, real),
    base=CHECKPOINT,
    chat=CHECKPOINT,
)
