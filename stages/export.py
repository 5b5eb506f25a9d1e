"""export: one model's tuned result as a folder plain transformers can load.

    python -m stages.export --model glm4-9b        # -> models/glm4-9b/export

With export.merge: true (params.yaml) the adapter is merged into the base weights
(`AutoModelForCausalLM.from_pretrained(folder)` is all a user needs); with false the
folder holds the adapter (load with peft's AutoPeftModelForCausalLM), naming as its base
the hub id and commit it was trained on. Either way the tokenizer is saved with the
project's chat template, so `apply_chat_template(..., tools=...)` renders the training
format (system messages as the family's official template does), and the generation config
stops at every token that ends a turn in the family's format.

The export is then checked: the template renders a tool conversation exactly as training
did, and one greedy generation of the exported model (loaded back from disk) equals the
base+adapter one token for token and goes through the family's parser; a merge also records
the share of each layer's LoRA update that rounding to the weights' dtype removed (a warning
above 10%: bf16 can round a small update away). The result is written to
<folder>/export_check.json.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch
from transformers import GenerationConfig

from toolcall.chat import load_tool_model
from toolcall.evaluation import greedy_config
from toolcall.families import PROBE_MESSAGES, PROBE_TOOLS, Family, template_is_equivalent
from toolcall.io import PipelineError, log, read_json, run_stage, write_json
from toolcall.layout import export_dir, manifest_file, weights_dir
from toolcall.merging import merge_rounding
from toolcall.params import load_params
from toolcall.parsers import get_parser

PROBE_NEW_TOKENS = 32
# Warn when merging loses more than this share of the median layer's update (bf16: README).
ROUNDING_WARNING = 0.1


def probe_prompt(family: Family) -> str:
    """The first user turn of the probe conversation, ready for the assistant's call."""
    return family.render(PROBE_TOOLS, PROBE_MESSAGES[:1], add_generation_prompt=True).text


@torch.inference_mode()
def greedy_tokens(model, tokenizer, prompt: str, stop_ids: list[int]) -> list[int]:
    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"].to(model.device)
    # Passed, not installed as the model's own config: the model is saved afterwards.
    config = greedy_config(PROBE_NEW_TOKENS, stop_ids, tokenizer.pad_token_id)
    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=config)
    return out[0, ids.shape[1]:].tolist()


def export_generation_config(shipped: GenerationConfig, stop_ids: list[int]) -> GenerationConfig:
    """The base's generation config, stopping at every token that ends a turn in the family's
    format: Qwen2.5-7B ships eos <|endoftext|> alone, so a tuned model exported with it would
    run past <|im_end|> in plain `generate`, pipelines and servers."""
    generation = GenerationConfig.from_dict(shipped.to_dict())
    generation.eos_token_id = list(stop_ids)
    return generation


def adapter_base(key: str) -> tuple[str, str | None]:
    """What an adapter-only export names as its base: the hub id and the commit it was trained
    on, or, for a stand-in, a local folder or a registry checkpoint, the absolute path of
    models/<m>/base (never a path relative to this repository)."""
    manifest = read_json(manifest_file(key))
    if manifest["source"] == "hub":
        return manifest["hub_id"], manifest["commit"]
    return str(weights_dir(key).resolve()), None


def export(key: str, out_dir: Path, merge: bool) -> dict:
    tool_model = load_tool_model(key)
    family, tokenizer = tool_model.family, tool_model.tokenizer
    stop_ids = tokenizer.convert_tokens_to_ids(family.stop_tokens)
    prompt = probe_prompt(family)
    expected = greedy_tokens(tool_model.model, tokenizer, prompt, stop_ids)

    shutil.rmtree(out_dir, ignore_errors=True)
    generation = export_generation_config(tool_model.model.generation_config, stop_ids)
    rounding = merge_rounding(tool_model.model) if merge else None
    if rounding and rounding.get("update_lost_median", 0) > ROUNDING_WARNING:
        log.warning("merging into %s weights rounds away a median %.0f%% of each layer's LoRA update "
                    "(max %.0f%%); export.merge: false keeps the adapter exact (README, Merged or not)",
                    rounding["dtype"], 100 * rounding["update_lost_median"],
                    100 * rounding["update_lost_max"])
    if merge:
        merged = tool_model.model.merge_and_unload()
        merged.generation_config = generation
        merged.save_pretrained(out_dir)
    else:
        tool_model.model.peft_config["default"].base_model_name_or_path, \
            tool_model.model.peft_config["default"].revision = adapter_base(key)
        tool_model.model.save_pretrained(out_dir)
        generation.save_pretrained(out_dir)  # for servers and GenerationConfig.from_pretrained
    # The tuned model ends its turns as the family's chat model does, in any library.
    tokenizer.chat_template = family.chat_template
    tokenizer.eos_token = family.chat.eos_token
    tokenizer.save_pretrained(out_dir)

    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415

    if merge:
        reloaded = AutoModelForCausalLM.from_pretrained(out_dir, dtype=next(
            tool_model.model.parameters()).dtype)
    else:
        from peft import AutoPeftModelForCausalLM  # noqa: PLC0415

        reloaded = AutoPeftModelForCausalLM.from_pretrained(out_dir)
    reloaded = reloaded.to(tool_model.model.device).eval()
    reloaded_tokenizer = AutoTokenizer.from_pretrained(out_dir)
    got = greedy_tokens(reloaded, reloaded_tokenizer, prompt, stop_ids)
    parsed = get_parser(family.name)(reloaded_tokenizer.decode(got, skip_special_tokens=False),
                                     PROBE_TOOLS)
    check = {
        "model": key, "merged": merge, "folder": str(out_dir),
        "template_renders_training_format": template_is_equivalent(
            reloaded_tokenizer.chat_template, family),
        "greedy_tokens_match_base_plus_adapter": got == expected,
        "merge_rounding": rounding,
        "probe_new_tokens": len(got), "probe_parse": parsed.as_dict(),
    }
    write_json(out_dir / "export_check.json", check)
    if not (check["template_renders_training_format"] and check["greedy_tokens_match_base_plus_adapter"]):
        raise PipelineError(f"export check failed, see {out_dir / 'export_check.json'}")
    return check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", help="folder (default models/<model>/export)")
    args = parser.parse_args()
    params = load_params()
    params.model(args.model)
    out_dir = Path(args.out) if args.out else export_dir(args.model)
    check = export(args.model, out_dir, params.export.merge)
    log.info("export %s: %s in %s; template ok, greedy tokens match, probe parsed as %s",
             args.model, "merged model" if check["merged"] else "adapter", out_dir,
             check["probe_parse"]["kind"])


if __name__ == "__main__":
    run_stage(main)
