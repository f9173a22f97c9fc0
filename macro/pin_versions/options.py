"""Options from the template's ``Metadata.PinVersions`` (template-level macros get no params)."""

# Annotations are evaluated (no `from __future__ import annotations`): typing.NamedTuple
# compiles a string annotation into a ForwardRef, ~10 us a field at cold import
# (docs/performance.md, issue 13).

from typing import TYPE_CHECKING, Any, NamedTuple

from .report import Diagnostic, TransformError

if TYPE_CHECKING:
    # Imported when a template has the option (collect_options): most never do, and the
    # module's import is paid by every cold start.
    from .alias_options import AliasOption
else:
    # NamedTuple evaluates its annotations; a string one becomes a ForwardRef, and the first
    # ForwardRef of the process costs about 1 ms of cold import (docs/performance.md).
    AliasOption = object

OPTIONS_PATH = "Metadata.PinVersions"


class Options(NamedTuple):
    strict: bool = False
    widen_roles: bool = True
    description_stamp: bool = True
    exclude: frozenset[str] = frozenset()
    alias: AliasOption | None = None  # Alias (issue 15; alias_options.py)
    # Names of the target kinds turned off (targets.TargetKind.name), from
    # Metadata.PinVersions.Kinds: {<option_key>: false}. Every kind is on by default.
    disabled_kinds: frozenset[str] = frozenset()

    def kind_enabled(self, name: str) -> bool:
        """Is the target kind called ``name`` ("state-machine") pinned?"""
        return name not in self.disabled_kinds


_BOOLEANS = {
    "Strict": "strict",
    "WidenRoles": "widen_roles",
    "DescriptionStamp": "description_stamp",
}
KNOWN_OPTIONS = (*_BOOLEANS, "Exclude", "Kinds", "Alias")


def _as_bool(value: Any) -> bool | None:
    # CloudFormation templates often carry booleans as strings ("true"), as JSON turns them.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def read_options(template: dict[str, Any]) -> Options:
    """The options; raises TransformError (PV903) listing every invalid one."""
    errors: list[Diagnostic] = []
    options = collect_options(template, errors)
    if errors:
        raise TransformError(errors)
    return options


def collect_options(template: dict[str, Any], errors: list[Diagnostic]) -> Options:
    """The options, each invalid one (PV903) appended to ``errors`` and left at its
    default, so that the transform goes on to find every other problem before it fails."""
    metadata = template.get("Metadata")
    if metadata is None:
        return Options()
    if type(metadata) is not dict:
        return Options()  # not ours to judge; CloudFormation validates Metadata
    raw = metadata.get("PinVersions")
    if raw is None:
        return Options()
    if type(raw) is not dict:
        errors.append(Diagnostic("PV903", OPTIONS_PATH, "must be a mapping of options"))
        return Options()
    values: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"{OPTIONS_PATH}.{key}"
        if key in _BOOLEANS:
            flag = _as_bool(value)
            if flag is None:
                errors.append(Diagnostic("PV903", path, "must be true or false"))
            else:
                values[_BOOLEANS[key]] = flag
        elif key == "Exclude":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                errors.append(Diagnostic("PV903", path, "must be a list of logical IDs"))
            else:
                values["exclude"] = frozenset(value)
        elif key == "Alias":
            from .alias_options import read_alias

            values["alias"] = read_alias(value, path, errors)
        elif key == "Kinds":
            disabled = _disabled_kinds(value, path, errors)
            if disabled is not None:
                values["disabled_kinds"] = disabled
        else:
            errors.append(
                Diagnostic(
                    "PV903",
                    path,
                    f"unknown option {key!r}; known options are {', '.join(KNOWN_OPTIONS)}",
                )
            )
    return Options(**values)


def _disabled_kinds(value: Any, path: str, errors: list[Diagnostic]) -> frozenset[str] | None:
    """``Kinds: {StateMachine: false, ...}``: the names of the kinds turned off; None (and
    PV903 for each bad entry, naming ``Metadata.PinVersions.Kinds.<Key>``) when invalid."""
    from .targets import kinds

    by_key = {kind.option_key: kind.name for kind in kinds()}
    if type(value) is not dict:
        errors.append(
            Diagnostic(
                "PV903", path, f"must be a mapping of kinds to true or false: {', '.join(by_key)}"
            )
        )
        return None
    disabled: set[str] = set()
    valid = True
    for key, flag in value.items():
        where = f"{path}.{key}"
        if key not in by_key:
            errors.append(
                Diagnostic(
                    "PV903",
                    where,
                    f"unknown target kind {key!r}; known kinds are {', '.join(by_key)}",
                )
            )
            valid = False
            continue
        enabled = _as_bool(flag)
        if enabled is None:
            errors.append(Diagnostic("PV903", where, "must be true or false"))
            valid = False
        elif not enabled:
            disabled.add(by_key[key])
    return frozenset(disabled) if valid else None


def skipped_by_metadata(resource: dict[str, Any]) -> bool:
    """``Metadata: {PinVersions: {Skip: true}}`` on a resource."""
    metadata = resource.get("Metadata")
    if type(metadata) is not dict:
        return False
    ours = metadata.get("PinVersions")
    return type(ours) is dict and _as_bool(ours.get("Skip")) is True
