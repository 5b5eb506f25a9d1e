"""Optional vLLM backend for the generate stage (`evaluate.backend: vllm`).

For users who have vLLM (`pip install vllm`, a GPU): one engine holds the base weights and
serves every variant of the stage, the tuned one through its LoRA adapter per request (vLLM
does not reliably free an engine inside one process, so never build a second). Greedy, with
the family's stop tokens. Prompts go in as token ids from the training tokenizer and outputs
are cut at the first stop token and decoded by that tokenizer, exactly as the transformers
path does, so both backends produce comparable records. The default backend stays pure
transformers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from toolcall.evaluation import cut_at_stop, output_record
from toolcall.io import PipelineError, read_json


def engine_arguments(base_dir: Path, adapter: Path | None, max_model_len: int, seed: int) -> dict:
    """Keyword arguments of vllm.LLM: the base weights, and LoRA serving when an adapter
    will be asked for."""
    arguments = {"model": str(base_dir), "tokenizer": str(base_dir), "dtype": "bfloat16",
                 "seed": seed, "max_model_len": max_model_len, "enable_prefix_caching": True,
                 # vLLM's own defaults, not the checkpoint's generation_config.json (which
                 # would add e.g. Qwen2.5-7B-Instruct's repetition_penalty 1.05)
                 "generation_config": "vllm"}
    if adapter is not None:
        config = read_json(adapter / "adapter_config.json")
        trained = config.get("modules_to_save") or config.get("trainable_token_indices")
        if trained:
            raise PipelineError(f"{adapter} also trains {trained} (embedding or output rows); vLLM "
                                "serves LoRA matrices only: use evaluate.backend: transformers")
        arguments.update(enable_lora=True, max_lora_rank=config["r"], max_loras=1)
    return arguments


def sampling_arguments(max_new_tokens: int, stop_ids: list[int]) -> dict:
    """Keyword arguments of vllm.SamplingParams: greedy, stopping at the family's tokens."""
    return {"temperature": 0.0, "repetition_penalty": 1.0, "presence_penalty": 0.0,
            "frequency_penalty": 0.0, "max_tokens": max_new_tokens, "stop_token_ids": stop_ids,
            "skip_special_tokens": False}


def result_of(token_ids: list[int], stop_ids: list[int], tokenizer) -> dict:
    """A vLLM completion as the transformers path reports one."""
    return output_record(tokenizer, *cut_at_stop(list(token_ids), set(stop_ids)))


def vllm_engine(base_dir: Path, adapter: Path | None, max_model_len: int, seed: int):
    """The one engine of a generate stage (LoRA enabled when `adapter` will be served)."""
    try:
        from vllm import LLM  # noqa: PLC0415
    except ImportError:
        raise PipelineError("evaluate.backend is vllm but vLLM is not installed: "
                            "`pip install vllm`, or set evaluate.backend: transformers") from None
    return LLM(**engine_arguments(base_dir, adapter, max_model_len, seed))


def generate_vllm(engine, tokenizer, prompts: list[str], stop_ids: list[int],
                  max_new_tokens: int, adapter: Path | None) -> Iterator[tuple[int, dict]]:
    """Greedy continuations of `prompts` through `engine`, as (prompt index, result); with
    the LoRA adapter applied when `adapter` is given, the base weights alone otherwise."""
    from vllm import SamplingParams  # noqa: PLC0415
    from vllm.lora.request import LoRARequest  # noqa: PLC0415

    requests = [{"prompt_token_ids": tokenizer(p, add_special_tokens=False)["input_ids"]}
                for p in prompts]
    lora = LoRARequest("tuned", 1, str(adapter)) if adapter is not None else None
    outputs = engine.generate(requests, SamplingParams(**sampling_arguments(max_new_tokens, stop_ids)),
                              lora_request=lora)
    for i, output in enumerate(outputs):
        yield i, result_of(output.outputs[0].token_ids, stop_ids, tokenizer)
