"""One validator for tool calls, used by cleaning (gold calls) and scoring (predictions).

A call is checked against the offered tool's JSON Schema (`parameters`) in full, nested
objects, `required`, `type` and `enum` included. Each kind of problem is a stable reason key:
cleaning counts and drops by it (each with a switch in params `dataset.cleaning`), scoring
counts a prediction with any of them as schema-invalid. A key whose value is null counts as
absent, as in the metrics.

Tool schemas in the wild are not always valid JSON Schema (glaive has `required` written as
an object of conditional lists). `repair_parameters` fixes what can be fixed without changing
what a valid call is allowed to be, and says what it did; a schema it cannot fix is rejected,
never held against a model.
"""

from __future__ import annotations

import copy
import functools
import json

import jsonschema

# Reasons a call breaks its tool's schema, in the order cleaning reports them.
UNOFFERED = "call_name_not_offered"
UNKNOWN_ARGUMENT = "argument_not_in_schema"  # a top-level key the tool does not declare
MISSING_REQUIRED = "required_argument_missing"  # at any depth
WRONG_TYPE = "argument_type_mismatch"
NOT_IN_ENUM = "argument_not_in_enum"
OTHER_VIOLATION = "argument_schema_violation"  # any other keyword (pattern, minimum, ...)
CALL_VIOLATIONS = [UNOFFERED, UNKNOWN_ARGUMENT, MISSING_REQUIRED, WRONG_TYPE, NOT_IN_ENUM,
                   OTHER_VIOLATION]

_BY_KEYWORD = {"required": MISSING_REQUIRED, "type": WRONG_TYPE, "enum": NOT_IN_ENUM,
               "additionalProperties": UNKNOWN_ARGUMENT}

# Type names some tool authors write instead of JSON Schema's.
_TYPE_ALIASES = {"int": "integer", "float": "number", "double": "number", "str": "string",
                 "bool": "boolean", "dict": "object", "list": "array", "tuple": "array"}


def function_of(tool: dict) -> dict:
    """The bare `{name, description, parameters}` of an OpenAI-form or bare tool."""
    return tool.get("function", tool) if isinstance(tool, dict) else tool


def drop_nulls(arguments: dict) -> dict:
    """A key whose value is null counts as absent."""
    return {k: v for k, v in arguments.items() if v is not None}


def _validator(parameters: dict) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(parameters, default=jsonschema.Draft202012Validator)
    return cls(parameters)


def call_violations(call: dict, tools: list[dict]) -> list[str]:
    """The distinct reasons `call` ({name, arguments: dict}) breaks the offered tools' schemas,
    in CALL_VIOLATIONS order; [] for a valid call."""
    functions = {function_of(t)["name"]: function_of(t) for t in tools}
    if call["name"] not in functions:
        return [UNOFFERED]
    parameters = functions[call["name"]].get("parameters") or {}
    arguments = drop_nulls(call["arguments"])
    found = set()
    if set(arguments) - set(parameters.get("properties") or {}):
        found.add(UNKNOWN_ARGUMENT)
    for error in _validator(parameters).iter_errors(arguments):
        found.add(_BY_KEYWORD.get(error.validator, OTHER_VIOLATION))
    return [reason for reason in CALL_VIOLATIONS if reason in found]


def schema_error(parameters: object) -> str | None:
    """Why `parameters` is not a usable JSON Schema for a tool's arguments, or None."""
    if not isinstance(parameters, dict):
        return "parameters is not an object"
    return _schema_error(json.dumps(parameters))


@functools.cache
def _schema_error(parameters_json: str) -> str | None:
    # Checked once per distinct schema: checking one against the JSON Schema meta-schema takes
    # milliseconds, and the same tools recur across rows (in a stand-in's generated warm-up
    # corpus nearly every row repeats one).
    parameters = json.loads(parameters_json)
    try:
        _validator(parameters).check_schema(parameters)
    except jsonschema.SchemaError as e:
        return f"{e.message[:120]} (at {'/'.join(map(str, e.absolute_path)) or 'top level'})"
    return None


def repair_parameters(parameters: dict) -> tuple[dict, list[str]]:
    """A copy of a tool's `parameters` with the safe repairs applied, and their names:
    - `type` names of other languages (`int`, `float`, `dict`, ...) -> JSON Schema's;
    - a property's own `required: true` (JSON Schema draft 3) -> its parent's `required` list;
    - a `required` that is not a list of strings (glaive writes conditional requirements as
      an object of lists) -> removed: that only stops demanding what could not be expressed.
    None of these rejects a call the author meant to allow."""
    repairs: set[str] = set()

    def fix(node: object) -> None:
        if isinstance(node, list):
            for item in node:
                fix(item)
            return
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        if isinstance(kind, str) and kind.lower() in _TYPE_ALIASES:
            node["type"] = _TYPE_ALIASES[kind.lower()]
            repairs.add("tool_schema_type_renamed")
        properties = node.get("properties")
        if isinstance(properties, dict):
            flagged = {name: prop.pop("required") for name, prop in properties.items()
                       if isinstance(prop, dict) and isinstance(prop.get("required"), bool)}
            if flagged:
                repairs.add("tool_schema_required_lifted")
                existing = node["required"] if isinstance(node.get("required"), list) else []
                lifted = [name for name, required in flagged.items()
                          if required and name not in existing]
                if lifted:
                    node["required"] = existing + lifted
        required = node.get("required")
        if "required" in node and not (isinstance(required, list)
                                       and all(isinstance(r, str) for r in required)):
            del node["required"]
            repairs.add("tool_schema_required_dropped")
        for key, value in node.items():
            if key in ("properties", "patternProperties", "$defs", "definitions"):
                for sub in value.values() if isinstance(value, dict) else []:
                    fix(sub)
            elif key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "not"):
                fix(value)

    repaired = copy.deepcopy(parameters)
    fix(repaired)
    return repaired, sorted(repairs)
