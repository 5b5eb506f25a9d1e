"""Tiny stand-ins of the real architectures, built offline.

A stand-in is a randomly initialised GlmForCausalLM or Qwen2ForCausalLM with a few
small layers, plus a byte-level BPE tokenizer trained on the bundled sample rendered
in the family's own format, carrying the family's special tokens and chat template.
It is written with `save_pretrained`, so every later stage loads it exactly like a
downloaded checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoModelForCausalLM,
    GenerationConfig,
    GlmConfig,
    PreTrainedTokenizerFast,
    Qwen2Config,
)

from toolcall.templates import Family

# The pre-tokenizer split used by Qwen2 and GLM-4 (cl100k style): newlines stand alone,
# so a span boundary after "\n" never falls inside a token.
PRETOKENIZE_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def train_tokenizer(texts: Iterable[str], family: Family, vocab_size: int) -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=family.special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token=family.stop_tokens[0],
        pad_token=family.pad_token,
        additional_special_tokens=[t for t in family.special_tokens if t != family.pad_token],
        padding_side="left",
    )
    fast.chat_template = family.chat_template
    return fast


def build_config(family: Family, tokenizer: PreTrainedTokenizerFast, shape: dict):
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=shape["hidden_size"],
        num_hidden_layers=shape["num_hidden_layers"],
        num_attention_heads=shape["num_attention_heads"],
        num_key_value_heads=shape["num_key_value_heads"],
        intermediate_size=shape["intermediate_size"],
        max_position_embeddings=shape["max_position_embeddings"],
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.convert_tokens_to_ids(family.stop_tokens),
        tie_word_embeddings=False,
    )
    if family.name == "glm4":
        return GlmConfig(head_dim=shape["hidden_size"] // shape["num_attention_heads"], **common)
    return Qwen2Config(**common)


def build_standin(
    family: Family, texts: list[str], shape: dict, vocab_size: int, seed: int, out_dir: Path
) -> None:
    """Train the tokenizer, initialise the model with `seed`, save both to out_dir."""
    tokenizer = train_tokenizer(texts, family, vocab_size)
    config = build_config(family, tokenizer, shape)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.generation_config = GenerationConfig(
        eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id, do_sample=False
    )
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
