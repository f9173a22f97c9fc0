"""The code zip and the artifact buckets: the bundle zipped reproducibly and named by its
sha256, and the bucket of each Region, named by a fixed rule."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

from .model import (
    _BUCKET_MAX,
    _BUCKET_PREFIX,
    _REGION,
    ARTIFACT_PREFIX,
    BUCKET_PREFIX_MAX,
    Artifact,
    StackSetError,
)


def _bundle_files(bundle: Path) -> list[tuple[str, Path]]:
    files: list[tuple[str, Path]] = []
    for folder, dirs, names in os.walk(bundle):
        dirs.sort()
        for name in names:
            full = Path(folder, name)
            files.append((full.relative_to(bundle).as_posix(), full))
    return sorted(files)


def package_bundle(bundle: Path, out_dir: Path) -> Artifact:
    """Zip the Lambda bundle (the directory ``macro/Makefile`` fills) reproducibly and name
    it by content.

    The zip holds the files in code-point order of their relative paths, each with a fixed
    timestamp (1980-01-01) and mode 0644, so the same bundle gives the same bytes, hence the
    same key, on every machine: an unchanged macro is never a new upload or a StackSet update.
    Writes ``out_dir/code/<sha256>.zip``. Raises StackSetError when ``bundle`` is not a
    directory or holds no files.
    """
    if not bundle.is_dir():
        raise StackSetError(f"{bundle}: not a directory (build the bundle first: make stackset)")
    files = _bundle_files(bundle)
    if not files:
        raise StackSetError(f"{bundle}: the bundle is empty")
    code_dir = out_dir / "code"
    code_dir.mkdir(parents=True, exist_ok=True)
    partial = code_dir / "bundle.zip.partial"
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for relative, full in files:
            info = zipfile.ZipInfo(relative, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, full.read_bytes())
    digest = hashlib.sha256(partial.read_bytes()).hexdigest()
    final = code_dir / f"{digest}.zip"
    partial.replace(final)
    return Artifact(final, digest, f"{ARTIFACT_PREFIX}/{digest}.zip")


def check_bucket_prefix(prefix: str) -> None:
    """Raise StackSetError unless ``<prefix>-<region>`` is a valid bucket name in every
    Region: lowercase letters, digits and hyphens, at most BUCKET_PREFIX_MAX characters."""
    if not _BUCKET_PREFIX.fullmatch(prefix):
        raise StackSetError(
            f"bucket prefix {prefix!r}: use lowercase letters, digits and hyphens, starting "
            "and ending with a letter or digit"
        )
    if len(prefix) > BUCKET_PREFIX_MAX:
        raise StackSetError(
            f"bucket prefix {prefix!r} is {len(prefix)} characters: at most "
            f"{BUCKET_PREFIX_MAX}, so that <prefix>-<region> is a valid bucket name everywhere"
        )


def bucket_name(prefix: str, region: str) -> str:
    """The artifact bucket of one Region: ``<prefix>-<region>``. Raises StackSetError when
    the result is not a valid S3 bucket name."""
    check_bucket_prefix(prefix)
    if not _REGION.fullmatch(region):
        raise StackSetError(f"region {region!r} is not a Region name (like eu-west-1)")
    name = f"{prefix}-{region}"
    if len(name) > _BUCKET_MAX:
        raise StackSetError(
            f"bucket name {name!r} is {len(name)} characters; S3 allows {_BUCKET_MAX}: "
            "shorten the bucket prefix"
        )
    return name


def _bucket_sub(prefix: str) -> dict[str, str]:
    # The same rule as bucket_name, evaluated by CloudFormation in each target Region.
    return {"Fn::Sub": f"{prefix}-${{AWS::Region}}"}
