"""Native chat renderings of a tool conversation, one function per model family.

A conversation is `tools` (OpenAI function schemas) plus `messages`:
  {"role": "user", "content": str}
  {"role": "assistant", "content": str, "tool_calls": [{"name": str, "arguments": dict}]}
  {"role": "tool", "content": str}

Each renderer returns the text and the character spans that are trained: every
assistant turn (its text and calls) plus the token that ends the turn natively. The
same functions build training rows (finetune) and prompts (evaluate, chat), so the
model is always asked in exactly the format it was trained on.

Each family also has a Jinja chat template that renders the identical string (tests
pin the equality); it is saved with the tokenizer and the adapter so plain
`tokenizer.apply_chat_template` reproduces the training format.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from toolcall.parsing import ParsedTurn, parse_glm4, parse_qwen2_5
from toolcall.schema import function_of


@dataclass
class Rendered:
    """Rendered text and the [start, end) character spans that carry the loss."""

    text: str = ""
    trained: list[tuple[int, int]] = field(default_factory=list)

    def add(self, piece: str, trained: bool = False) -> None:
        if trained and piece:
            start = len(self.text)
            # Merge with the previous span when contiguous, so spans are maximal.
            if self.trained and self.trained[-1][1] == start:
                self.trained[-1] = (self.trained[-1][0], start + len(piece))
            else:
                self.trained.append((start, start + len(piece)))
        self.text += piece


def dump_arguments(arguments: dict | str) -> str:
    """Arguments as JSON (never a Python repr), non-ASCII kept as is, key order kept."""
    if isinstance(arguments, str):  # already JSON: never encode twice
        return arguments
    return json.dumps(arguments, ensure_ascii=False)


# --------------------------------------------------------------------------- GLM-4

GLM4_TOOL_PREAMBLE = (
    "你是一个名为 ChatGLM 的人工智能助手。你是基于智谱AI训练的语言模型 GLM-4 模型开发的，"
    "你的任务是针对用户的问题和要求提供适当的答复和支持。"
)
GLM4_TOOL_SUFFIX = "在调用上述函数时，请使用 Json 格式表示调用的参数。"
GLM4_STOP_TOKENS = ["<|endoftext|>", "<|user|>", "<|observation|>"]


def render_glm4_tools(tools: list[dict]) -> str:
    """The GLM-4 system prompt listing the tools (empty when there are none)."""
    if not tools:
        return ""
    text = f"<|system|>\n{GLM4_TOOL_PREAMBLE}\n\n# 可用工具"
    for tool in tools:
        function = function_of(tool)
        body = json.dumps(function, indent=4, ensure_ascii=False)
        text += f"\n\n## {function['name']}\n\n{body}\n{GLM4_TOOL_SUFFIX}"
    return text


def render_glm4_call(call: dict) -> str:
    """One native GLM-4 call: the function name on the first line, JSON arguments after."""
    return f"{call['name']}\n{dump_arguments(call['arguments'])}"


def glm4_assistant_text(message: dict) -> str:
    """An assistant message as GLM-4 writes it after `<|assistant|>`, up to the token that ends
    the turn: an answer as `\n{text}`, calls as `name\n{json}`, joined by `<|assistant|>`."""
    calls = message.get("tool_calls") or []
    parts = ["\n" + (message.get("content") or "")] if message.get("content") or not calls else []
    return "<|assistant|>".join(parts + [render_glm4_call(call) for call in calls])


def render_glm4(
    tools: list[dict], messages: list[dict], add_generation_prompt: bool = False
) -> Rendered:
    out = Rendered()
    out.add("[gMASK]<sop>" + render_glm4_tools(tools))
    previous_is_assistant = False
    for message in messages:
        role = message["role"]
        # GLM-4 ends an assistant turn with the role token of the next turn
        # (<|observation|> after a call, <|user|> after an answer): train that token.
        if role == "user":
            out.add("<|user|>", trained=previous_is_assistant)
            out.add("\n" + message["content"])
        elif role == "tool":
            out.add("<|observation|>", trained=previous_is_assistant)
            out.add("\n" + message["content"])
        elif role == "assistant":
            out.add("<|assistant|>")
            out.add(glm4_assistant_text(message), trained=True)
        elif role == "system":  # as GLM-4's own template: nothing when empty
            out.add("<|system|>\n" + message["content"] if message.get("content") else "")
        else:
            raise ValueError(f"unknown role {role!r}: expected system, user, assistant or tool")
        previous_is_assistant = role == "assistant"
    if add_generation_prompt:
        out.add("<|assistant|>")
    elif previous_is_assistant:
        out.add("<|endoftext|>", trained=True)
    return out


GLM4_CHAT_TEMPLATE = (
    "[gMASK]<sop>"
    "{%- if tools -%}"
    "{{- '<|system|>\\n" + GLM4_TOOL_PREAMBLE + "\\n\\n# 可用工具' -}}"
    "{%- for tool in tools -%}"
    "{%- set function = tool.function if tool.function is defined else tool -%}"
    "{{- '\\n\\n## ' + function.name + '\\n\\n' + function | tojson(indent=4) -}}"
    "{{- '\\n" + GLM4_TOOL_SUFFIX + "' -}}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{%- for message in messages -%}"
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


# --------------------------------------------------------------------------- Qwen2.5

QWEN_DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
QWEN_TOOLS_HEADER = (
    "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
QWEN_TOOLS_FOOTER = (
    "\n</tools>\n\nFor each function call, return a json object with function name and "
    "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)
QWEN_STOP_TOKENS = ["<|im_end|>", "<|endoftext|>"]


def openai_form(tool: dict) -> dict:
    """A tool in OpenAI form `{"type": "function", "function": {...}}`."""
    return tool if "function" in tool else {"type": "function", "function": tool}


def render_qwen_call(call: dict) -> str:
    """One Hermes-style call block, as Qwen2.5's own template writes it."""
    arguments = dump_arguments(call["arguments"])
    return f'<tool_call>\n{{"name": "{call["name"]}", "arguments": {arguments}}}\n</tool_call>'


def qwen2_5_assistant_text(message: dict) -> str:
    """An assistant message as Qwen2.5 writes it after `<|im_start|>assistant\n`, up to
    `<|im_end|>`: its text, then one `<tool_call>` block per call, joined by newlines."""
    parts = [message["content"]] if message.get("content") else []
    return "\n".join(parts + [render_qwen_call(c) for c in message.get("tool_calls") or []])


def render_qwen2_5(
    tools: list[dict], messages: list[dict], add_generation_prompt: bool = False
) -> Rendered:
    out = Rendered()
    # A first system message replaces Qwen's default one; the tools follow it in the same turn.
    opening = messages[0]["content"] if messages and messages[0]["role"] == "system" else None
    system = "<|im_start|>system\n" + (QWEN_DEFAULT_SYSTEM if opening is None else opening)
    if tools:
        listed = "".join("\n" + json.dumps(openai_form(t), ensure_ascii=False) for t in tools)
        system += QWEN_TOOLS_HEADER + listed + QWEN_TOOLS_FOOTER
    out.add(system + "<|im_end|>\n")
    for i, message in enumerate(messages):
        role = message["role"]
        if role in ("user", "system"):
            if not (i == 0 and opening is not None):
                out.add(f"<|im_start|>{role}\n{message['content']}<|im_end|>\n")
        elif role == "tool":
            # Consecutive tool results share one user turn, as in Qwen's template.
            if i == 0 or messages[i - 1]["role"] != "tool":
                out.add("<|im_start|>user")
            out.add(f"\n<tool_response>\n{message['content']}\n</tool_response>")
            if i == len(messages) - 1 or messages[i + 1]["role"] != "tool":
                out.add("<|im_end|>\n")
        elif role == "assistant":
            out.add("<|im_start|>assistant\n")
            out.add(qwen2_5_assistant_text(message) + "<|im_end|>", trained=True)
            out.add("\n")
        else:
            raise ValueError(f"unknown role {role!r}: expected system, user, assistant or tool")
    if add_generation_prompt:
        out.add("<|im_start|>assistant\n")
    return out


QWEN2_5_CHAT_TEMPLATE = (
    "{%- set opening = messages[0].role == 'system' if messages else false -%}"
    "{{- '<|im_start|>system\\n' -}}"
    "{{- messages[0].content if opening else '" + QWEN_DEFAULT_SYSTEM + "' -}}"
    "{%- if tools -%}"
    "{{- " + json.dumps(QWEN_TOOLS_HEADER) + " -}}"
    "{%- for tool in tools -%}"
    "{%- if tool.function is defined -%}{{- '\\n' + tool | tojson -}}"
    "{%- else -%}{{- '\\n{\"type\": \"function\", \"function\": ' + tool | tojson + '}' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{{- " + json.dumps(QWEN_TOOLS_FOOTER) + " -}}"
    "{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- for message in messages -%}"
    "{%- if message.role == 'user' or (message.role == 'system' and not (loop.first and opening)) -%}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}"
    "{%- elif message.role == 'assistant' -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- set ns = namespace(first=true) -%}"
    "{%- if message.content -%}{{- message.content -}}{%- set ns.first = false -%}{%- endif -%}"
    "{%- for call in message.tool_calls or [] -%}"
    "{%- set call = call.function if call.function is defined else call -%}"
    "{%- if not ns.first -%}{{- '\\n' -}}{%- endif -%}{%- set ns.first = false -%}"
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
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)


@dataclass(frozen=True)
class Checkpoint:
    """What a published checkpoint ships that decides how it is used: its stand-in mirrors
    these, so the tests see what the real checkpoints would do."""

    hub_id: str
    eos_tokens: list[str]  # generation_config.json eos_token_id (what plain generate stops at)
    eos_token: str  # tokenizer_config.json eos_token
    generation: dict  # generation_config.json's other settings (sampling defaults, bos)
    ships_chat_template: bool  # tokenizer_config.json holds a chat_template


@dataclass(frozen=True)
class Family:
    """What the pipeline needs to know about one model family's native format."""

    name: str
    render: Callable[..., Rendered]
    # An assistant message as the model writes it (what generation should produce), and the
    # parser that reads such text back: parse(assistant_text(m), tools) gives m's text and calls.
    assistant_text: Callable[[dict], str]
    parse: Callable[[str, list[dict]], ParsedTurn]
    chat_template: str
    special_tokens: list[str]
    stop_tokens: list[str]  # every token that ends an assistant turn in this format
    pad_token: str
    # What the real tokenizer adds itself with add_special_tokens=True (the renderers write
    # it, so the pipeline always tokenizes with add_special_tokens=False).
    tokenizer_prefix: list[str]
    base: Checkpoint  # the checkpoint fine-tuned (params models.<m>.hub_id's family default)
    chat: Checkpoint  # the family's official chat model (a chat reference)


FAMILIES: dict[str, Family] = {
    "glm4": Family(
        name="glm4",
        render=render_glm4,
        assistant_text=glm4_assistant_text,
        parse=parse_glm4,
        chat_template=GLM4_CHAT_TEMPLATE,
        special_tokens=["<|endoftext|>", "[gMASK]", "<sop>", "<|system|>", "<|user|>",
                        "<|assistant|>", "<|observation|>"],
        stop_tokens=GLM4_STOP_TOKENS,
        pad_token="<|endoftext|>",
        # The -hf tokenizer's post-processor (transformers' convert_glm_weights_to_hf.py);
        # GLM-4's own batch demo strips the 12 characters before tokenizing for this reason.
        tokenizer_prefix=["[gMASK]", "<sop>"],
        # generation_config.json of glm-4-9b-hf and glm-4-9b-chat-hf: eos [151329, 151336,
        # 151338], pad 151329, nothing else; the base ships no chat template.
        base=Checkpoint("THUDM/glm-4-9b-hf", GLM4_STOP_TOKENS, "<|endoftext|>", {}, False),
        chat=Checkpoint("THUDM/glm-4-9b-chat-hf", GLM4_STOP_TOKENS, "<|endoftext|>", {}, True),
    ),
    "qwen2.5": Family(
        name="qwen2.5",
        render=render_qwen2_5,
        assistant_text=qwen2_5_assistant_text,
        parse=parse_qwen2_5,
        chat_template=QWEN2_5_CHAT_TEMPLATE,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>",
                        "</tool_call>"],
        stop_tokens=QWEN_STOP_TOKENS,
        pad_token="<|endoftext|>",
        tokenizer_prefix=[],
        # Qwen2.5-7B: eos 151643 (<|endoftext|>) only, so a tuned base exported with it never
        # stops at <|im_end|>. Qwen2.5-7B-Instruct: eos [151645, 151643] and sampling defaults
        # (its generation_config.json), eos_token <|im_end|> (its tokenizer_config.json).
        base=Checkpoint("Qwen/Qwen2.5-7B", ["<|endoftext|>"], "<|endoftext|>",
                        {"bos_token": "<|endoftext|>", "do_sample": False, "max_new_tokens": 2048},
                        True),
        chat=Checkpoint("Qwen/Qwen2.5-7B-Instruct", ["<|im_end|>", "<|endoftext|>"], "<|im_end|>",
                        {"bos_token": "<|endoftext|>", "do_sample": True, "repetition_penalty": 1.05,
                         "temperature": 0.7, "top_p": 0.8, "top_k": 20}, True),
    ),
}


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r}: expected one of {sorted(FAMILIES)}")
    return FAMILIES[name]


PROBE_TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "查询天气",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}]
PROBE_MESSAGES = [
    {"role": "user", "content": "北京天气？"},
    {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "北京"}}}]},
    {"role": "tool", "content": '{"temp": 3}'},
    {"role": "assistant", "content": "北京3度。"},
]


def template_is_equivalent(chat_template: str | None, family: Family) -> bool:
    """Does a checkpoint's own chat template render a tool conversation exactly as we train?"""
    if not chat_template:
        return False
    from transformers.utils.chat_template_utils import render_jinja_template  # noqa: PLC0415

    plain = [{**m, "tool_calls": [c["function"] for c in m["tool_calls"]]}
             if m.get("tool_calls") else m for m in PROBE_MESSAGES]
    expected = family.render(PROBE_TOOLS, plain[:3], add_generation_prompt=True).text
    try:
        rendered, _ = render_jinja_template(conversations=[PROBE_MESSAGES[:3]], tools=PROBE_TOOLS,
                                            chat_template=chat_template, add_generation_prompt=True)
    except Exception:  # a template that cannot render tools at all
        return False
    return rendered[0] == expected
