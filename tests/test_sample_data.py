"""The bundled sample: reproducible, large and varied enough, in glaive's shape."""

import json
from collections import Counter

from conftest import ROOT

from toolcall.sample_data import SAMPLE_PATH, SAMPLE_SEED, SAMPLE_SIZE, make_sample

ROWS = json.loads((ROOT / SAMPLE_PATH).read_text(encoding="utf-8"))


def test_committed_sample_is_what_the_generator_writes():
    assert ROWS == make_sample(SAMPLE_SIZE, SAMPLE_SEED)
    assert len(ROWS) >= 300


def test_sample_covers_argument_types_and_conversation_kinds():
    types = Counter()
    shapes = Counter()
    for row in ROWS:
        for tool in json.loads(row["tools"]) if row["tools"] else []:
            for prop in tool["parameters"]["properties"].values():
                types[prop["type"]] += 1
                types["enum"] += "enum" in prop
        roles = [t["from"] for t in row["conversations"]]
        shapes["no_tools"] += not row["tools"] or row["tools"] == "[]"
        shapes["call"] += "function_call" in roles
        shapes["two_calls"] += roles.count("function_call") == 2
        shapes["declines_or_asks"] += bool(row["tools"] not in ("", "[]") and roles[1] == "gpt")
    assert {"string", "integer", "number", "boolean", "array", "object", "enum"} <= set(types)
    assert all(shapes[k] >= 20 for k in ("no_tools", "call", "two_calls", "declines_or_asks"))
    calls = [json.loads(t["value"]) for r in ROWS for t in r["conversations"]
             if t["from"] == "function_call"]
    value_types = {type(v).__name__ for c in calls for v in c["arguments"].values()}
    assert {"str", "int", "float", "bool", "list", "dict"} <= value_types
