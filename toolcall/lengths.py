"""Length policy: rows longer than max_length are dropped or split, never truncated.

Splitting happens at user-turn boundaries only: every piece is rendered again with the
full tool prompt, so no piece is cut inside the system prompt, a schema or a call.
Each piece keeps the conversation's tools and starts with a user turn.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from toolcall.encoding import Encoded, encode_rendered
from toolcall.families import Family
from toolcall.glaive import decode_conversation

DROP, SPLIT = "drop", "split"


def user_turn_segments(messages: list[dict]) -> list[list[dict]]:
    """Messages grouped into exchanges, each starting at a user turn."""
    segments: list[list[dict]] = []
    for message in messages:
        if message["role"] == "user" or not segments:
            segments.append([])
        segments[-1].append(message)
    return segments


@dataclasses.dataclass
class LengthReport:
    lengths: list[int]  # token length of every whole conversation, before the policy
    rows_over_max_length: int = 0
    pieces_from_splits: int = 0
    exchanges_dropped: int = 0  # single exchanges that alone exceed max_length
    rows_losing_content: int = 0  # rows dropped whole, or split with an exchange dropped


def fit_to_length(conversations: list[dict], family: Family, tokenizer, max_length: int,
                  policy: str) -> tuple[list[Encoded], LengthReport]:
    """Encode every conversation; apply `policy` ("drop" or "split") to the long ones."""
    encode: Callable[[list, list], Encoded] = lambda tools, messages: encode_rendered(  # noqa: E731
        family.render(tools, messages), tokenizer)
    examples, report = [], LengthReport(lengths=[])
    for conversation in conversations:
        tools, messages = decode_conversation(conversation)
        whole = encode(tools, messages)
        report.lengths.append(len(whole.input_ids))
        if len(whole.input_ids) <= max_length:
            examples.append(whole)
            continue
        report.rows_over_max_length += 1
        if policy == DROP:
            report.rows_losing_content += 1
            continue
        piece: list[dict] = []
        dropped_before = report.exchanges_dropped
        for segment in user_turn_segments(messages):
            if piece and len(encode(tools, piece + segment).input_ids) > max_length:
                examples.append(encode(tools, piece))
                report.pieces_from_splits += 1
                piece = []
            if len(encode(tools, segment).input_ids) > max_length:
                report.exchanges_dropped += 1
                continue
            piece += segment
        if piece:
            examples.append(encode(tools, piece))
            report.pieces_from_splits += 1
        report.rows_losing_content += report.exchanges_dropped > dropped_before
    return examples, report
