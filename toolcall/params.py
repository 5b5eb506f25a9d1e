"""params.yaml as typed dataclasses, validated before any stage does work.

A mistake (unknown key, wrong type, impossible value) raises `ParamsError` naming the
key, the value and what is allowed; stages turn it into one line and exit code 2.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML, YAMLError

from toolcall.families import FAMILY_NAMES
from toolcall.glaive import CleaningRules


class ParamsError(ValueError):
    pass


def _check(ok: bool, key: str, value: object, allowed: str) -> None:
    if not ok:
        raise ParamsError(f"params.yaml: {key} = {value!r} is not allowed: expected {allowed}")


@dataclass(frozen=True)
class DatasetParams:
    # Local .json/.jsonl(.gz) files or hub data set ids (llamafactory/glaive_toolcall_zh), one
    # or a list: each is cleaned and counted on its own, then they are split together.
    source: str | list[str]
    hub_revision: str
    hub_split: str
    test_fraction: float
    cleaning: CleaningRules
    over_length: str  # rows over a model's max_length: "drop" or "split" at user turns
    max_over_length_share: float  # fail when more rows than this exceed a model's max_length
    near_duplicate_similarity: float  # no-call conversations opening this similarly share a split
    max_rejected_share: float  # fail when more source rows than this are rejected
    min_test_conversations: int  # fail when the test split holds fewer
    max_rows: int | None = None

    @property
    def sources(self) -> list[str]:
        return [self.source] if isinstance(self.source, str) else list(self.source)

    def validate(self, key: str) -> None:
        _check(bool(self.sources) and all(self.sources), f"{key}.source", self.source,
               "a file path or hub id, or a list of them")
        _check(0 < self.test_fraction < 1, f"{key}.test_fraction", self.test_fraction,
               "a number between 0 and 1")
        _check(self.over_length in ("drop", "split"), f"{key}.over_length", self.over_length,
               "'drop' or 'split'")
        _check(0 <= self.max_over_length_share <= 1, f"{key}.max_over_length_share",
               self.max_over_length_share, "a share between 0 and 1")
        _check(0 < self.near_duplicate_similarity <= 1, f"{key}.near_duplicate_similarity",
               self.near_duplicate_similarity, "a similarity in (0, 1]; 1 links identical openings only")
        _check(0 <= self.max_rejected_share <= 1, f"{key}.max_rejected_share",
               self.max_rejected_share, "a share between 0 and 1")
        _check(self.min_test_conversations >= 1, f"{key}.min_test_conversations",
               self.min_test_conversations, "a positive integer")
        _check(self.max_rows is None or self.max_rows > 0, f"{key}.max_rows", self.max_rows,
               "a positive integer or null")


@dataclass(frozen=True)
class StandinParams:
    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    intermediate_size: int
    max_position_embeddings: int
    initializer_range: float  # std of the random init
    seed: int
    pretrain_conversations: int  # generated conversations whose plain text the warm-up reads
    pretrain_steps: int  # full-parameter warm-up on plain text (the stand-in's "pretraining")
    pretrain_batch_size: int
    pretrain_block_size: int
    pretrain_learning_rate: float
    pretrain_text: str = "requests"  # what the warm-up reads (toolcall.standins.plain_texts)

    def validate(self, key: str) -> None:
        _check(self.pretrain_text in ("requests", "conversations"), f"{key}.pretrain_text",
               self.pretrain_text, "'requests' or 'conversations'")
        _check(self.initializer_range > 0, f"{key}.initializer_range", self.initializer_range, "> 0")
        _check(self.pretrain_steps >= 0, f"{key}.pretrain_steps", self.pretrain_steps, ">= 0")
        for name in ("pretrain_conversations", "pretrain_batch_size", "pretrain_block_size",
                     "pretrain_learning_rate", "vocab_size", "hidden_size", "num_hidden_layers",
                     "num_attention_heads", "num_key_value_heads", "intermediate_size",
                     "max_position_embeddings"):
            _check(getattr(self, name) > 0, f"{key}.{name}", getattr(self, name), "> 0")
        _check(self.hidden_size % self.num_attention_heads == 0, f"{key}.hidden_size",
               self.hidden_size, "a multiple of num_attention_heads")
        _check(self.num_attention_heads % self.num_key_value_heads == 0,
               f"{key}.num_key_value_heads", self.num_key_value_heads,
               "a divisor of num_attention_heads")


@dataclass(frozen=True)
class LoraParams:
    r: int
    alpha: int
    dropout: float
    target_modules: list[str] | str  # a list of module names, or "all-linear"
    # Modules trained in full next to the adapters (e.g. embed_tokens, lm_head), as
    # LLaMA-Factory's additional_target; saved with the adapter.
    modules_to_save: list[str] = field(default_factory=list)
    # Train the embedding and output rows of the family's format tokens (and only those).
    train_format_tokens: bool = False

    def validate(self, key: str) -> None:
        _check(self.r > 0, f"{key}.r", self.r, "a positive integer (LoRA rank)")
        _check(not (self.train_format_tokens and self.modules_to_save), f"{key}.train_format_tokens",
               self.train_format_tokens, "false when modules_to_save trains whole matrices")
        _check(self.alpha > 0, f"{key}.alpha", self.alpha, "a positive integer")
        _check(0 <= self.dropout < 1, f"{key}.dropout", self.dropout, "0 <= dropout < 1")


# sdpa: PyTorch's SDPA, packed rows kept apart by a block-diagonal mask; flash_attention_2:
# the flash-attn package's varlen kernels; torch_varlen: PyTorch's own flash varlen kernel
# (toolcall/attention.py).
ATTENTION_IMPLEMENTATIONS = ("sdpa", "flash_attention_2", "torch_varlen")
# transformers' schedulers that need no arguments beyond the step counts (tests/test_params.py
# builds each with transformers.get_scheduler); checked here, before DVC deletes an adapter.
LR_SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant",
                 "constant_with_warmup", "inverse_sqrt")


@dataclass(frozen=True)
class TrainParams:
    max_length: int  # tokens per training row; longer rows follow dataset.over_length
    learning_rate: float
    max_steps: int  # -1: run num_train_epochs
    num_train_epochs: float
    per_device_train_batch_size: int
    gradient_accumulation_steps: int
    warmup_steps: int | float  # a share of all steps when below 1, else a step count
    weight_decay: float
    lr_scheduler_type: str
    logging_steps: int
    eval_steps: int
    save_steps: int  # checkpoint period; an interrupted run resumes from the last one
    packing: bool  # pack whole rows into max_length tokens, no attention across them
    gradient_checkpointing: bool = False
    attn_implementation: str = "sdpa"  # or flash_attention_2 (flash-attn package), torch_varlen

    def validate(self, key: str) -> None:
        _check(self.max_length >= 256, f"{key}.max_length", self.max_length,
               ">= 256 tokens (the tool system prompt alone is ~235 tokens)")
        _check(self.attn_implementation in ATTENTION_IMPLEMENTATIONS, f"{key}.attn_implementation",
               self.attn_implementation, f"one of {ATTENTION_IMPLEMENTATIONS}")
        _check(self.packing or self.attn_implementation != "torch_varlen",
               f"{key}.attn_implementation", self.attn_implementation,
               "sdpa or flash_attention_2 without packing (torch_varlen takes packed rows only)")
        _check(self.learning_rate > 0, f"{key}.learning_rate", self.learning_rate, "> 0")
        _check(self.lr_scheduler_type in LR_SCHEDULERS, f"{key}.lr_scheduler_type",
               self.lr_scheduler_type, f"one of {LR_SCHEDULERS}")
        _check(self.num_train_epochs > 0, f"{key}.num_train_epochs", self.num_train_epochs, "> 0")
        _check(self.max_steps == -1 or self.max_steps > 0, f"{key}.max_steps", self.max_steps,
               "-1 (use num_train_epochs) or a positive integer")
        for name in ("per_device_train_batch_size", "gradient_accumulation_steps",
                     "logging_steps", "eval_steps", "save_steps"):
            _check(getattr(self, name) > 0, f"{key}.{name}", getattr(self, name), "> 0")
        _check(self.warmup_steps >= 0, f"{key}.warmup_steps", self.warmup_steps, ">= 0")


@dataclass(frozen=True)
class ModelParams:
    family: str
    hub_id: str  # the checkpoint's hub name (what a stand-in stands in for)
    revision: str
    # This model's own values for single keys of the shared `train` / `lora` blocks.
    train: dict = field(default_factory=dict)
    lora: dict = field(default_factory=dict)
    # Where the base weights come from (toolcall/checkpoints.py): "hub" (hub_id at revision),
    # a local folder, or "registry:<name>" (a pinned checkpoint file in a package release).
    weights_from: str = "hub"

    def validate(self, key: str) -> None:
        _check(self.family in FAMILY_NAMES, f"{key}.family", self.family,
               f"one of {list(FAMILY_NAMES)} (the modules of toolcall/families/)")
        _check(bool(self.weights_from), f"{key}.weights_from", self.weights_from,
               "hub, a local folder, or registry:<name>")


@dataclass(frozen=True)
class HubCheckpoint:
    hub_id: str
    revision: str


@dataclass(frozen=True)
class EvaluateParams:
    max_new_tokens: int
    batch_size: int
    max_prompt_tokens: int
    bootstrap_samples: int
    static_cache: bool  # preallocated KV cache, decode compiled with CUDA graphs on a GPU
    merge_adapter: bool  # fold the LoRA adapter into the weights before generating
    backend: str = "transformers"  # or "vllm" (optional install, a GPU)

    def validate(self, key: str) -> None:
        _check(self.backend in ("transformers", "vllm"), f"{key}.backend", self.backend,
               "'transformers' or 'vllm'")
        for name in ("max_new_tokens", "batch_size", "max_prompt_tokens"):
            _check(getattr(self, name) > 0, f"{key}.{name}", getattr(self, name), "> 0")
        _check(self.bootstrap_samples >= 0, f"{key}.bootstrap_samples",
               self.bootstrap_samples, ">= 0")


@dataclass(frozen=True)
class DistributedParams:
    num_processes: int  # > 1: finetune and generate run under accelerate launch
    accelerate_config: str  # configs/accelerate/{ddp,zero2,zero3,zero3_offload}.yaml

    def validate(self, key: str) -> None:
        _check(self.num_processes >= 1, f"{key}.num_processes", self.num_processes, ">= 1")
        _check(Path(self.accelerate_config).is_file() or self.num_processes == 1,
               f"{key}.accelerate_config", self.accelerate_config,
               "an accelerate config file, e.g. configs/accelerate/ddp.yaml")


@dataclass(frozen=True)
class BfclParams:
    categories: list[str]  # BFCL v4 single-turn categories asked
    max_per_category: int | None  # a seeded sample of each (null: all 3,491 questions)

    def validate(self, key: str) -> None:
        # The category names are checked by prepare-bfcl, against toolcall/bfcl.py: importing
        # that here would make every stage depend on BFCL's code.
        _check(self.max_per_category is None or self.max_per_category > 0,
               f"{key}.max_per_category", self.max_per_category, "a positive integer or null")


@dataclass(frozen=True)
class ExportParams:
    merge: bool  # merge the adapter into the base weights, or export the adapter alone


@dataclass(frozen=True)
class Params:
    weights: str  # standin | hub
    seed: int
    dataset: DatasetParams
    standin: StandinParams
    train: TrainParams  # shared by every model; models.<m>.train overrides single keys
    lora: LoraParams  # shared by every model; models.<m>.lora overrides single keys
    standin_train: dict  # applied last when weights: standin (tiny random models learn faster)
    standin_lora: dict
    models: dict[str, ModelParams]
    evaluate: EvaluateParams
    bfcl: BfclParams
    export: ExportParams  # `python -m stages.export` (not a pipeline stage)
    distributed: DistributedParams
    # Optional: an official chat checkpoint per model, evaluated untrained as a reference.
    chat_references: dict[str, HubCheckpoint] = field(default_factory=dict)

    def validate(self) -> None:
        _check(self.weights in ("standin", "hub"), "weights", self.weights, "'standin' or 'hub'")
        _check(bool(self.models), "models", self.models, "at least one model")
        self.dataset.validate("dataset")
        self.standin.validate("standin")
        self.evaluate.validate("evaluate")
        self.bfcl.validate("bfcl")
        self.train.validate("train")
        self.lora.validate("lora")
        self.distributed.validate("distributed")
        _check(self.evaluate.backend == "transformers" or self.distributed.num_processes == 1,
               "evaluate.backend", self.evaluate.backend,
               "'transformers' with distributed.num_processes > 1 (vLLM spreads over GPUs itself)")
        for key, model in self.models.items():
            _check("." not in key, "models", key, "model keys without '.': DVC splits params paths "
                   "on '.', so it could not track models.<key> (write qwen2_5-7b, not qwen2.5-7b)")
            model.validate(f"models.{key}")
            for weights in ("hub", "standin"):
                self.train_for(key, weights)
                self.lora_for(key, weights)
        for key in self.chat_references:
            _check(key in self.models, f"chat_references.{key}", key,
                   f"the key of a model under models: {sorted(self.models)}")

    def model(self, key: str) -> ModelParams:
        if key not in self.models:
            raise ParamsError(f"params.yaml: no model {key!r} under models: have {sorted(self.models)}")
        return self.models[key]

    def train_for(self, key: str, weights: str | None = None) -> TrainParams:
        """The training settings in effect for one model: shared `train`, then the model's
        own `train`, then (stand-ins only) `standin_train`."""
        layers = [(self.model(key).train, f"models.{key}.train")]
        if (weights or self.weights) == "standin":
            layers.append((self.standin_train, "standin_train"))
        return _override(TrainParams, self.train, layers)

    def lora_for(self, key: str, weights: str | None = None) -> LoraParams:
        """The LoRA settings in effect for one model, layered like `train_for`."""
        layers = [(self.model(key).lora, f"models.{key}.lora")]
        if (weights or self.weights) == "standin":
            layers.append((self.standin_lora, "standin_lora"))
        return _override(LoraParams, self.lora, layers)


def _override(cls, shared, layers: list[tuple[dict, str]]):
    """`shared` with each layer's keys replaced in turn; errors name the layer's key."""
    settings = shared
    for overrides, key in layers:
        settings = _build(cls, {**dataclasses.asdict(settings), **overrides}, key)
        settings.validate(key)
    return settings


def _matches(value: object, annotation: object) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is float:  # .inf and .nan are floats, but never a usable setting
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is list:
        (item,) = typing.get_args(annotation)
        return isinstance(value, list) and all(_matches(v, item) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    return isinstance(value, annotation)


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _build(cls, data: object, key: str):
    """Build dataclass `cls` from a YAML mapping, checking keys and types."""
    if not isinstance(data, dict):
        raise ParamsError(f"params.yaml: {key} must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ParamsError(f"params.yaml: unknown key {_join(key, unknown[0])}: allowed keys are "
                          f"{sorted(fields)}")
    values = {}
    for name, f in fields.items():
        sub = _join(key, name)
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ParamsError(f"params.yaml: missing key {sub}")
            continue
        hint, value = hints[name], data[name]
        if dataclasses.is_dataclass(hint):
            values[name] = _build(hint, value, sub)
        elif typing.get_origin(hint) is dict and dataclasses.is_dataclass(typing.get_args(hint)[1]):
            if not isinstance(value, dict):
                raise ParamsError(f"params.yaml: {sub} must be a mapping, got {value!r}")
            item_cls = typing.get_args(hint)[1]
            values[name] = {k: _build(item_cls, v, f"{sub}.{k}") for k, v in value.items()}
        elif _matches(value, hint):
            values[name] = float(value) if hint is float else value
        else:
            raise ParamsError(f"params.yaml: {sub} = {value!r} has the wrong type: expected "
                              f"{getattr(hint, '__name__', hint)}{_type_hint(value)}")
    return cls(**values)


def _type_hint(value: object) -> str:
    """Why a value that looks right was read as something else."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return ""
        return " (a quoted number is a string: remove the quotes)"
    if isinstance(value, float) and not math.isfinite(value):
        return " (a finite number)"
    return ""


def parse_params(data: object) -> Params:
    params = _build(Params, data, "")
    params.validate()
    return params


def load_params(path: str | Path = "params.yaml") -> Params:
    """params.yaml read as DVC reads it (YAML 1.2, ruamel.yaml): `1e-4` is a number to both,
    where PyYAML's YAML 1.1 would make it a string that DVC tracks as a number."""
    try:
        data = YAML(typ="safe", pure=True).load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{path} not found: run from the project root") from None
    except YAMLError as e:
        raise ParamsError(f"{path} is not valid YAML: {e}") from None
    return parse_params(data)
