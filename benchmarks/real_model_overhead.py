"""What the pipeline's own code costs on a real model, side by side in one run: finetune's
trainer against a bare PyTorch loop, generate's batched greedy decoding against one prompt at a
time with plain `model.generate`.

    python -m benchmarks.real_model_overhead                 # SmolLM2-135M-Instruct, CPU or GPU
    python -m benchmarks.real_model_overhead --steps 4 --prompts 8   # quicker

The model is SmolLM2-135M-Instruct from the pinned GGUF (toolcall/registry.py, converted once
into the cache), the rows are LLaMA-Factory's real glaive English demo rows.

Train: the same packed rows (finetune's encoding, packed by TRL as finetune packs them, taken
from finetune's own trainer's data loader) through finetune's trainer (toolcall.training: TRL's
SFTTrainer and collator, PEFT LoRA with the format tokens' rows) and through a bare loop over
the same batches (the same PEFT model, AdamW at the same learning rate, the model's own loss):
tokens/s over --steps steps after --warmup. Generate: the first user turn of --prompts real
rows, with their tools, through generate's `generate_greedy` at evaluate.batch_size and through
`model.generate` one prompt at a time, greedy, --new-tokens each: new tokens/s.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import tempfile
import time
from pathlib import Path

import torch
from datasets import Dataset
from peft import get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

from benchmarks.train_speed import NEVER, StepTimer
from toolcall.checkpoints import converted_registry_checkpoint, resolve
from toolcall.evaluation import generate_greedy, load_causal_lm
from toolcall.families import get_family
from toolcall.glaive import CleaningRules, RowRejected, clean_row, decode_conversation
from toolcall.lengths import fit_to_length
from toolcall.params import load_params
from toolcall.registry import artefact, artefact_file
from toolcall.training import FullLogitsSFTTrainer, lora_config, sft_config

CHECKPOINT = "registry:smollm2-135m-instruct-q4_1"
ROWS = "registry:glaive_toolcall_en_demo"
FAMILY = get_family("smollm2")


def real_conversations() -> list[dict]:
    rows = json.loads(artefact_file(artefact(ROWS)).read_text(encoding="utf-8"))
    kept = []
    for row in rows:
        try:
            kept.append(clean_row(row, CleaningRules())[0])
        except RowRejected:
            continue
    return kept


def train_side_by_side(folder: Path, conversations: list[dict], max_length: int, steps: int,
                       warmup: int) -> dict:
    params = load_params()
    lora = dataclasses.replace(params.lora, dropout=0.0)
    train = dataclasses.replace(params.train, max_length=max_length, max_steps=warmup + steps,
                                per_device_train_batch_size=1, gradient_accumulation_steps=1,
                                eval_steps=NEVER, save_steps=NEVER, logging_steps=NEVER)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    encoded, _ = fit_to_length(conversations, FAMILY, tokenizer, max_length, "split")
    examples = Dataset.from_list([dataclasses.asdict(e) for e in encoded])
    format_ids = tokenizer.convert_tokens_to_ids(FAMILY.special_tokens)
    cuda = torch.cuda.is_available()
    dtype = torch.bfloat16 if cuda else torch.float32
    device = "cuda" if cuda else "cpu"

    with tempfile.TemporaryDirectory() as output:
        args = sft_config(train, output, seed=0, bf16=cuda)
        args.include_num_input_tokens_seen = "non_padding"
        args.disable_tqdm = True
        timer = StepTimer(warmup)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).to(device)
        trainer = FullLogitsSFTTrainer(model=model, args=args, processing_class=tokenizer,
                                      peft_config=lora_config(lora, format_ids),
                                      train_dataset=examples, eval_dataset=examples.select([0]),
                                      callbacks=[timer])
        batches = list(itertools.islice(trainer.get_train_dataloader(), warmup + steps))
        trainer.train()
    finetune_rate = (timer.end[1] - timer.start[1]) / (timer.end[0] - timer.start[0])
    del trainer, model

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).to(device),
                           lora_config(lora, format_ids))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                  lr=train.learning_rate)
    model.train()
    tokens, start = 0, None
    for step, batch in enumerate(batches):
        if step == warmup:
            start = time.perf_counter()
        batch = {k: v.to(device) for k, v in batch.items() if isinstance(v, torch.Tensor)}
        model(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step >= warmup:
            tokens += int(batch["input_ids"].numel())
    if cuda:
        torch.cuda.synchronize()
    bare_rate = tokens / (time.perf_counter() - start)
    return {"finetune_tokens_per_s": finetune_rate, "bare_loop_tokens_per_s": bare_rate,
            "ratio": finetune_rate / bare_rate, "timed_steps": steps, "max_length": max_length,
            "tokens_per_step": tokens / steps}


def generate_side_by_side(folder: Path, conversations: list[dict], prompts: int, new_tokens: int,
                          batch_size: int) -> dict:
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.padding_side = "left"
    model = load_causal_lm(folder, None, None)
    device = model.device
    texts = []
    for conversation in conversations[:prompts]:
        tools, messages = decode_conversation(conversation)
        texts.append(FAMILY.render(tools, messages[:1], add_generation_prompt=True).text)
    stop_ids = tokenizer.convert_tokens_to_ids(FAMILY.stop_tokens)

    start = time.perf_counter()
    batched = [r["new_tokens"] for _, r in generate_greedy(model, tokenizer, texts, stop_ids,
                                                           new_tokens, batch_size)]
    batched_rate = sum(batched) / (time.perf_counter() - start)

    start, single = time.perf_counter(), []
    with torch.no_grad():
        for text in texts:
            ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"].to(device)
            out = model.generate(ids, max_new_tokens=new_tokens, do_sample=False,
                                 eos_token_id=stop_ids, pad_token_id=tokenizer.pad_token_id)
            single.append(out.shape[1] - ids.shape[1])
    single_rate = sum(single) / (time.perf_counter() - start)
    return {"generate_new_tokens_per_s": batched_rate, "one_at_a_time_new_tokens_per_s": single_rate,
            "ratio": batched_rate / single_rate, "prompts": len(texts), "batch_size": batch_size,
            "new_tokens_max": new_tokens, "new_tokens_batched": sum(batched),
            "new_tokens_one_at_a_time": sum(single),
            "prompt_tokens_mean": sum(len(tokenizer(t)["input_ids"]) for t in texts) / len(texts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/real_model_overhead.json"))
    args = parser.parse_args()
    folder = converted_registry_checkpoint(resolve(CHECKPOINT, FAMILY.base.hub_id, "main"))
    conversations = real_conversations()
    result = {
        "model": FAMILY.base.hub_id + " (GGUF Q4_1, dequantized to float32)",
        "device": torch.cuda.get_device_name() if torch.cuda.is_available()
        else f"cpu, {torch.get_num_threads()} threads",
        "train": train_side_by_side(folder, conversations, args.max_length, args.steps, args.warmup),
        "generate": generate_side_by_side(folder, conversations, args.prompts, args.new_tokens,
                                          load_params().evaluate.batch_size),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    train, generate = result["train"], result["generate"]
    print(f"{result['model']} on {result['device']}")
    print("| what | pipeline | plain loop | ratio |\n|---|---|---|---|")
    print(f"| training tokens/s | {train['finetune_tokens_per_s']:.1f} (finetune's trainer) | "
          f"{train['bare_loop_tokens_per_s']:.1f} (bare PyTorch loop) | {train['ratio']:.2f}x |")
    print(f"| new tokens/s | {generate['generate_new_tokens_per_s']:.1f} (generate_greedy, batch "
          f"{generate['batch_size']}) | {generate['one_at_a_time_new_tokens_per_s']:.1f} (one prompt "
          f"at a time) | {generate['ratio']:.2f}x |")


if __name__ == "__main__":
    main()
