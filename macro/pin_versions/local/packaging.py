"""Local packaging for the command line: what ``sam package`` does, without uploading.

A deploy never sees a local path: ``sam package`` (or ``aws cloudformation package``)
uploads the code and writes an S3 location into the template, and a code change gives a new
S3 key, hence a new function configuration and, through PinVersions, a new version. The
command line must show the same, so before any transform runs, every local path in a
packageable property becomes ``s3://pin-versions-local/<sha256 of the content>``.

The hash is a plain function of the content, so a preview is reproducible anywhere:
- a file: ``sha256`` of its bytes (what ``sha256sum FILE`` prints);
- a directory: ``sha256`` of the ``sha256sum`` listing of its files, sorted by relative
  POSIX path: one ``<hex>  <path>\\n`` line per file. The names, not only the bytes, count,
  as they do in the zip ``sam package`` uploads.

Nothing here talks to AWS; the bucket name is a placeholder.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeGuard

__all__ = [
    "LOCAL_BUCKET",
    "Artifact",
    "Packaged",
    "PackagingError",
    "content_hash",
    "is_local_path",
    "package",
]

LOCAL_BUCKET = "pin-versions-local"
SAM_FUNCTION = "AWS::Serverless::Function"

# How the packaged location is written: an S3 URI string (SAM), an https URL (templates),
# or a mapping with the bucket and key property names CloudFormation expects.
Form = Literal["uri", "url"] | tuple[str, str]

# The properties `sam package` and `aws cloudformation package` rewrite, by resource type.
PACKAGEABLE: dict[str, tuple[tuple[str, Form], ...]] = {
    "AWS::Serverless::Function": (("CodeUri", "uri"),),
    "AWS::Serverless::StateMachine": (("DefinitionUri", "uri"),),
    "AWS::Serverless::Api": (("DefinitionUri", "uri"),),
    "AWS::Serverless::HttpApi": (("DefinitionUri", "uri"),),
    "AWS::Serverless::LayerVersion": (("ContentUri", "uri"),),
    "AWS::Serverless::Application": (("Location", "url"),),
    "AWS::Lambda::Function": (("Code", ("S3Bucket", "S3Key")),),
    "AWS::Lambda::LayerVersion": (("Content", ("S3Bucket", "S3Key")),),
    "AWS::StepFunctions::StateMachine": (("DefinitionS3Location", ("Bucket", "Key")),),
    "AWS::CloudFormation::Stack": (("TemplateURL", "url"),),
}
# Globals SAM merges into each resource of the section's type.
PACKAGEABLE_GLOBALS: dict[str, tuple[str, Form]] = {
    "Function": ("CodeUri", "uri"),
    "Api": ("DefinitionUri", "uri"),
    "HttpApi": ("DefinitionUri", "uri"),
}

# s3://, https://, http://: already somewhere a deploy can read.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_CHUNK = 1 << 20


class PackagingError(Exception):
    """A local path exists but cannot be read. The message is one line."""


@dataclass(frozen=True, slots=True)
class Note:
    """Something packaging accepted but the user should hear: a path, then a sentence."""

    path: str
    message: str


@dataclass(frozen=True, slots=True)
class Artifact:
    """One packaged path: as written, the sha256 it went under, and whether it existed."""

    local: str  # "" when the resource named no code at all
    sha256: str
    found: bool


@dataclass(slots=True)
class Packaged:
    template: dict[str, Any]
    notes: list[Note] = field(default_factory=list)
    packaged: dict[str, Artifact] = field(default_factory=dict)  # by template path


def is_local_path(value: Any) -> TypeGuard[str]:
    """A string that is not a URL: what the packagers upload. Intrinsics and mappings are
    left alone, as the packagers leave them."""
    return isinstance(value, str) and bool(value.strip()) and not _URL.match(value)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _directory_digest(root: Path) -> str:
    files: list[tuple[str, Path]] = []
    seen: set[str] = set()
    # Follow directory links as the zip does, but never twice into the same directory.
    for folder, dirs, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        for name in names:
            full = Path(folder, name)
            files.append((full.relative_to(root).as_posix(), full))
    # The same listing `sha256sum` prints, in code point order (LC_ALL=C sort on UTF-8).
    listing = "".join(f"{_file_digest(full)}  {rel}\n" for rel, full in sorted(files))
    return hashlib.sha256(listing.encode("utf-8", "surrogateescape")).hexdigest()


def content_hash(path: Path) -> str:
    """The sha256 a local file or directory is packaged under (see the module docstring)."""
    try:
        return _directory_digest(path) if path.is_dir() else _file_digest(path)
    except OSError as exc:
        where = exc.filename or path
        raise PackagingError(f"{where}: cannot read: {exc.strerror or exc}") from None


def _location(key: str, form: Form) -> Any:
    if form == "uri":
        return f"s3://{LOCAL_BUCKET}/{key}"
    if form == "url":
        return f"https://{LOCAL_BUCKET}.s3.amazonaws.com/{key}"
    bucket_name, key_name = form
    return {bucket_name: LOCAL_BUCKET, key_name: key}


class _Packager:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.notes: list[Note] = []
        self.packaged: dict[str, Artifact] = {}
        self.cache: dict[Path, str] = {}

    def key_for(self, value: str, where: str) -> tuple[str, bool]:
        target = self.base / value
        if not target.exists():
            # The corpus (and many a checkout) lacks built code folders: still give a stable
            # key, and say that code changes there cannot show.
            self.notes.append(
                Note(
                    where,
                    f"{value} does not exist (looked for {os.path.normpath(target)}); hashed "
                    "by its name, so changes to its code cannot show as new versions",
                )
            )
            return hashlib.sha256(b"missing\0" + value.encode("utf-8")).hexdigest(), False
        resolved = target.resolve()
        if resolved not in self.cache:
            self.cache[resolved] = content_hash(resolved)
        return self.cache[resolved], True

    def no_code_uri(self, where: str) -> str:
        # `sam package` uploads the working directory then: what ships depends on where it
        # runs, so the preview cannot know it. A fixed key keeps SAM translating.
        self.notes.append(
            Note(
                where,
                "has no CodeUri: sam package would upload the current directory; packaged "
                "under a fixed placeholder, so code changes cannot show as new versions "
                "(set CodeUri)",
            )
        )
        key = hashlib.sha256(b"no CodeUri\0").hexdigest()
        self.packaged[f"{where}.Properties.CodeUri"] = Artifact("", key, found=False)
        return f"s3://{LOCAL_BUCKET}/{key}"

    def rewrite(self, holder: dict[str, Any], prop: str, form: Form, where: str) -> None:
        value = holder.get(prop)
        if not is_local_path(value):
            return
        key, found = self.key_for(value, where)
        holder[prop] = _location(key, form)
        self.packaged[where] = Artifact(value, key, found)


def _needs_code_uri(properties: dict[str, Any], globals_section: Any) -> bool:
    """A zip function with no code at all, here or in Globals."""
    merged = dict(properties)
    if isinstance(globals_section, dict) and isinstance(globals_section.get("Function"), dict):
        merged = {**globals_section["Function"], **properties}
    if merged.get("PackageType") == "Image":
        return False
    return not any(key in merged for key in ("CodeUri", "InlineCode", "ImageUri"))


def package(template: dict[str, Any], base: str | os.PathLike[str]) -> Packaged:
    """The template with every local path packaged; paths are relative to ``base`` (the
    template's directory). Never mutates ``template``; raises PackagingError when a path
    exists but cannot be read."""
    packager = _Packager(Path(base))
    result = copy.deepcopy(template)
    globals_section = result.get("Globals")
    if isinstance(globals_section, dict):
        for section, (prop, form) in PACKAGEABLE_GLOBALS.items():
            holder = globals_section.get(section)
            if isinstance(holder, dict):
                packager.rewrite(holder, prop, form, f"Globals.{section}.{prop}")
    resources = result.get("Resources")
    if isinstance(resources, dict):
        for logical_id, resource in resources.items():
            if not isinstance(resource, dict):
                continue
            properties = resource.get("Properties")
            if not isinstance(properties, dict):
                continue
            rtype = resource.get("Type")
            for prop, form in PACKAGEABLE.get(str(rtype), ()):
                where = f"Resources.{logical_id}.Properties.{prop}"
                packager.rewrite(properties, prop, form, where)
            if rtype == SAM_FUNCTION and _needs_code_uri(properties, globals_section):
                properties["CodeUri"] = packager.no_code_uri(f"Resources.{logical_id}")
    return Packaged(result, packager.notes, packager.packaged)
