"""A test conversation as evaluation samples: one per assistant turn.

Each sample's prompt is the tools and the gold history before the turn, rendered by the
family's training renderer and ending where the model starts writing. Every turn falls into
one stratum, the first that applies (docs/evaluation.md): `call` (the gold turn calls),
`nocall_after_obs` (text right after a tool result), `nocall_with_tools` (text while tools
are offered), `notools`.
"""

from __future__ import annotations

from toolcall.families import Family
from toolcall.glaive import decode_conversation

STRATA = ["call", "nocall_after_obs", "nocall_with_tools", "notools"]


def stratum_of(gold: dict, previous_role: str | None, has_tools: bool) -> str:
    if gold.get("tool_calls"):
        return "call"
    if previous_role == "tool":
        return "nocall_after_obs"
    return "nocall_with_tools" if has_tools else "notools"


def build_samples(conversations: list[dict], family: Family) -> list[dict]:
    samples = []
    for conversation in conversations:
        tools, messages = decode_conversation(conversation)
        for k, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            previous_role = messages[k - 1]["role"] if k else None
            samples.append({
                "conversation_id": conversation["id"],
                "turn_index": k,
                "stratum": stratum_of(message, previous_role, bool(tools)),
                "tools": tools,
                "gold": message,
                "prompt": family.render(tools, messages[:k], add_generation_prompt=True).text,
                # what a reader of a failed turn needs to judge it (compare-models shows it)
                "last_user": next((m["content"] for m in reversed(messages[:k]) if m["role"] == "user"), ""),
            })
    return samples


def turn_key(record: dict) -> tuple[str, int]:
    return record["conversation_id"], record["turn_index"]
