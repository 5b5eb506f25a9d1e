"""The vLLM backend without vLLM: what it asks the engine for, and how it maps results.
(vLLM itself was never run in this project: it needs a GPU.)"""

import json
import sys
from types import ModuleType, SimpleNamespace

import pytest

from toolcall.io import PipelineError
from toolcall.vllm_backend import (
    engine_arguments,
    generate_vllm,
    result_of,
    sampling_arguments,
    vllm_engine,
)

STOP = [7, 9]


class FakeTokenizer:
    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [ord(c) for c in text]}

    def decode(self, ids, skip_special_tokens=False):
        return "".join(chr(i) for i in ids)

    def convert_ids_to_tokens(self, token_id):
        return f"<stop{token_id}>"


@pytest.fixture
def fake_vllm(monkeypatch):
    """A vllm module that records the engine, the requests and answers with fixed tokens."""
    seen = {}

    class LLM:
        def __init__(self, **kwargs):
            seen["engine"] = kwargs
            seen["engines_built"] = seen.get("engines_built", 0) + 1

        def generate(self, requests, sampling, lora_request=None):
            seen.update(requests=requests, sampling=sampling, lora=lora_request)
            seen.setdefault("loras", []).append(lora_request)
            answers = [[104, 105, 7, 120], [111, 107]]  # a stop after 2 tokens; no stop
            return [SimpleNamespace(outputs=[SimpleNamespace(token_ids=a)]) for a in answers]

    vllm = ModuleType("vllm")
    vllm.LLM, vllm.SamplingParams = LLM, lambda **kw: kw
    lora = ModuleType("vllm.lora")
    request = ModuleType("vllm.lora.request")
    request.LoRARequest = lambda name, lora_id, path: (name, lora_id, path)
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setitem(sys.modules, "vllm.lora", lora)
    monkeypatch.setitem(sys.modules, "vllm.lora.request", request)
    return seen


def _adapter(tmp_path, **config):
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": 16, **config}))
    return tmp_path


def test_requests_are_greedy_token_ids_with_the_adapter(fake_vllm, tmp_path):
    adapter = _adapter(tmp_path)
    engine = vllm_engine(tmp_path / "base", adapter, max_model_len=100, seed=3)
    results = dict(generate_vllm(engine, FakeTokenizer(), ["ab", "c"], STOP, max_new_tokens=5,
                                 adapter=adapter))
    assert fake_vllm["requests"] == [{"prompt_token_ids": [97, 98]}, {"prompt_token_ids": [99]}]
    # greedy, with every penalty neutral, and the checkpoint's generation_config.json ignored
    assert fake_vllm["sampling"] == {"temperature": 0.0, "repetition_penalty": 1.0,
                                     "presence_penalty": 0.0, "frequency_penalty": 0.0,
                                     "max_tokens": 5, "stop_token_ids": STOP,
                                     "skip_special_tokens": False}
    assert fake_vllm["lora"] == ("tuned", 1, str(adapter))
    engine = fake_vllm["engine"]
    assert engine["enable_lora"] and engine["max_lora_rank"] == 16
    assert engine["generation_config"] == "vllm" and engine["seed"] == 3
    # the same record shape as the transformers path: cut at the first stop token
    assert results == {0: {"text": "hi", "new_tokens": 2, "stopped": True, "stop_token": "<stop7>"},
                       1: {"text": "ok", "new_tokens": 2, "stopped": False, "stop_token": None}}


def test_one_engine_serves_base_and_tuned(fake_vllm, tiny_project, tmp_path, monkeypatch):
    """The generate stage builds one engine (vLLM cannot reliably free one in a process) and
    asks for the tuned variant through its LoRA adapter, per request."""
    import shutil

    import yaml

    from stages import generate
    from toolcall.params import load_params

    root = tmp_path / "p"
    shutil.copytree(tiny_project, root)
    monkeypatch.chdir(root)
    adapter = root / "models" / "glm4-9b" / "adapter"
    shutil.copytree(root / "models" / "glm4-9b" / "base", adapter)  # its tokenizer files
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 8}))
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["evaluate"]["backend"] = "vllm"
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))

    def generate_through(engine, tokenizer, prompts, stop_ids, max_new_tokens, adapter):
        engine.generate([], None, lora_request=adapter)  # records which adapter was asked for
        for i in range(len(prompts)):
            yield i, {"text": "\n好", "new_tokens": 1, "stopped": True, "stop_token": "<|user|>"}

    monkeypatch.setattr(generate, "generate_vllm", generate_through)
    generate.generate_variants("glm4-9b", ["base", "tuned"], load_params())
    assert fake_vllm["engines_built"] == 1
    assert fake_vllm["loras"] == [None, adapter.relative_to(root)]


def test_base_model_runs_without_lora(fake_vllm, tmp_path):
    engine = vllm_engine(tmp_path, None, 100, 0)
    list(generate_vllm(engine, FakeTokenizer(), ["a"], STOP, 5, None))
    assert fake_vllm["lora"] is None and "enable_lora" not in fake_vllm["engine"]


def test_adapters_with_full_modules_are_refused(tmp_path):
    adapter = _adapter(tmp_path, modules_to_save=["embed_tokens", "lm_head"])
    with pytest.raises(PipelineError, match="evaluate.backend: transformers"):
        engine_arguments(tmp_path, adapter, 100, 0)


def test_missing_vllm_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(PipelineError, match="pip install vllm"):
        vllm_engine(tmp_path, None, 100, 0)


def test_result_mapping_and_sampling():
    assert result_of([1, 2], STOP, FakeTokenizer())["stopped"] is False
    assert sampling_arguments(8, STOP)["temperature"] == 0.0
