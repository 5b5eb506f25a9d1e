"""Model shapes for the speed benchmarks: the real checkpoints' configs (random weights:
speed does not depend on the values, and nothing is downloaded), or the stand-in shape
from params.yaml for a quick run on a CPU."""

from __future__ import annotations

import argparse

import torch
from transformers import PretrainedConfig

from toolcall.families import get_family
from toolcall.params import load_params
from toolcall.standins import SHAPE_KEYS


def real_config(key: str) -> PretrainedConfig:
    """The published checkpoint's config of the model's family (toolcall/families/)."""
    return get_family(load_params().model(key).family).architecture.real()


def standin_config(key: str) -> PretrainedConfig:
    params = load_params()
    shape = {k: getattr(params.standin, k) for k in SHAPE_KEYS}
    family = get_family(params.model(key).family)
    return family.architecture.stand_in(params.standin.vocab_size, 0, [1], shape)


def narrow_config(key: str) -> PretrainedConfig:
    """The real model's structure (every layer and head, so the same operators per step) at
    a width a CPU runs quickly: for counting what a decode step launches, not for timing."""
    config = real_config(key)
    config.head_dim = 8
    config.hidden_size = config.num_attention_heads * 8
    config.intermediate_size = 2 * config.hidden_size
    return config


def config_for(shape: str, key: str) -> PretrainedConfig:
    return {"real": lambda: real_config(key), "standin": lambda: standin_config(key),
            "narrow": lambda: narrow_config(key)}[shape]()


def random_model(config: PretrainedConfig, device: str, dtype: torch.dtype,
                 attn_implementation: str = "sdpa"):
    """A model of this shape with random weights, built directly on `device`."""
    from transformers import AutoModelForCausalLM  # noqa: PLC0415

    torch.manual_seed(0)
    with torch.device(device):
        return AutoModelForCausalLM.from_config(config, dtype=dtype,
                                                attn_implementation=attn_implementation)


def head_dim(config: PretrainedConfig) -> int:
    return getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads


def matmul_params(config: PretrainedConfig) -> int:
    """Parameters in matrix multiplies per token: every linear layer and the LM head
    (not the embedding lookup, not norms)."""
    d, layers = config.hidden_size, config.num_hidden_layers
    q = config.num_attention_heads * head_dim(config)
    kv = config.num_key_value_heads * head_dim(config)
    attention = d * (q + 2 * kv) + q * d
    mlp = 3 * d * config.intermediate_size
    return layers * (attention + mlp) + d * config.vocab_size


def attention_width(config: PretrainedConfig) -> int:
    return config.num_hidden_layers * config.num_attention_heads * head_dim(config)


def placeholder_tokenizer(config: PretrainedConfig):
    """The trainer needs a tokenizer for the pad and end ids only: the benchmark's rows
    are token ids already."""
    from tokenizers import Tokenizer  # noqa: PLC0415
    from tokenizers.models import WordLevel  # noqa: PLC0415
    from transformers import PreTrainedTokenizerFast  # noqa: PLC0415

    eos = config.eos_token_id[0] if isinstance(config.eos_token_id, list) else config.eos_token_id
    vocab = {"<pad>": config.pad_token_id, "<eos>": eos, "<unk>": config.vocab_size - 1}
    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer(WordLevel(vocab, unk_token="<unk>")),
                                   pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")


def benchmark_parser(doc: str) -> argparse.ArgumentParser:
    """The options every benchmark has: which shapes and which models."""
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=["real", "standin", "narrow"], default="real",
                        help="real: the checkpoints' shapes (a GPU); standin: params.yaml's; "
                             "narrow: every real layer at a tiny width (counting operators)")
    parser.add_argument("--models", nargs="+", default=list(load_params().models))
    return parser
