"""The chat loop and the export, on tiny stand-ins: what the user sees, and that an
exported model generates exactly what base + adapter generate."""

import json
import shutil

import pytest
import torch
from conftest import WEATHER_TOOL
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

from stages.export import export as export_model
from stages.export import probe_prompt
from stages.finetune import finetune
from toolcall.chat import ToolModel, chat, load_tool_model, load_tools, run_conversation
from toolcall.families import all_families
from toolcall.formats.glm import render_call as render_glm4_call
from toolcall.io import PipelineError, read_jsonl, run_stage
from toolcall.layout import export_dir
from toolcall.params import load_params
from toolcall.turns import build_samples

FAMILIES = all_families()

MODELS = {"glm4-9b": "glm4", "qwen2_5-7b": "qwen2_5"}


@pytest.fixture(scope="module")
def tuned(tiny_project, tmp_path_factory):
    """The tiny project with both stand-ins fine-tuned (3 steps)."""
    root = tmp_path_factory.mktemp("tuned") / "p"
    shutil.copytree(tiny_project, root)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        for key in MODELS:
            finetune(key, load_params())
    return root


def test_tools_file_in_openai_or_glaive_form(tmp_path):
    bare = WEATHER_TOOL["function"]
    (tmp_path / "openai.json").write_text(json.dumps([WEATHER_TOOL]), encoding="utf-8")
    (tmp_path / "bare.json").write_text(json.dumps([bare]), encoding="utf-8")
    assert load_tools(tmp_path / "openai.json") == load_tools(tmp_path / "bare.json") == [WEATHER_TOOL]
    (tmp_path / "bad.json").write_text('{"name": "x"}', encoding="utf-8")
    with pytest.raises(PipelineError, match="bad.json"):
        load_tools(tmp_path / "bad.json")


@pytest.mark.parametrize("content, message", [
    (b'[{"description": "no name"}]', "tool_without_name"),
    (b"[not json", "not JSON"),
    (b"\xff\xfe[]", "not UTF-8 text"),
    (b"[]", "holds no tools"),
    (b"", "holds no tools"),
])
def test_a_bad_tools_file_fails_in_one_line_before_the_model_loads(tmp_path, monkeypatch, capsys,
                                                                   content, message):
    import stages.chat
    import toolcall.chat

    def never(*args, **kwargs):
        raise AssertionError("the model was loaded before the tools were checked")

    monkeypatch.setattr(toolcall.chat, "load_causal_lm", never)
    (tmp_path / "tools.json").write_bytes(content)
    monkeypatch.setattr("sys.argv", ["chat", "--base", str(tmp_path), "--family", "glm4",
                                     "--tools", str(tmp_path / "tools.json")])
    with pytest.raises(SystemExit) as exit_code:
        run_stage(stages.chat.main)
    assert exit_code.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: tools file") and message in error and "\n" not in error


def test_an_unknown_family_fails_before_the_model_loads(tmp_path, monkeypatch):
    import toolcall.chat

    monkeypatch.setattr(toolcall.chat, "load_causal_lm", lambda *a, **k: pytest.fail("loaded"))
    with pytest.raises(PipelineError, match="--family: unknown model family 'llama'"):
        load_tool_model(base=tmp_path, family="llama")


def typing(lines: list[str], seen: list[str]):
    """Stands in for input(): shows the prompt, returns the next line, then end of input."""
    pending = iter(lines)

    def ask(prompt: str) -> str:
        seen.append(prompt)
        line = next(pending, None)
        if line is None:
            raise EOFError
        return line

    return ask


class ScriptedModel:
    """Generates the given replies in turn (as token ids of the real tokenizer, ending in
    the family's stop token) and records each prompt it was given."""

    def __init__(self, tokenizer, replies: list[str], stop: str):
        self.tokenizer, self.replies, self.prompts = tokenizer, list(replies), []
        self.stop_id = tokenizer.convert_tokens_to_ids(stop)
        self.device = torch.device("cpu")
        self.generation_config = GenerationConfig()

    def generate(self, input_ids, streamer=None, **kwargs):
        self.prompts.append(self.tokenizer.decode(input_ids[0]))
        new = self.tokenizer(self.replies.pop(0), add_special_tokens=False)["input_ids"]
        new.append(self.stop_id)
        if streamer:
            streamer.put(input_ids)
            for token in new:
                streamer.put(torch.tensor([token]))
            streamer.end()
        return torch.cat([input_ids, torch.tensor([new])], dim=1)


def test_chat_loop_shows_the_call_takes_the_result_and_answers(tuned):
    family = FAMILIES["glm4"]
    real = load_tool_model(base=tuned / "models/glm4-9b/base", family="glm4")
    call = {"name": "get_weather", "arguments": {"city": "北京"}}
    scripted = ScriptedModel(real.tokenizer, [render_glm4_call(call), "\n北京3度。"], "<|user|>")
    seen = []
    messages = run_conversation(ToolModel(scripted, real.tokenizer, family), [WEATHER_TOOL],
                                ask=typing(["北京天气？", '{"temp": 3}', "/exit"], seen),
                                show=seen.append)
    screen = "".join(seen)
    assert '→ call get_weather({"city": "北京"})' in screen
    assert "result of get_weather (JSON, or 'mock')> " in screen
    assert screen.endswith("assistant> \n北京3度。\nuser> ")
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[1]["tool_calls"] == [call] and messages[3]["content"] == "北京3度。"
    # the typed result reached the model in the family's own observation format
    assert scripted.prompts[1].endswith('<|observation|>\n{"temp": 3}<|assistant|>')


def test_mock_result_answers_a_call(tuned):
    real = load_tool_model(base=tuned / "models/qwen2_5-7b/base", family="qwen2_5")
    call = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "上海"}}\n</tool_call>'
    scripted = ScriptedModel(real.tokenizer, [call, "好的"], "<|im_end|>")
    seen = []
    messages = run_conversation(ToolModel(scripted, real.tokenizer, FAMILIES["qwen2_5"]),
                                [WEATHER_TOOL], ask=typing(["上海？", "mock"], seen),
                                show=seen.append)
    assert '(mock) {"status": "ok", "tool": "get_weather", "echo": {"city": "上海"}}' in "".join(seen)
    assert messages[-1] == {"role": "assistant", "content": "好的"}


def test_chat_flags_what_the_evaluation_would_count_wrong(tuned):
    """A tool that was not offered, an argument the schema refuses, a call that does not parse:
    each gets a line saying so (the evaluation's own checks), before its result is asked for."""
    real = load_tool_model(base=tuned / "models/qwen2_5-7b/base", family="qwen2_5")
    assert real.weights.startswith("stand-in for Qwen/Qwen2.5-7B")
    unoffered = '<tool_call>\n{"name": "get_stock_price", "arguments": {"symbol": "AAPL"}}\n</tool_call>'
    bad_argument = '<tool_call>\n{"name": "get_weather", "arguments": {"city": 3}}\n</tool_call>'
    malformed = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "北"\n</tool_call>'
    scripted = ScriptedModel(real.tokenizer, [unoffered, "好", bad_argument, "好", malformed], "<|im_end|>")
    seen = []
    run_conversation(ToolModel(scripted, real.tokenizer, FAMILIES["qwen2_5"]), [WEATHER_TOOL],
                     ask=typing(["股价？", "mock", "天气？", "mock", "再来"], seen), show=seen.append)
    shown = "".join(seen)
    assert "call_name_not_offered: the evaluation counts this call as wrong" in shown
    assert shown.index("call_name_not_offered") < shown.index("result of get_stock_price")
    assert "argument_type_mismatch: the evaluation counts this call as wrong" in shown
    assert "does not parse in this family's format" in shown


def test_chat_flags_a_glm_answer_that_hands_over_to_a_tool_it_never_called(tuned):
    """GLM-4 ends a call with <|observation|> (the tool's turn) and an answer with <|user|>:
    text ended by <|observation|> opens a tool result the model would invent."""
    real = load_tool_model(base=tuned / "models/glm4-9b/base", family="glm4")
    scripted = ScriptedModel(real.tokenizer, ["\n北京3度。"], "<|observation|>")
    seen = []
    messages = run_conversation(ToolModel(scripted, real.tokenizer, FAMILIES["glm4"]), [WEATHER_TOOL],
                                ask=typing(["北京天气？", "/exit"], seen), show=seen.append)
    assert "counted as fabricated_observation by the evaluation" in "".join(seen)
    assert messages[-1] == {"role": "assistant", "content": "北京3度。"}


@pytest.mark.parametrize("key", MODELS)
def test_streamed_text_is_the_reply_of_the_real_standin(tuned, key, monkeypatch):
    monkeypatch.chdir(tuned)
    tool_model = load_tool_model(key)
    streamed = []
    reply = chat(tool_model, [WEATHER_TOOL], [{"role": "user", "content": "北京天气？"}],
                 max_new_tokens=24, on_text=streamed.append)
    again = chat(tool_model, [WEATHER_TOOL], [{"role": "user", "content": "北京天气？"}],
                 max_new_tokens=24)
    assert reply == again  # streaming changes nothing
    if reply.get("tool_calls"):
        assert "".join(streamed).strip()
    else:
        assert "".join(streamed).strip() == reply["content"].strip()


@pytest.mark.parametrize("key", MODELS)
@pytest.mark.parametrize("merge", [True, False])
def test_export_round_trip(tuned, key, merge, monkeypatch):
    monkeypatch.chdir(tuned)
    export_model(key, export_dir(key), merge)  # the stage's own command runs in test_hub_offline.py
    check = json.loads((tuned / "models" / key / "export" / "export_check.json").read_text())
    assert check["merged"] is merge
    if merge:  # float32 stand-ins: merging keeps the update (bf16: tests/test_merging.py)
        rounding = check["merge_rounding"]
        assert rounding["dtype"] == "float32" and rounding["lora_layers"] > 0
        assert rounding["update_lost_max"] < 1e-4
    else:
        assert check["merge_rounding"] is None
    assert check["template_renders_training_format"] and check["greedy_tokens_match_base_plus_adapter"]
    export = tuned / "models" / key / "export"
    family = FAMILIES[MODELS[key]]
    tokenizer = AutoTokenizer.from_pretrained(export)
    stops = tokenizer.convert_tokens_to_ids(family.stop_tokens)
    assert GenerationConfig.from_pretrained(export).eos_token_id == stops
    assert tokenizer.eos_token == family.chat.eos_token
    if not merge:
        base = json.loads((export / "adapter_config.json").read_text())["base_model_name_or_path"]
        assert base == str((tuned / "models" / key / "base").resolve())  # not repository-relative
        return
    # Plain generate stops where the tuned model ends its turn: force the family's first stop
    # token at the third new token and nothing may follow it.
    exported = AutoModelForCausalLM.from_pretrained(export).eval()
    ids = tokenizer(probe_prompt(family), add_special_tokens=False, return_tensors="pt")["input_ids"]

    def end_turn_at_third_token(input_ids, scores):
        if input_ids.shape[1] - ids.shape[1] == 2:
            scores[:, :] = -float("inf")
            scores[:, stops[0]] = 0.0
        return scores

    with torch.inference_mode():
        out = exported.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=12,
                                do_sample=False, logits_processor=[end_turn_at_third_token])
    assert out[0, ids.shape[1]:].tolist()[-1] == stops[0] and out.shape[1] == ids.shape[1] + 3
    # Beyond the probe: plain transformers on the export = base + adapter, on test turns.
    tool_model = load_tool_model(key)
    samples = build_samples(read_jsonl("data/prepared/test.jsonl")[:3], tool_model.family)
    for sample in samples[:6]:
        ids = tool_model.tokenizer(sample["prompt"], add_special_tokens=False,
                                   return_tensors="pt")["input_ids"]
        settings = {"do_sample": False, "max_new_tokens": 12, "eos_token_id": stops,
                    "pad_token_id": tool_model.tokenizer.pad_token_id}
        with torch.inference_mode():
            a = exported.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **settings)
            b = tool_model.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                          **settings)
        assert a.tolist() == b.tolist()
