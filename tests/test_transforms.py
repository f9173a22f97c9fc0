"""The one reader of a template's Transform key (pin_versions.local.transforms), which the
command line and the demo's emulator share: a name or a list of names, in order."""

from __future__ import annotations

from typing import Any

import pytest

from pin_versions.local.transforms import Transforms, declared_transforms

SAM = "AWS::Serverless-2016-10-31"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ({}, Transforms([], True)),
        ({"Transform": "PinVersions"}, Transforms(["PinVersions"], True)),
        ({"Transform": [SAM, "PinVersions"]}, Transforms([SAM, "PinVersions"], True)),
        ({"Transform": []}, Transforms([], True)),
        # Malformed: CloudFormation refuses the template; the names that are names remain.
        ({"Transform": [SAM, {"Name": "AWS::Include"}]}, Transforms([SAM], False)),
        ({"Transform": 5}, Transforms([], False)),
        ({"Transform": {"Name": "PinVersions"}}, Transforms([], False)),
    ],
)
def test_declared_transforms(template: dict[str, Any], expected: Transforms) -> None:
    assert declared_transforms(template) == expected


def test_the_command_line_refuses_a_malformed_transform(tmp_path: Any) -> None:
    from pin_versions.local.cli import main

    path = tmp_path / "t.yaml"
    path.write_text("Transform: [PinVersions, 3]\nResources: {}\n", encoding="utf-8")
    assert main(["transform", str(path)]) == 2


def test_the_emulator_refuses_a_malformed_transform() -> None:
    from demo.emulator import DeployError, transform_names

    assert transform_names({"Transform": [SAM, "PinVersions"]}) == (SAM, "PinVersions")
    with pytest.raises(DeployError, match="Transform must be a string or a list of strings"):
        transform_names({"Transform": 3})
