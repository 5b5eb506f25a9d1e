"""What every model family module provides, and the pieces they share.

A conversation is `tools` (OpenAI function schemas) plus `messages`:
  {"role": "system", "content": str}
  {"role": "user", "content": str}
  {"role": "assistant", "content": str, "tool_calls": [{"name": str, "arguments": dict}]}
  {"role": "tool", "content": str}

A family's renderer returns the text and the character spans that are trained: every
assistant turn (its text and calls) plus the token that ends the turn natively. The same
function builds training rows (finetune) and prompts (generate, chat), so the model is always
asked in exactly the format it was trained on. Its Jinja chat template renders the identical
string (tests/test_families.py pins the equality for every family); it is saved with the
tokenizer and the adapter, so plain `tokenizer.apply_chat_template` reproduces it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PretrainedConfig


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


def openai_form(tool: dict) -> dict:
    """A tool in OpenAI form `{"type": "function", "function": {...}}`."""
    return tool if "function" in tool else {"type": "function", "function": tool}


@dataclass(frozen=True)
class Checkpoint:
    """What a published checkpoint ships that decides how it is used: its stand-in mirrors
    these, so the tests see what the real checkpoint would do."""

    hub_id: str
    eos_tokens: list[str]  # generation_config.json eos_token_id (what plain generate stops at)
    eos_token: str  # tokenizer_config.json eos_token
    generation: dict  # generation_config.json's other settings (sampling defaults, bos)
    ships_chat_template: bool  # tokenizer_config.json holds a chat_template


@dataclass(frozen=True)
class Architecture:
    """The model class a family's checkpoints load as, apart from their chat format."""

    name: str  # the transformers class, e.g. GlmForCausalLM
    # A config of this class: stand_in(vocab_size, pad_token_id, eos_token_ids, shape) with
    # shape the keys of toolcall.standins.SHAPE_KEYS; real() the published checkpoint's shape.
    # Both import transformers when called, so stages that never build a model (resolve,
    # prepare, score, compare) start without loading it.
    stand_in: Callable[[int, int, list[int], dict], PretrainedConfig]
    real: Callable[[], PretrainedConfig]


@dataclass(frozen=True)
class Family:
    """Everything the pipeline knows about one model family but how its answers are read: its
    chat format (renderer, assistant text, template, tokens), its architecture, and its
    checkpoints."""

    name: str
    render: Callable[..., Rendered]
    # An assistant message as the model writes it (what generation should produce). The parser
    # that reads such text back lives in toolcall/parsers/ (get_parser(name)), so generation and
    # training never depend on it: parse(assistant_text(m), tools) gives m's text and calls.
    assistant_text: Callable[[dict], str]
    chat_template: str
    special_tokens: list[str]
    stop_tokens: list[str]  # every token that ends an assistant turn in this format
    pad_token: str
    # What the real tokenizer adds itself with add_special_tokens=True (the renderers write
    # it, so the pipeline always tokenizes with add_special_tokens=False).
    tokenizer_prefix: list[str]
    architecture: Architecture
    base: Checkpoint  # the checkpoint fine-tuned
    chat: Checkpoint  # the family's official chat model (a chat reference)


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
