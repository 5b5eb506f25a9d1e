"""Tiny stand-ins of the real architectures, built offline.

A stand-in is a randomly initialised model of the family's architecture with a few
small layers, plus a byte-level BPE tokenizer trained on the bundled sample rendered
in the family's own format, carrying the family's special tokens and chat template.
Like a real base model it has read the domain's text (a short warm-up on the sample's
plain words and JSON) but never the chat or tool-call format. It is written with
`save_pretrained`, so every later stage loads it exactly like a
downloaded checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from tqdm import tqdm
from transformers import AutoModelForCausalLM, GenerationConfig, PreTrainedTokenizerFast

from toolcall.families import Checkpoint, Family

# The stand-ins' pre-tokenizer: the Qwen2 / GLM-4 split (newlines stand alone, so a span
# boundary after "\n" never falls inside a token), except that every Chinese character,
# every digit, and every run of other letters is a piece of its own, never glued to a
# quote or to its neighbours. A value then has the same tokens in the user's request and
# in the call's JSON ("北京" in 帮我查北京 and in "city": "北京"), so a tiny model can copy it.
PRETOKENIZE_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|\p{Han}|[\p{L}&&[^\p{Han}]]+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def train_tokenizer(texts: Iterable[str], family: Family, vocab_size: int,
                    checkpoint: Checkpoint) -> PreTrainedTokenizerFast:
    """A byte-level BPE with the family's special tokens, set up like `checkpoint`'s real
    tokenizer: its eos token, its chat template or none, and what it prepends by itself."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=family.special_tokens,
        # alphabet() comes from a hash set in a per-process random order, which changes how
        # ties between equally frequent merges are broken: sort it for a reproducible vocab.
        initial_alphabet=sorted(pre_tokenizers.ByteLevel.alphabet()),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    if family.tokenizer_prefix:  # as GLM-4's -hf tokenizer: `[gMASK]<sop>` before any text
        prefix = " ".join(f"{t}:0" for t in family.tokenizer_prefix)
        tokenizer.post_processor = processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(
                single=f"{prefix} $A:0", pair=f"{prefix} $A:0 $B:1",
                special_tokens=[(t, tokenizer.token_to_id(t)) for t in family.tokenizer_prefix]),
        ])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token=checkpoint.eos_token,
        pad_token=family.pad_token,
        additional_special_tokens=[t for t in family.special_tokens if t != family.pad_token],
        padding_side="left",
    )
    # The project's template renders exactly as the family's official one on every case
    # tests/test_real_artifacts.py checks; a checkpoint that ships none gets none.
    fast.chat_template = family.chat_template if checkpoint.ships_chat_template else None
    return fast


SHAPE_KEYS = ["hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
              "intermediate_size", "max_position_embeddings", "initializer_range"]


def build_config(family: Family, tokenizer: PreTrainedTokenizerFast, shape: dict,
                 checkpoint: Checkpoint):
    """A config of the family's architecture at `shape`, with the tokenizer's vocabulary and
    the checkpoint's pad and eos tokens."""
    return family.architecture.stand_in(len(tokenizer), tokenizer.pad_token_id,
                                        tokenizer.convert_tokens_to_ids(checkpoint.eos_tokens), shape)


def plain_texts(rows: list[dict], kind: str = "conversations") -> list[str]:
    """What a base model has read, without any chat template or role tokens (so the tool-call
    *format* is left for fine-tuning to teach).

    conversations: every row's schemas and turns, one text each.
    requests: each request that leads to a call, followed on the next line by that call's
    glaive JSON: dense in values that reappear verbatim, so the warm-up's loss is mostly won by
    copying from the context, the skill a tool call needs and a tiny model is slowest to find
    (on whole conversations it memorises how often each value occurs instead)."""
    if kind == "requests":
        return [f"{ask['value']}\n{turn['value']}" for row in rows
                for ask, turn in pairwise(row["conversations"])
                if ask["from"] == "human" and turn["from"] == "function_call"]
    texts = []
    for row in rows:
        schemas = json.loads(row["tools"]) if row.get("tools") else []
        texts += [json.dumps(s, indent=4, ensure_ascii=False) for s in schemas]
        texts.append("\n".join(turn["value"] for turn in row["conversations"]))
    return texts


def pretrain(model, tokenizer: PreTrainedTokenizerFast, texts: list[str], steps: int,
             batch_size: int, block_size: int, learning_rate: float, seed: int) -> list[float]:
    """A short full-parameter language-model warm-up on plain text, so the stand-in "base"
    knows the words and JSON of the domain like a real pretrained base does."""
    stream = []
    for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]:
        stream += ids + [tokenizer.pad_token_id]  # <|endoftext|> between documents
    blocks = torch.tensor(stream[: len(stream) // block_size * block_size]).view(-1, block_size)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.0)
    model.train()
    losses = []
    for step in tqdm(range(steps), desc="stand-in warm-up", unit="step"):
        batch = blocks[torch.randint(len(blocks), (batch_size,), generator=generator)]
        for group in optimizer.param_groups:  # linear decay to 10%
            group["lr"] = learning_rate * (1 - 0.9 * step / max(steps - 1, 1))
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return losses


def shipped_generation_config(checkpoint: Checkpoint, tokenizer: PreTrainedTokenizerFast) -> GenerationConfig:
    """`checkpoint`'s generation_config.json, with ids of the stand-in's vocabulary."""
    generation = dict(checkpoint.generation)
    bos = generation.pop("bos_token", None)
    return GenerationConfig(eos_token_id=tokenizer.convert_tokens_to_ids(checkpoint.eos_tokens),
                            pad_token_id=tokenizer.pad_token_id,
                            bos_token_id=tokenizer.convert_tokens_to_ids(bos) if bos else None,
                            **generation)


def build_standin(family: Family, rendered: list[str], plain: list[str], shape: dict,
                  settings: dict, out_dir: Path, checkpoint: Checkpoint,
                  warmup: list[str] | None = None) -> dict:
    """Train the tokenizer (on the rendered and the plain texts), initialise with the seed,
    warm up on `warmup` (the plain texts by default), save with what `checkpoint` (the real
    one it stands in for) ships.

    Returns a summary of the warm-up for the manifest.
    """
    tokenizer = train_tokenizer(rendered + plain, family, settings["vocab_size"], checkpoint)
    config = build_config(family, tokenizer, shape, checkpoint)
    torch.manual_seed(settings["seed"])
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    losses = pretrain(model, tokenizer, plain if warmup is None else warmup, settings["pretrain_steps"],
                      settings["pretrain_batch_size"], settings["pretrain_block_size"],
                      settings["pretrain_learning_rate"], settings["seed"])
    model.generation_config = shipped_generation_config(checkpoint, tokenizer)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return {"parameters": model.num_parameters(), "tokenizer_vocab_size": len(tokenizer),
            "pretrain_first_loss": losses[0] if losses else None,
            "pretrain_last_loss": losses[-1] if losses else None}
