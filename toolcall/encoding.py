"""Tokenize a rendered conversation and mark which tokens carry the loss.

The renderer marks trained *characters*; here each token is trained when its
characters lie inside a trained span. Tokenizing the whole text once (rather than
piece by piece) gives exactly the ids the model sees at inference. A token that
straddles a span boundary would make the mask ambiguous, so it is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from toolcall.families import Rendered


@dataclass
class Encoded:
    input_ids: list[int]
    assistant_masks: list[int]  # 1 = trained (TRL builds labels from this column)


def encode_rendered(rendered: Rendered, tokenizer) -> Encoded:
    enc = tokenizer(rendered.text, add_special_tokens=False, return_offsets_mapping=True)
    mask = []
    spans = rendered.trained
    for start, end in enc["offset_mapping"]:
        inside = any(s <= start and end <= e for s, e in spans)
        overlaps = any(start < e and s < end for s, e in spans)
        if overlaps and not inside:
            raise ValueError(
                f"token at characters {start}-{end} ({rendered.text[start:end]!r}) straddles a "
                "trained-span boundary; the template must put boundaries between tokens"
            )
        mask.append(int(inside))
    return Encoded(list(enc["input_ids"]), mask)


def trained_segments(input_ids: list[int], mask: list[int], tokenizer) -> list[str]:
    """The decoded runs of trained tokens: what the loss actually teaches."""
    segments, run = [], []
    for token_id, bit in zip(input_ids, mask, strict=True):
        if bit:
            run.append(token_id)
        elif run:
            segments.append(tokenizer.decode(run))
            run = []
    if run:
        segments.append(tokenizer.decode(run))
    return segments


def show_mask(input_ids: list[int], mask: list[int], tokenizer) -> str:
    """Plain text of an example with untrained parts in ⟦…⟧, for the finetune log."""
    out, run, run_bit = [], [], None
    for token_id, bit in zip(input_ids, mask, strict=True):
        if run and bit != run_bit:
            text = tokenizer.decode(run)
            out.append(text if run_bit else f"⟦{text}⟧")
            run = []
        run.append(token_id)
        run_bit = bit
    if run:
        text = tokenizer.decode(run)
        out.append(text if run_bit else f"⟦{text}⟧")
    return "".join(out)
