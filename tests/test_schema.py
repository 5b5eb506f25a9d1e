"""One validator for gold and predicted calls, and the repair of invalid tool schemas."""

import pytest
from conftest import load_fixture

from stages.prepare_dataset import clean_rows
from toolcall.glaive import CleaningRules, RowRejected, parse_call_value, parse_tools
from toolcall.metrics import schema_valid
from toolcall.schema import CALL_VIOLATIONS, call_violations, repair_parameters, schema_error

ROOM = {"type": "function", "function": {"name": "book_room", "parameters": {
    "type": "object",
    "properties": {"nights": {"type": "integer", "minimum": 1},
                   "level": {"type": "string", "enum": ["standard", "deluxe"]},
                   "guest": {"type": "object", "properties": {"name": {"type": "string"}},
                             "required": ["name"]}},
    "required": ["nights"]}}}


@pytest.mark.parametrize("arguments, reasons", [
    ({"nights": 2}, []),
    ({"nights": 2, "level": None}, []),                         # null counts as absent
    ({"level": "standard"}, ["required_argument_missing"]),
    ({"nights": 2, "guest": {}}, ["required_argument_missing"]),  # nested required
    ({"nights": "2"}, ["argument_type_mismatch"]),
    ({"nights": 2, "level": "豪华"}, ["argument_not_in_enum"]),
    ({"nights": 0}, ["argument_schema_violation"]),
    ({"nights": 2, "city": "北京"}, ["argument_not_in_schema"]),
    ({"nights": "x", "level": "豪华"}, ["argument_type_mismatch", "argument_not_in_enum"]),
])
def test_call_violations_name_each_kind(arguments, reasons):
    assert call_violations({"name": "book_room", "arguments": arguments}, [ROOM]) == reasons


def test_an_unoffered_call_is_its_own_reason():
    assert call_violations({"name": "book_flight", "arguments": {}}, [ROOM]) == [
        "call_name_not_offered"]


def test_scoring_and_cleaning_judge_gold_calls_alike():
    """Default cleaning keeps a fixture row exactly when scoring calls its calls schema-valid."""
    cases = [c for c in load_fixture("dirty_glaive.json")
             if c["verdict"] in set(CALL_VIOLATIONS) | {"kept"}]
    assert {c["verdict"] for c in cases} >= set(CALL_VIOLATIONS) - {"argument_schema_violation"}
    for case in cases:
        tools, _ = parse_tools(case["row"]["tools"])
        calls = [call for turn in case["row"]["conversations"] if turn["from"] == "function_call"
                 for call in parse_call_value(turn["value"])[0]]
        kept, _, _ = clean_rows([case["row"]], CleaningRules())
        assert all(schema_valid(call, tools) for call in calls) == bool(kept), case


def test_required_written_as_an_object_is_dropped_safely():
    parameters = {"type": "object", "properties": {"dims": {
        "type": "object", "properties": {"radius": {"type": "number"}},
        "required": {"circle": ["radius"]}}}, "required": ["dims"]}
    assert schema_error(parameters)
    fixed, repairs = repair_parameters(parameters)
    assert schema_error(fixed) is None and repairs == ["tool_schema_required_dropped"]
    assert fixed["required"] == ["dims"] and "required" not in fixed["properties"]["dims"]
    assert parameters["properties"]["dims"]["required"] == {"circle": ["radius"]}  # not mutated


def test_draft3_required_flags_and_foreign_type_names_are_repaired():
    parameters = {"type": "object", "properties": {
        "a": {"type": "int", "required": True}, "b": {"type": "str", "required": False}}}
    fixed, repairs = repair_parameters(parameters)
    assert schema_error(fixed) is None
    assert fixed["required"] == ["a"] and fixed["properties"]["a"] == {"type": "integer"}
    assert repairs == ["tool_schema_required_lifted", "tool_schema_type_renamed"]


def test_a_schema_that_cannot_be_repaired_rejects_the_row():
    tools = [{"name": "f", "parameters": {"type": "object",
                                          "properties": {"n": {"type": "integer", "minimum": "one"}}}}]
    with pytest.raises(RowRejected) as error:
        parse_tools(tools)
    assert error.value.reason == "tool_schema_invalid"
