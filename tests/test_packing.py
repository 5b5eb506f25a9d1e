"""Packing changes nothing but speed: through finetune's own TRL path (dataset
preparation, BFD packing, padding-free collator) and each train.attn_implementation that
runs on a CPU (SDPA's block-diagonal mask; torch_varlen's document boundaries, per-document
SDPA here), a packed row gives the loss and the gradients of its conversations run one by
one, and no token sees another row."""

import dataclasses
import importlib.util

import pytest
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTTrainer

from toolcall import attention
from toolcall.encoding import encode_rendered
from toolcall.families import all_families
from toolcall.glaive import CleaningRules, clean_row, decode_conversation
from toolcall.io import PipelineError
from toolcall.params import LoraParams, TrainParams
from toolcall.sample_data import make_sample
from toolcall.standins import build_standin
from toolcall.training import lora_config, sft_config

FAMILIES = all_families()

TRAIN = TrainParams(max_length=6144, packing=True, learning_rate=1e-3, max_steps=1,
                    num_train_epochs=1, per_device_train_batch_size=1,
                    gradient_accumulation_steps=1, warmup_steps=0, weight_decay=0.0,
                    lr_scheduler_type="constant", logging_steps=1, eval_steps=1, save_steps=1)


@pytest.fixture(scope="module", params=[(family, attention) for family in sorted(FAMILIES)
                                        for attention in ("sdpa", "torch_varlen")],
                ids="-".join)
def packed(request, tmp_path_factory):
    """(model, packed batch, the conversations' input_ids and labels one by one)."""
    family_name, attention = request.param
    family = FAMILIES[family_name]
    conversations = [clean_row(r, CleaningRules())[0] for r in make_sample(6, seed=5)]
    rendered = [family.render(*decode_conversation(c)) for c in conversations]
    folder = tmp_path_factory.mktemp(family_name)
    shape = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
             "num_key_value_heads": 1, "intermediate_size": 64, "max_position_embeddings": 4096}
    settings = {"vocab_size": 500, "seed": 0, "pretrain_steps": 0, "pretrain_batch_size": 1,
                "pretrain_block_size": 64, "pretrain_learning_rate": 1e-3}
    texts = [r.text for r in rendered]
    build_standin(family, texts, texts, shape, settings, folder, family.base)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32,
                                                 attn_implementation=attention)
    examples = [dataclasses.asdict(encode_rendered(r, tokenizer)) for r in rendered]
    lora = LoraParams(r=4, alpha=8, dropout=0.0, target_modules="all-linear")
    trainer = SFTTrainer(model=model, args=sft_config(TRAIN, folder / "out", seed=0, bf16=False),
                         processing_class=tokenizer, peft_config=lora_config(lora, []),
                         train_dataset=Dataset.from_list(examples),
                         eval_dataset=Dataset.from_list(examples[:1]))
    row = trainer.train_dataset[0]
    assert len(row["seq_lengths"]) == len(examples)  # all six fit in one packed row (~4,500 tokens)
    batch = trainer.data_collator([row])
    ids, labels, start = [], [], 0
    for length in row["seq_lengths"]:
        ids.append(torch.tensor([row["input_ids"][start:start + length]]))
        labels.append(torch.tensor([row["labels"][start:start + length]]))
        start += length
    return trainer.model, batch, ids, labels


def _grads(model) -> dict[str, torch.Tensor]:
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    return grads


def test_packed_loss_and_gradients_equal_one_by_one(packed):
    model, batch, ids, labels = packed
    model.train()
    model.zero_grad()
    packed_loss = model(**batch).loss
    packed_loss.backward()
    packed_grads = _grads(model)

    # HF's loss is the mean over trained tokens; one by one, weight each by its count.
    counts = [int((lab[0, 1:] != -100).sum()) for lab in labels]
    total = sum(model(input_ids=i, labels=lab).loss * n for i, lab, n in zip(ids, labels, counts,
                                                                               strict=True))
    expected = total / sum(counts)
    expected.backward()
    expected_grads = _grads(model)
    assert packed_loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert packed_grads.keys() == expected_grads.keys() and packed_grads
    for name, grad in expected_grads.items():
        torch.testing.assert_close(packed_grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)


@torch.no_grad()
def test_no_token_attends_across_packed_rows(packed):
    model, batch, ids, _ = packed
    model.eval()
    logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits
    contaminated = model(input_ids=batch["input_ids"]).logits  # plain causal, one document
    start = 0
    for k, doc in enumerate(ids):
        alone = model(input_ids=doc).logits[0]
        piece = slice(start, start + doc.shape[1])
        torch.testing.assert_close(logits[0, piece], alone, rtol=1e-4, atol=1e-4)
        if k:  # the control: without per-row positions, later rows see earlier ones
            assert (contaminated[0, piece] - alone).abs().max() > 1e-2
        start += doc.shape[1]


def test_an_attention_that_cannot_run_here_fails_before_loading_with_what_to_do(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)  # no flash-attn
    with pytest.raises(PipelineError, match="pip install flash-attn"):
        attention.require_attention("flash_attention_2")
    attention.require_attention("sdpa")
    attention.require_attention("torch_varlen")  # a CPU: per-document SDPA
