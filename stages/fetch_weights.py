"""fetch-weights: the base checkpoint of one model, in models/<model>/base (or, with
--variant chat, the model's chat reference from params.chat_references in models/<model>/chat).

weights: hub  -> the checkpoint resolve-weights pinned in models/<model>/base.source.json, from
                 where models.<model>.weights_from says (toolcall/checkpoints.py): the hub
                 (huggingface_hub's own cache first, which DVC never removes, so an interrupted
                 download resumes; HF_TOKEN is read from the environment, never written
                 anywhere), a local folder, or a pinned registry artefact converted once. Chat
                 references always come from the hub. The files are hard-linked (no second
                 copy) into models/<model>/<variant>; the manifest records where they came from.
weights: standin -> a tiny random model of the same family with a tokenizer trained
                 offline on the bundled sample (toolcall.standins).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from toolcall.checkpoints import materialize, resolve
from toolcall.families import get_family
from toolcall.glaive import CleaningRules, clean_row, decode_conversation
from toolcall.io import PipelineError, log, read_json, run_stage, write_json
from toolcall.layout import manifest_file, weights_dir, weights_source_file
from toolcall.params import ModelParams, Params, load_params
from toolcall.sample_data import make_sample

# A checkpoint needs these to load; weights may be *.safetensors shards or one file.
REQUIRED_FILES = ["config.json", "tokenizer_config.json"]


def build_standin_checkpoint(params: Params, model: ModelParams, variant: str, stands_in_for: str,
                             out_dir: Path) -> dict:
    from toolcall.standins import SHAPE_KEYS, build_standin, plain_texts  # noqa: PLC0415

    family = get_family(model.family)
    settings = vars(params.standin)
    # The stand-in's own "pretraining" corpus: conversations of the bundled sample's kind,
    # drawn with another seed, so it has never read a conversation of the sample (nor of
    # its test split).
    rows = make_sample(settings["pretrain_conversations"], seed=settings["seed"])
    keep_all = CleaningRules(drop_unknown_arguments=False, drop_missing_required=False,
                             drop_unoffered_calls=False)
    rendered = [family.render(*decode_conversation(clean_row(r, keep_all)[0])).text
                for r in rows]
    shape = {k: settings[k] for k in SHAPE_KEYS}
    checkpoint = family.chat if variant == "chat" else family.base
    summary = build_standin(family, rendered, plain_texts(rows), shape, settings, out_dir,
                            checkpoint, plain_texts(rows, settings["pretrain_text"]))
    return {"source": "standin", "stands_in_for": stands_in_for, "mirrors": checkpoint.hub_id,
            "family": model.family,
            **settings, **summary}


def check_checkpoint(out_dir: Path) -> None:
    missing = [f for f in REQUIRED_FILES if not (out_dir / f).exists()]
    if not any(out_dir.glob("*.safetensors")):
        missing.append("*.safetensors")
    if missing:
        raise PipelineError(f"{out_dir} lacks {missing}: the download is incomplete; rerun")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--variant", choices=["base", "chat"], default="base")
    args = parser.parse_args()
    params = load_params()
    model = params.model(args.model)
    out_dir = weights_dir(args.model, args.variant)
    if params.weights == "standin":
        shutil.rmtree(out_dir, ignore_errors=True)
        hub_id = (params.chat_references[args.model] if args.variant == "chat" else model).hub_id
        manifest = build_standin_checkpoint(params, model, args.variant, hub_id, out_dir)
    else:
        if args.variant == "chat":
            reference = params.chat_references[args.model]
            manifest = resolve("hub", reference.hub_id, reference.revision)
        else:
            manifest = read_json(weights_source_file(args.model))
        materialize(manifest, out_dir)
        manifest = {**manifest, "family": model.family}
    check_checkpoint(out_dir)
    write_json(manifest_file(args.model, args.variant), manifest)
    log.info("fetch-weights %s %s: %s ready in %s", args.model, args.variant, manifest["source"],
             out_dir)


if __name__ == "__main__":
    run_stage(main)
