"""A LoRA-only run can learn the format tokens a real base barely knows (lora.train_format_tokens),
on a stand-in whose rows for those tokens are zero, like untrained special tokens."""

import shutil

import pytest
import torch
import yaml
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

from stages import finetune
from toolcall.families import all_families
from toolcall.params import load_params

FAMILIES = all_families()

KEY, FAMILY = "qwen2_5-7b", FAMILIES["qwen2_5"]


def _rows(model, ids: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    return (model.get_input_embeddings().weight[ids].detach().clone(),
            model.get_output_embeddings().weight[ids].detach().clone())


@pytest.fixture
def project(tiny_project, tmp_path, monkeypatch):
    root = tmp_path / "p"
    shutil.copytree(tiny_project, root)
    monkeypatch.chdir(root)
    base = root / "models" / KEY / "base"
    model = AutoModelForCausalLM.from_pretrained(base)
    ids = AutoTokenizer.from_pretrained(base).convert_tokens_to_ids(FAMILY.special_tokens)
    with torch.no_grad():  # a base that never learned its format tokens
        model.get_input_embeddings().weight[ids] = 0.0
        model.get_output_embeddings().weight[ids] = 0.0
    model.save_pretrained(base)
    return root, ids


@pytest.mark.parametrize("train_format_tokens", [True, False])
def test_format_token_rows_train_only_when_asked(project, train_format_tokens):
    root, ids = project
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["standin_lora"] = {"modules_to_save": [], "train_format_tokens": train_format_tokens}
    params["standin_train"]["max_steps"] = 4
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))
    finetune.finetune(KEY, load_params())

    base = AutoModelForCausalLM.from_pretrained(root / "models" / KEY / "base")
    others = [i for i in range(base.config.vocab_size) if i not in ids]
    before_rows, before_all = _rows(base, ids), _rows(base, others)
    tuned = PeftModel.from_pretrained(base, root / "models" / KEY / "adapter").merge_and_unload()
    after_rows, after_all = _rows(tuned, ids), _rows(tuned, others)
    for before, after in zip(before_all, after_all, strict=True):
        assert torch.equal(before, after)  # nothing else of the two matrices moved
    changed = [not torch.equal(b, a) for b, a in zip(before_rows, after_rows, strict=True)]
    assert changed == [train_format_tokens, train_format_tokens]
    if train_format_tokens:  # the turn-ending token can now be predicted at all
        im_end = FAMILY.special_tokens.index("<|im_end|>")
        assert after_rows[1][im_end].abs().sum() > 0
