"""Optional vLLM backend for evaluate-toolcall (`evaluate.backend: vllm`).

For users who have vLLM (`pip install vllm`, a GPU): the base weights are served once and
the LoRA adapter is applied per request, greedy, with the family's stop tokens. Prompts
go in as token ids from the training tokenizer and outputs are cut at the first stop
token and decoded by that tokenizer, exactly as the transformers path does, so both
backends produce comparable records. The default backend stays pure transformers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from toolcall.evaluation import cut_at_stop, output_record
from toolcall.io import PipelineError, read_json


def engine_arguments(base_dir: Path, adapter: Path | None, max_model_len: int, seed: int) -> dict:
    """Keyword arguments of vllm.LLM for this evaluation."""
    arguments = {"model": str(base_dir), "tokenizer": str(adapter or base_dir), "dtype": "bfloat16",
                 "seed": seed, "max_model_len": max_model_len, "enable_prefix_caching": True,
                 # vLLM's own defaults, not the checkpoint's generation_config.json (which
                 # would add e.g. Qwen2.5-7B-Instruct's repetition_penalty 1.05)
                 "generation_config": "vllm"}
    if adapter is not None:
        config = read_json(adapter / "adapter_config.json")
        if config.get("modules_to_save"):
            raise PipelineError(f"{adapter} trains {config['modules_to_save']} in full; vLLM "
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


def generate_vllm(base_dir: Path, adapter: Path | None, tokenizer, prompts: list[str],
                  stop_ids: list[int], max_new_tokens: int, max_model_len: int,
                  seed: int) -> Iterator[tuple[int, dict]]:
    """Greedy continuations of `prompts` through vLLM, as (prompt index, result)."""
    try:
        from vllm import LLM, SamplingParams  # noqa: PLC0415
        from vllm.lora.request import LoRARequest  # noqa: PLC0415
    except ImportError:
        raise PipelineError("evaluate.backend is vllm but vLLM is not installed: "
                            "`pip install vllm`, or set evaluate.backend: transformers") from None
    llm = LLM(**engine_arguments(base_dir, adapter, max_model_len, seed))
    requests = [{"prompt_token_ids": tokenizer(p, add_special_tokens=False)["input_ids"]}
                for p in prompts]
    lora = LoRARequest("tuned", 1, str(adapter)) if adapter is not None else None
    outputs = llm.generate(requests, SamplingParams(**sampling_arguments(max_new_tokens, stop_ids)),
                           lora_request=lora)
    for i, output in enumerate(outputs):
        yield i, result_of(output.outputs[0].token_ids, stop_ids, tokenizer)
