"""Model shapes for the speed benchmarks: the real checkpoints' configs (random weights:
speed does not depend on the values, and nothing is downloaded), or the stand-in shape
from params.yaml for a quick run on a CPU."""

from __future__ import annotations

import argparse
import copy

import torch
from transformers import GlmConfig, PretrainedConfig, Qwen2Config

from toolcall.params import load_params

# From THUDM/glm-4-9b-hf and Qwen/Qwen2.5-7B config.json.
REAL = {
    "glm4-9b": GlmConfig(
        vocab_size=151552, hidden_size=4096, intermediate_size=13696, num_hidden_layers=40,
        num_attention_heads=32, num_key_value_heads=2, head_dim=128, partial_rotary_factor=0.5,
        attention_bias=True, rms_norm_eps=1.5625e-07, max_position_embeddings=131072,
        pad_token_id=151329, eos_token_id=[151329, 151336, 151338], tie_word_embeddings=False),
    "qwen2_5-7b": Qwen2Config(
        vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
        num_attention_heads=28, num_key_value_heads=4, rope_theta=1e6, rms_norm_eps=1e-6,
        max_position_embeddings=131072, pad_token_id=151643, eos_token_id=[151643, 151645],
        tie_word_embeddings=False),
}


def standin_config(key: str) -> PretrainedConfig:
    params = load_params()
    shape = params.standin
    common = dict(vocab_size=shape.vocab_size, hidden_size=shape.hidden_size,
                  intermediate_size=shape.intermediate_size,
                  num_hidden_layers=shape.num_hidden_layers,
                  num_attention_heads=shape.num_attention_heads,
                  num_key_value_heads=shape.num_key_value_heads,
                  max_position_embeddings=shape.max_position_embeddings, pad_token_id=0,
                  eos_token_id=[1], tie_word_embeddings=False)
    if params.model(key).family == "glm4":
        return GlmConfig(head_dim=shape.hidden_size // shape.num_attention_heads, **common)
    return Qwen2Config(**common)


def narrow_config(key: str) -> PretrainedConfig:
    """The real model's structure (every layer and head, so the same operators per step) at
    a width a CPU runs quickly: for counting what a decode step launches, not for timing."""
    config = copy.deepcopy(REAL[key])
    config.head_dim = 8
    config.hidden_size = config.num_attention_heads * 8
    config.intermediate_size = 2 * config.hidden_size
    return config


def config_for(shape: str, key: str) -> PretrainedConfig:
    return {"real": lambda: REAL[key], "standin": lambda: standin_config(key),
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
    parser.add_argument("--models", nargs="+", default=list(REAL))
    return parser
