"""Talk to a tuned model with tools: the Python API under `python -m stages.chat`.

    from toolcall.chat import load_tool_model, load_tools, chat
    tm = load_tool_model("glm4-9b")                      # base + adapter of the pipeline
    tools = load_tools("tools.json")                     # OpenAI schemas or glaive's bare form
    messages = [{"role": "user", "content": "北京天气？"}]
    reply = chat(tm, tools, messages)                    # {"role": "assistant", "content", "tool_calls"}

Prompts are rendered by the family's training renderer and replies parsed by the
family's evaluation parser, so the model sees exactly the training format.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers.generation.streamers import BaseStreamer

from toolcall.checkpoints import describe_weights
from toolcall.evaluation import cut_at_stop, greedy_config, load_causal_lm, output_record, use_greedy
from toolcall.families import Family, get_family
from toolcall.glaive import RowRejected, parse_tools
from toolcall.io import PipelineError
from toolcall.layout import adapter_dir, weights_dir
from toolcall.parsers import get_parser
from toolcall.parsing import CALLS, FABRICATED, MALFORMED
from toolcall.schema import call_violations


@dataclass
class ToolModel:
    model: object
    tokenizer: object
    family: Family
    weights: str = "a checkpoint"  # what was loaded, in words (a stand-in says so)


def load_tool_model(key: str | None = None, *, base: str | Path | None = None,
                    adapter: str | Path | None = None, family: str | None = None,
                    params_path: str | Path = "params.yaml") -> ToolModel:
    """A pipeline model by its params key (models/<key>/base + models/<key>/adapter), or
    any checkpoint given as `base` (+ optional `adapter`) and `family`."""
    from transformers import AutoTokenizer  # noqa: PLC0415

    if key is not None:
        from toolcall.params import load_params  # noqa: PLC0415

        family = load_params(params_path).model(key).family
        base, adapter = weights_dir(key), adapter_dir(key)
    if base is None or family is None:
        raise PipelineError("load_tool_model: give a model key, or base= and family=")
    try:
        tool_family = get_family(family)  # before the weights: a typo costs no loading time
    except ValueError as e:
        raise PipelineError(f"--family: {e}") from None
    for path in (base, adapter):
        if path is not None and not Path(path).exists():
            raise PipelineError(f"{path} does not exist: run `dvc repro` first (or pass the "
                                "right path)")
    model = load_causal_lm(base, adapter, "cuda" if torch.cuda.is_available() else None)
    # The tokenizer (with the chat template) saved next to the adapter is the training one.
    tokenizer = AutoTokenizer.from_pretrained(adapter or base)
    return ToolModel(model, tokenizer, tool_family, describe_loaded(Path(base), adapter))


def describe_loaded(base: Path, adapter: str | Path | None) -> str:
    """The weights in words: fetch-weights' manifest next to a pipeline folder says what they
    are (a stand-in, a hub commit, ...); any other folder is named by its path."""
    manifest = base.with_name(f"{base.name}.manifest.json")
    weights = describe_weights(json.loads(manifest.read_text())) if manifest.exists() else str(base)
    return weights + (f" + adapter {adapter}" if adapter else "")


def load_tools(path: str | Path) -> list[dict]:
    """A JSON list of tools, in OpenAI form or glaive's bare form, as OpenAI-form tools."""
    expected = 'expected a JSON list of {"name", "description", "parameters"} objects'
    try:
        tools, _ = parse_tools(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"tools file {path} not found") from None
    except UnicodeDecodeError as e:
        raise PipelineError(f"tools file {path} is not UTF-8 text (byte offset {e.start}); "
                            "save it as UTF-8") from None
    except RowRejected as e:
        raise PipelineError(f"tools file {path}: {e}; {expected}") from None
    if not tools:
        raise PipelineError(f"tools file {path} holds no tools; {expected}, or leave out --tools")
    return tools


class _TextStreamer(BaseStreamer):
    """Hands each newly generated piece of text to `on_text` (the first `put` is the prompt)."""

    def __init__(self, tokenizer, stop_ids: set[int], on_text: Callable[[str], None]):
        self.tokenizer, self.stop_ids, self.on_text = tokenizer, stop_ids, on_text
        self.prompt_seen, self.tokens, self.shown = False, [], ""

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        self.tokens += value.flatten().tolist()
        self._show(final=False)

    def end(self) -> None:
        self._show(final=True)

    def _show(self, final: bool) -> None:
        kept, _ = cut_at_stop(self.tokens, self.stop_ids)
        text = self.tokenizer.decode(kept, skip_special_tokens=False)
        if text.endswith("\ufffd") and not final:  # half a multi-byte character: wait
            return
        if len(text) > len(self.shown) and text.startswith(self.shown):
            self.on_text(text[len(self.shown):])
            self.shown = text


# Answers that are not calls but that the evaluation counts wrong: the chat says why.
FLAGGED = {MALFORMED: "a call that does not parse in this family's format: shown as text, "
                      "counted as malformed by the evaluation",
           FABRICATED: "the model writes the tool's result itself instead of answering: counted as "
                       "fabricated_observation by the evaluation"}


@torch.inference_mode()
def chat(tool_model: ToolModel, tools: list[dict], messages: list[dict],
         max_new_tokens: int = 512, on_text: Callable[[str], None] | None = None) -> dict:
    """The assistant's next message (greedy), parsed: {"role", "content", "tool_calls"};
    `on_text` receives the raw text as it is generated."""
    family, tokenizer = tool_model.family, tool_model.tokenizer
    prompt = family.render(tools, messages, add_generation_prompt=True).text
    input_ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    stop_ids = tokenizer.convert_tokens_to_ids(family.stop_tokens)
    streamer = _TextStreamer(tokenizer, set(stop_ids), on_text) if on_text else None
    output = tool_model.model.generate(
        input_ids=input_ids.to(tool_model.model.device), attention_mask=torch.ones_like(
            input_ids).to(tool_model.model.device),
        generation_config=use_greedy(tool_model.model, greedy_config(
            max_new_tokens, stop_ids, tokenizer.pad_token_id)), streamer=streamer)
    generated = output_record(tokenizer, *cut_at_stop(output[0, input_ids.shape[1]:].tolist(),
                                                      set(stop_ids)))
    parsed = get_parser(family.name)(generated["text"], tools, generated["stop_token"])
    if parsed.kind == CALLS:
        return {"role": "assistant", "content": parsed.content, "tool_calls": parsed.calls}
    if parsed.kind in FLAGGED:  # shown as text, and flagged: the evaluation counts it wrong
        return {"role": "assistant", "content": parsed.content, "flag": FLAGGED[parsed.kind]}
    return {"role": "assistant", "content": parsed.content}


def call_warnings(call: dict, tools: list[dict]) -> str:
    """What the evaluation would hold against this call (a tool not offered, an argument the
    schema refuses), as one line, or "" for a call it accepts."""
    found = call_violations(call, tools)
    return f"  ! {', '.join(found)}: the evaluation counts this call as wrong\n" if found else ""


def mock_tool_result(call: dict) -> str:
    """A stand-in result for a call, for trying a model without a real tool."""
    return json.dumps({"status": "ok", "tool": call["name"], "echo": call["arguments"]},
                      ensure_ascii=False)


def format_call(call: dict) -> str:
    return f"{call['name']}({json.dumps(call['arguments'], ensure_ascii=False)})"


def run_conversation(tool_model: ToolModel, tools: list[dict], ask: Callable[[str], str],
                     show: Callable[[str], None], max_new_tokens: int = 512) -> list[dict]:
    """The terminal loop: the user types, the reply streams; a tool call is shown as a
    call and the user types its result (or `mock`). `/reset` starts over, `/exit` or end
    of input stops. Returns the conversation."""
    messages: list[dict] = []
    while True:
        try:
            text = ask("user> ").strip()
        except EOFError:
            return messages
        if text == "/exit":
            return messages
        if text == "/reset":
            messages = []
            show("(conversation cleared)\n")
            continue
        if not text:
            continue
        messages.append({"role": "user", "content": text})
        # The model may call tools several times before it answers in text.
        while True:
            show("assistant> ")
            reply = chat(tool_model, tools, messages, max_new_tokens, on_text=show)
            show("\n")
            flag = reply.pop("flag", None)
            if flag:
                show(f"  ! {flag}\n")
            messages.append(reply)
            if not reply.get("tool_calls"):
                break
            for call in reply["tool_calls"]:
                show(f"→ call {format_call(call)}\n")
                show(call_warnings(call, tools))
                try:
                    result = ask(f"result of {call['name']} (JSON, or 'mock')> ").strip()
                except EOFError:
                    return messages
                if result == "mock":
                    result = mock_tool_result(call)
                    show(f"  (mock) {result}\n")
                messages.append({"role": "tool", "content": result})
