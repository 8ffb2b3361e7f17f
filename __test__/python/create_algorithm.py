"""Checks a CreateAlgorithm request (JSON on stdin) against botocore's SageMaker
service model: botocore's own ParamValidator (required members, types,
minimums), then what it leaves to the service: enums, maximums and patterns.
Prints one problem per line and exits 1 when there is any."""
import json
import sys

import botocore.session
import regex
from botocore.validate import ParamValidator


def constraints(shape, value, where, problems):
    """Enum, max and pattern of every value below `shape`, which ParamValidator does not check."""
    meta = shape.metadata
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            if name in value:
                constraints(member, value[name], f"{where}.{name}", problems)
    elif shape.type_name == "list":
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{where}: {len(value)} items, at most {meta['max']}")
        for i, item in enumerate(value):
            constraints(shape.member, item, f"{where}[{i}]", problems)
    elif shape.type_name == "string":
        if shape.enum and value not in shape.enum:
            problems.append(f"{where}: {value!r} is not one of {shape.name}'s values")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{where}: {len(value)} characters, at most {meta['max']}")
        if "pattern" in meta and regex.fullmatch(meta["pattern"], value) is None:
            problems.append(f"{where}: {value!r} does not match {meta['pattern']}")


def main():
    params = json.load(sys.stdin)
    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model("CreateAlgorithm").input_shape
    report = ParamValidator().validate(params, shape)
    problems = [report.generate_report()] if report.has_errors() else []
    if not problems:
        constraints(shape, params, "CreateAlgorithm", problems)
    print("\n".join(problems))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
