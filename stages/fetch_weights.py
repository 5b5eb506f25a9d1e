"""fetch-weights: the base checkpoint of one model, in models/<model>/base (or, with
--variant chat, the model's chat reference from params.chat_references in models/<model>/chat).

weights: hub  -> huggingface_hub.snapshot_download of hub_id at revision (pinned to the
                 resolved commit, recorded in models/<model>/<variant>.manifest.json; HF_TOKEN
                 is read from the environment by huggingface_hub, never written anywhere).
                 Files land in huggingface_hub's own cache first (HF_HOME), which DVC does not
                 remove before a rerun, so an interrupted download resumes where it stopped;
                 they are then hard-linked (no second copy) into models/<model>/<variant>.
weights: standin -> a tiny random model of the same family with a tokenizer trained
                 offline on the bundled sample (toolcall.standins).
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from toolcall.families import get_family
from toolcall.glaive import CleaningRules, clean_row, decode_conversation
from toolcall.io import PipelineError, log, run_stage, write_json
from toolcall.layout import manifest_file, weights_dir
from toolcall.params import HubCheckpoint, ModelParams, Params, load_params
from toolcall.sample_data import make_sample
from toolcall.sources import COMMIT

# A checkpoint needs these to load; weights may be *.safetensors shards or one file.
REQUIRED_FILES = ["config.json", "tokenizer_config.json"]


def download_from_hub(model: ModelParams | HubCheckpoint, out_dir: Path) -> dict:
    """snapshot_download pinned to the commit the revision resolves to."""
    from huggingface_hub import HfApi, snapshot_download  # noqa: PLC0415
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError  # noqa: PLC0415

    try:
        # A revision that is a commit needs no network (HF_HUB_OFFLINE=1 and a warm cache)
        commit = model.revision if COMMIT.fullmatch(model.revision) else HfApi().model_info(
            model.hub_id, revision=model.revision).sha
        snapshot = snapshot_download(model.hub_id, revision=commit,
                                     allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt",
                                                     "*.tiktoken", "*.py", "*.jinja"])
    except GatedRepoError:
        raise PipelineError(f"{model.hub_id} is gated: accept its licence on the hub and "
                            "export HF_TOKEN") from None
    except RepositoryNotFoundError:
        raise PipelineError(f"{model.hub_id} not found (or private without HF_TOKEN)") from None
    except OSError as e:  # connection errors are OSErrors in requests/httpx
        raise PipelineError(f"could not download {model.hub_id}@{model.revision}: {e}. "
                            "Check the network (HF_ENDPOINT for a mirror) and rerun: finished "
                            "files are kept and the download resumes") from None
    link_tree(Path(snapshot), out_dir)
    return {"source": "hub", "hub_id": model.hub_id, "revision": model.revision,
            "commit": commit}


def link_tree(source: Path, out_dir: Path) -> None:
    """Every file of `source` (a hub snapshot: symlinks into the blob store) at the same
    place under `out_dir`, hard-linked where the file system allows, copied otherwise."""
    shutil.rmtree(out_dir, ignore_errors=True)
    for path in source.rglob("*"):
        if path.is_dir():
            continue
        target = out_dir / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path.resolve(), target)
        except OSError:  # another file system
            shutil.copy2(path.resolve(), target)


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
    elif args.variant == "chat":
        manifest = download_from_hub(params.chat_references[args.model], out_dir)
    else:
        manifest = download_from_hub(model, out_dir)
    check_checkpoint(out_dir)
    write_json(manifest_file(args.model, args.variant), manifest)
    log.info("fetch-weights %s %s: %s ready in %s", args.model, args.variant, manifest["source"],
             out_dir)


if __name__ == "__main__":
    run_stage(main)
