"""GLM-4's chat format, shared by GLM-4-9B and GLM-4-9B-0414 (toolcall/families/glm4.py and
glm4_0414.py each write their own system turn for the tools).

`[gMASK]<sop>`, then the tools' system turn; `<|user|>\\n...`, `<|observation|>\\n...` (tool
results), `<|system|>\\n...`. An assistant turn after `<|assistant|>` is an answer `\\n{text}` or
a call `name\\n{json}`; more calls follow after `<|assistant|>`. A turn ends with the role token
of the next turn: `<|observation|>` after a call, `<|user|>` after an answer, `<|endoftext|>` at
the end. Sources: glm-4-9b-chat's chat template (quoted in the GLM-4 handler of BFCL's
`bfcl-eval` wheel, where tests/test_real_artifacts.py fetches it); GLM-4's API server (the first
line is a function name when it names an offered tool); the stop ids [151329, 151336, 151338]
of the official demos.

A format lives apart from the families that use it so that an edit to one family's file
(toolcall/families/<name>.py) reruns only that family's models (dvc.yaml).
"""

from __future__ import annotations

from collections.abc import Callable

from toolcall.families.base import Rendered, dump_arguments

# The instruction both GLM-4 system turns end each tool with.
SUFFIX = "在调用上述函数时，请使用 Json 格式表示调用的参数。"
STOP_TOKENS = ["<|endoftext|>", "<|user|>", "<|observation|>"]
SPECIAL_TOKENS = ["<|endoftext|>", "[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>",
                  "<|observation|>"]


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
