"""finetune: TRL SFTTrainer + PEFT LoRA on one model, loss on assistant turns only.

Rows are rendered in the family's native format and tokenized here with an exact
per-token mask (toolcall.encoding), then handed to SFTTrainer as `input_ids` +
`assistant_masks`. Writes models/<model>/adapter (adapter, tokenizer, chat template),
metrics/models/<model>/train.json and the loss curves metrics/models/<model>/{train,eval}_loss.csv.

Checkpoints go to models/<model>/checkpoints every train.save_steps steps. A rerun after
an interruption resumes from the last complete one when nothing it depends on changed
(same fingerprint), so the final adapter is the one an uninterrupted run would give.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import statistics
import sys
from pathlib import Path

from toolcall.distributed import relaunch_if_needed
from toolcall.encoding import show_mask
from toolcall.families import get_family, template_is_equivalent
from toolcall.io import (
    PipelineError,
    fingerprint,
    log,
    read_jsonl,
    run_stage,
    write_json,
    write_text,
)
from toolcall.layout import (
    TEST_SPLIT,
    TRAIN_SPLIT,
    adapter_dir,
    checkpoints_dir,
    manifest_file,
    results_dir,
    weights_dir,
)
from toolcall.lengths import fit_to_length
from toolcall.params import Params, load_params


def length_summary(lengths: list[int]) -> dict:
    q = statistics.quantiles(lengths, n=100, method="inclusive") if len(lengths) > 1 else lengths * 99
    return {"tokens_min": min(lengths), "tokens_p50": q[49], "tokens_p90": q[89],
            "tokens_p99": q[98], "tokens_max": max(lengths)}


def write_curve(path: Path, rows: list[tuple[int, float]]) -> None:
    write_text(path, "step,loss\n" + "".join(f"{step},{loss}\n" for step, loss in rows))


def last_complete_checkpoint(folder: Path) -> Path | None:
    """The newest checkpoint-N that has its trainer_state.json (the Trainer writes it last,
    so a checkpoint cut short by a kill is skipped)."""
    complete = [c for c in folder.glob("checkpoint-*") if (c / "trainer_state.json").exists()]
    return max(complete, key=lambda c: int(c.name.split("-")[1]), default=None)


def resume_point(folder: Path, run_fingerprint: str) -> Path | None:
    """The checkpoint to resume from, or None after clearing checkpoints of another run."""
    marker = folder / "fingerprint.txt"
    if marker.exists() and marker.read_text() == run_fingerprint:
        return last_complete_checkpoint(folder)
    if any(folder.glob("checkpoint-*")):
        log.info("finetune: %s holds checkpoints of different settings or data; starting over",
                 folder)
    shutil.rmtree(folder, ignore_errors=True)  # the Trainer may have created it empty
    folder.mkdir(parents=True)
    marker.write_text(run_fingerprint)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    key = parser.parse_args().model
    params = load_params()
    params.model(key)
    if relaunch_if_needed("stages.finetune", sys.argv[1:], params.distributed.num_processes,
                          params.distributed.accelerate_config):
        return
    finetune(key, params)


def finetune(key: str, params: Params, callbacks: tuple = ()) -> None:
    """Train one model's adapter; `callbacks` are extra Trainer callbacks."""
    model_params = params.model(key)
    train_params = params.train_for(key)
    lora = params.lora_for(key)
    family = get_family(model_params.family)

    import torch  # noqa: PLC0415 (heavy imports after params are validated)
    from datasets import Dataset  # noqa: PLC0415
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415

    from toolcall.attention import require_attention  # noqa: PLC0415
    from toolcall.tracking import swanlab_callback  # noqa: PLC0415
    from toolcall.training import FullLogitsSFTTrainer, lora_config, sft_config  # noqa: PLC0415

    base_dir, out_dir, metrics_dir = weights_dir(key), adapter_dir(key), results_dir(key)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    # Train and save the template that renders exactly what we train on. A checkpoint's
    # own template is kept only where it renders the same (GLM-4's base ships none).
    shipped = tokenizer.chat_template
    if template_is_equivalent(shipped, family):
        log.info("finetune %s: the checkpoint's chat template renders the training format", key)
    else:
        log.info("finetune %s: checkpoint template %s; using the project's %s template", key,
                 "differs" if shipped else "absent", family.name)
        tokenizer.chat_template = family.chat_template
    tokenizer.padding_side = "left"

    train_rows = read_jsonl(TRAIN_SPLIT)
    test_rows = read_jsonl(TEST_SPLIT)
    policy = params.dataset.over_length
    train_encoded, report = fit_to_length(train_rows, family, tokenizer, train_params.max_length,
                                          policy)
    eval_encoded, _ = fit_to_length(test_rows, family, tokenizer, train_params.max_length, policy)
    share = report.rows_losing_content / len(train_rows)
    if share > params.dataset.max_over_length_share:
        raise PipelineError(
            f"{report.rows_losing_content} of {len(train_rows)} training rows ({share:.1%}) would "
            f"lose content at max_length={train_params.max_length} tokens "
            f"(policy {policy}, longest row {max(report.lengths)} tokens); raise max_length, "
            "use dataset.over_length: split, or raise dataset.max_over_length_share")
    train_examples = [dataclasses.asdict(e) for e in train_encoded]
    eval_examples = [dataclasses.asdict(e) for e in eval_encoded]
    log.info("finetune %s: %d train rows -> %d examples (%d over %d tokens, policy %s: %d "
             "pieces, %d exchanges dropped)", key, len(train_rows), len(train_examples),
             report.rows_over_max_length, train_params.max_length, policy,
             report.pieces_from_splits, report.exchanges_dropped)
    first = next(e for e in train_examples if sum(e["assistant_masks"]))
    log.info("finetune %s: one training row, untrained parts in ⟦…⟧:\n%s", key,
             show_mask(first["input_ids"], first["assistant_masks"], tokenizer))

    cuda = torch.cuda.is_available()
    require_attention(train_params.attn_implementation)
    model = AutoModelForCausalLM.from_pretrained(
        base_dir, dtype=torch.bfloat16 if cuda else torch.float32,
        attn_implementation=train_params.attn_implementation)
    config = sft_config(train_params, checkpoints_dir(key), params.seed, bf16=cuda)
    peft_config = lora_config(lora, tokenizer.convert_tokens_to_ids(family.special_tokens))
    tracked = {"model": key, "weights": params.weights,
               **dataclasses.asdict(model_params), "train_in_effect": dataclasses.asdict(train_params),
               "lora_in_effect": dataclasses.asdict(lora)}
    callback = swanlab_callback(key, tracked)
    trainer = FullLogitsSFTTrainer(
        model=model, args=config, processing_class=tokenizer, peft_config=peft_config,
        train_dataset=Dataset.from_list(train_examples),
        eval_dataset=Dataset.from_list(eval_examples),
        callbacks=([callback] if callback else []) + list(callbacks),
    )
    run_fingerprint = fingerprint(
        {"seed": params.seed, "train": train_params, "lora": lora, "model": model_params,
         "over_length": policy},
        [TRAIN_SPLIT, TEST_SPLIT, base_dir / "config.json",
         manifest_file(key)])
    with config.main_process_first(desc="checkpoint check"):  # the main process clears first
        checkpoint = resume_point(checkpoints_dir(key), run_fingerprint)
    if checkpoint:
        log.info("finetune %s: resuming from %s", key, checkpoint)
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    if trainer.is_world_process_zero():  # a fresh folder: never write into DVC cache links
        shutil.rmtree(out_dir, ignore_errors=True)
    trainer.save_model(str(out_dir))  # the main process writes; every process must call it
    if not trainer.is_world_process_zero():
        return
    tokenizer.save_pretrained(out_dir)
    shutil.rmtree(checkpoints_dir(key))  # the adapter is saved; resume state no longer needed

    history = trainer.state.log_history  # restored from the checkpoint when resumed
    train_curve = [(h["step"], h["loss"]) for h in history if "loss" in h]
    write_curve(metrics_dir / "train_loss.csv", train_curve)
    # The Trainer evaluates at the last step of a step-based run itself (a checkpoint of that
    # step holds it too): a further evaluate() would cost a whole pass and draw that point twice.
    eval_curve = [(h["step"], h["eval_loss"]) for h in history if "eval_loss" in h]
    write_curve(metrics_dir / "eval_loss.csv", eval_curve)
    trained_tokens = sum(sum(e["assistant_masks"]) for e in train_examples)
    summary = {
        # Over the logged steps of the whole run: the same whether it was resumed or not
        # (the Trainer's own training_loss covers only the steps of the last session).
        "train_loss": statistics.fmean(loss for _, loss in train_curve),
        "train_loss_last": train_curve[-1][1],
        "eval_loss": eval_curve[-1][1],  # at the last step
        "steps": result.global_step,
        "resumed_from_step": int(checkpoint.name.split("-")[1]) if checkpoint else 0,
        "train_runtime_s": result.metrics["train_runtime"],  # of the last session
        "train_rows": len(train_rows),
        "train_examples": len(train_examples),
        "train_sequences": len(trainer.train_dataset),  # packed rows when packing
        "rows_over_max_length": report.rows_over_max_length,
        "rows_losing_content": report.rows_losing_content,
        "pieces_from_splits": report.pieces_from_splits,
        "exchanges_dropped_over_length": report.exchanges_dropped,
        "trained_token_share": trained_tokens / sum(len(e["input_ids"]) for e in train_examples),
        "trainable_params": sum(p.numel() for p in trainer.model.parameters() if p.requires_grad),
        **length_summary(report.lengths),
    }
    write_json(metrics_dir / "train.json", summary)
    log.info("finetune %s: %d steps in %.0fs, train loss %.3f, eval loss %.3f, adapter in %s",
             key, summary["steps"], summary["train_runtime_s"], summary["train_loss"],
             summary["eval_loss"], out_dir)


if __name__ == "__main__":
    run_stage(main)
