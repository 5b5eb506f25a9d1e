"""The trainer settings finetune uses, built in one place so the tests and the speed
benchmark run exactly the finetune stage's code path (trainer, collator, attention)."""

from __future__ import annotations

from pathlib import Path

from peft import LoraConfig
from transformers import Trainer
from trl import SFTConfig, SFTTrainer

import toolcall.attention  # noqa: F401  registers attn_implementation="torch_varlen" with transformers
from toolcall.params import LoraParams, TrainParams


def sft_config(train: TrainParams, output_dir: str | Path, seed: int, bf16: bool) -> SFTConfig:
    """TRL settings from params. With train.packing, rows are packed best-fit-decreasing
    into train.max_length tokens, padding-free: TRL passes per-document position_ids and
    no attention mask, from which transformers builds a block-diagonal causal mask (SDPA)
    or variable-length kernels (flash attention): no token attends across documents."""
    return SFTConfig(
        output_dir=str(output_dir),
        learning_rate=train.learning_rate,
        max_steps=train.max_steps,
        num_train_epochs=train.num_train_epochs,
        per_device_train_batch_size=train.per_device_train_batch_size,
        per_device_eval_batch_size=train.per_device_train_batch_size,
        gradient_accumulation_steps=train.gradient_accumulation_steps,
        warmup_steps=train.warmup_steps,
        weight_decay=train.weight_decay,
        lr_scheduler_type=train.lr_scheduler_type,
        logging_steps=train.logging_steps,
        packing=train.packing,
        packing_strategy="bfd",  # whole conversations only (rows were fitted to max_length)
        # Unpacked: batches of similar length, so less padding.
        train_sampling_strategy="random" if train.packing else "group_by_length",
        eval_strategy="steps",
        eval_steps=train.eval_steps,
        save_strategy="steps",
        save_steps=train.save_steps,
        save_total_limit=2,  # the newest two: one survives a kill during a save
        gradient_checkpointing=train.gradient_checkpointing,
        bf16=bf16,
        max_length=train.max_length,
        seed=seed,
        report_to="none",  # SwanLab through its callback (report_to="swanlab" is broken)
        disable_tqdm=False,
    )


def lora_config(lora: LoraParams, format_token_ids: list[int]) -> LoraConfig:
    """PEFT settings from params. With lora.train_format_tokens, the embedding and output rows
    of the family's format tokens (role tokens, call tags, every turn-ending token) are
    trained too, and nothing else of those two matrices: a real base model has barely seen
    them (tuned Qwen2.5 bases are reported never to emit <|im_end|> when LoRA alone is
    trained), and whole-matrix training (modules_to_save) costs two vocabulary-sized
    matrices per checkpoint."""
    rows = {"embed_tokens": format_token_ids, "lm_head": format_token_ids}
    return LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                      target_modules=lora.target_modules,
                      modules_to_save=lora.modules_to_save or None,
                      trainable_token_indices=rows if lora.train_format_tokens else None,
                      task_type="CAUSAL_LM")


class FullLogitsSFTTrainer(SFTTrainer):
    """SFTTrainer with the plain causal-LM loss over full logits (transformers' own), the
    same loss computed the common way. TRL's chunked loss reads lm_head.weight directly and
    so would skip the trainable output rows of lora.train_format_tokens; and on a CPU it is
    slower: the GLM stand-in's 200 steps train in 42 s instead of 59 s, to the same losses
    (finetune's train.json, 2 cores)."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        return Trainer.compute_loss(self, model, {**inputs, "use_cache": False}, return_outputs,
                                    num_items_in_batch)

