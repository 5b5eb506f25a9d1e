"""GLM-4-9B: fine-tune THUDM/glm-4-9b-hf; THUDM/glm-4-9b-chat-hf is the chat reference.

Format. `[gMASK]<sop>`, then the tools as a `<|system|>` turn (ChatGLM's persona, `# 可用工具`,
each function as `## name` and its JSON indented by 4, and an instruction to write JSON
arguments); `<|user|>\\n...`, `<|observation|>\\n...` (tool results), `<|system|>\\n...`. An
assistant turn after `<|assistant|>` is an answer `\\n{text}` or a call `name\\n{json}`; more
calls follow after `<|assistant|>`. A turn ends with the role token of the next turn:
`<|observation|>` after a call, `<|user|>` after an answer, `<|endoftext|>` at the end.
Sources: glm-4-9b-chat's chat template (quoted in the GLM-4 handler of BFCL's `bfcl-eval`
wheel, where tests/test_real_artifacts.py fetches it); GLM-4's API server (the first line is a
function name when it names an offered tool); the stop ids [151329, 151336, 151338] of the
official demos. The template's system turn is written with both newlines before each `##`
(the tokenizer's own Python code and BFCL's handler write them; transformers' trim_blocks
would drop one).

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
from collections.abc import Callable
from typing import TYPE_CHECKING

from toolcall.families.base import Architecture, Checkpoint, Family, Rendered, dump_arguments
from toolcall.schema import function_of

if TYPE_CHECKING:
    from transformers import GlmConfig

PREAMBLE = ("你是一个名为 ChatGLM 的人工智能助手。你是基于智谱AI训练的语言模型 GLM-4 模型开发的，"
            "你的任务是针对用户的问题和要求提供适当的答复和支持。")
SUFFIX = "在调用上述函数时，请使用 Json 格式表示调用的参数。"
STOP_TOKENS = ["<|endoftext|>", "<|user|>", "<|observation|>"]
SPECIAL_TOKENS = ["<|endoftext|>", "[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>",
                  "<|observation|>"]


def tools_block(tools: list[dict]) -> str:
    """The GLM-4 system turn listing the tools (empty when there are none)."""
    if not tools:
        return ""
    text = f"<|system|>\n{PREAMBLE}\n\n# 可用工具"
    for tool in tools:
        function = function_of(tool)
        body = json.dumps(function, indent=4, ensure_ascii=False)
        text += f"\n\n## {function['name']}\n\n{body}\n{SUFFIX}"
    return text


def render_call(call: dict) -> str:
    """One native GLM call: the function name on the first line, JSON arguments after."""
    return f"{call['name']}\n{dump_arguments(call['arguments'])}"


def assistant_text(message: dict) -> str:
    """An assistant message as GLM-4 writes it after `<|assistant|>`, up to the token that ends
    the turn: an answer as `\\n{text}`, calls as `name\\n{json}`, joined by `<|assistant|>`."""
    calls = message.get("tool_calls") or []
    parts = ["\n" + (message.get("content") or "")] if message.get("content") or not calls else []
    return "<|assistant|>".join(parts + [render_call(call) for call in calls])


def renderer(tools_block: Callable[[list[dict]], str],
             system_first: bool = False) -> Callable[..., Rendered]:
    """The GLM turn format with a given system turn for the tools (GLM-4-0414 words it anew).
    system_first: every system message right after the tools, wherever it stands (0414)."""

    def render(tools: list[dict], messages: list[dict], add_generation_prompt: bool = False) -> Rendered:
        out = Rendered()
        out.add("[gMASK]<sop>" + tools_block(tools))
        if system_first:
            out.add("".join("<|system|>\n" + m["content"] for m in messages
                            if m["role"] == "system" and m.get("content")))
            messages = [m for m in messages if m["role"] != "system"]
        previous_is_assistant = False
        for message in messages:
            role = message["role"]
            # A GLM assistant turn ends with the role token of the next turn
            # (<|observation|> after a call, <|user|> after an answer): train that token.
            if role == "user":
                out.add("<|user|>", trained=previous_is_assistant)
                out.add("\n" + message["content"])
            elif role == "tool":
                out.add("<|observation|>", trained=previous_is_assistant)
                out.add("\n" + message["content"])
            elif role == "assistant":
                out.add("<|assistant|>")
                out.add(assistant_text(message), trained=True)
            elif role == "system":  # as GLM's own templates: nothing when empty
                out.add("<|system|>\n" + message["content"] if message.get("content") else "")
            else:
                raise ValueError(f"unknown role {role!r}: expected system, user, assistant or tool")
            previous_is_assistant = role == "assistant"
        if add_generation_prompt:
            out.add("<|assistant|>")
        elif previous_is_assistant:
            out.add("<|endoftext|>", trained=True)
        return out

    return render


def chat_template(tools_jinja: str, system_first: bool = False) -> str:
    """The Jinja template of `renderer`, given the Jinja of its tools turn."""
    hoisted = ("{%- for message in messages if message.role == 'system' and message.content -%}"
               "{{- '<|system|>\n' + message.content -}}{%- endfor -%}")
    return (
        "[gMASK]<sop>" + tools_jinja + (hoisted if system_first else "") +
        "{%- for message in messages" + (" if message.role != 'system'" if system_first else "") +
        " -%}"
        "{%- if message.role == 'user' -%}{{- '<|user|>\\n' + message.content -}}"
        "{%- elif message.role == 'tool' -%}{{- '<|observation|>\\n' + message.content -}}"
        "{%- elif message.role == 'system' -%}{%- if message.content -%}"
        "{{- '<|system|>\\n' + message.content -}}{%- endif -%}"
        "{%- elif message.role == 'assistant' -%}"
        "{%- set calls = message.tool_calls or [] -%}"
        "{%- if message.content or not calls -%}"
        "{{- '<|assistant|>\\n' + (message.content or '') -}}"
        "{%- endif -%}"
        "{%- for call in calls -%}"
        "{%- set call = call.function if call.function is defined else call -%}"
        "{{- '<|assistant|>' + call.name + '\\n' -}}"
        "{{- call.arguments if call.arguments is string else call.arguments | tojson -}}"
        "{%- endfor -%}"
        "{%- endif -%}"
        "{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{- '<|assistant|>' -}}"
        "{%- elif messages and messages[-1].role == 'assistant' -%}{{- '<|endoftext|>' -}}"
        "{%- endif -%}"
    )


TOOLS_JINJA = (
    "{%- if tools -%}"
    "{{- '<|system|>\\n" + PREAMBLE + "\\n\\n# 可用工具' -}}"
    "{%- for tool in tools -%}"
    "{%- set function = tool.function if tool.function is defined else tool -%}"
    "{{- '\\n\\n## ' + function.name + '\\n\\n' + function | tojson(indent=4) -}}"
    "{{- '\\n" + SUFFIX + "' -}}"
    "{%- endfor -%}"
    "{%- endif -%}"
)

# ----------------------------------------------------------------------------- the family


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
    render=renderer(tools_block),
    assistant_text=assistant_text,
    chat_template=chat_template(TOOLS_JINJA),
    special_tokens=SPECIAL_TOKENS,
    stop_tokens=STOP_TOKENS,
    pad_token="<|endoftext|>",
    tokenizer_prefix=["[gMASK]", "<sop>"],
    architecture=Architecture("GlmForCausalLM", stand_in, real),
    base=Checkpoint("THUDM/glm-4-9b-hf", STOP_TOKENS, "<|endoftext|>", {}, False),
    chat=Checkpoint("THUDM/glm-4-9b-chat-hf", STOP_TOKENS, "<|endoftext|>", {}, True),
)
