"""Fetching the Fashion-MNIST IDX files and checking them against their checksums.

Standard library only (no torch): the four download jobs of every run start fast.
"""

from __future__ import annotations

import gzip
import hashlib
import urllib.request
import zlib
from pathlib import Path

from aeflow.run import files


class DataError(RuntimeError):
    """Bad or unreachable data; the message names the file and what was wrong."""


def _digest(data: bytes, algorithm: str) -> str:
    return hashlib.new(algorithm, data).hexdigest()


def verify(name: str, raw: bytes, md5: str | None, sha256: str | None) -> None:
    """Accept ``raw`` (a ``.gz`` file's bytes) if its MD5 is the published one, or if
    the decompressed content has the expected SHA-256.

    The content check exists because redistributors (Debian's ``dataset-fashion-mnist``)
    recompress the files: same IDX bytes, different gzip header, different MD5.
    """
    if md5 is None and sha256 is None:
        raise DataError(f"{name}: no checksum configured (data.files.{name})")
    got_md5 = _digest(raw, "md5")
    if md5 is not None and got_md5 == md5:
        return
    try:
        content = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{name}: not a valid gzip file ({err})") from err
    got_sha = _digest(content, "sha256")
    if sha256 is not None and got_sha == sha256:
        return
    raise DataError(
        f"{name}: checksum mismatch (md5 of .gz {got_md5}, expected {md5}; "
        f"sha256 of content {got_sha}, expected {sha256})"
    )


def _read_source(source: str, name: str) -> bytes:
    if "://" in source:
        url = source.rstrip("/") + "/" + name
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.read()
    path = Path(source) / name
    if not path.is_file():
        raise FileNotFoundError(f"no such file {path}")
    return path.read_bytes()


def fetch(
    name: str, sources: list[str], dest: str | Path, md5=None, sha256=None
) -> tuple[str, list[str]]:
    """Copy ``name`` from the first source that has it with the right checksum.

    ``sources`` are local directories or base URLs, tried in order. Returns the
    source used and the reasons earlier sources were skipped. Raises :class:`DataError` naming the file and every source tried;
    ``dest`` is only written once a checksum matched.
    """
    tried = []
    for source in sources:
        try:
            raw = _read_source(source, name)
            verify(name, raw, md5, sha256)
        except (OSError, DataError, ValueError) as err:
            tried.append(f"  {source}: {err}")
            continue
        files.write_bytes(dest, raw)
        return source, tried
    raise DataError(
        f"could not fetch {name}: no source had it with the expected checksum.\n"
        "Sources tried, in order:\n" + "\n".join(tried or ["  (none configured: data.sources)"])
    )
