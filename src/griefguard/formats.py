"""File formats by extension: the one table every reader and writer of replies consults.

JSON Lines is `.jsonl`, `.ndjson` or `.json` (one JSON object per line; a `.json` file holding one JSON array is
not read as replies). Anything not in the table is plain text, one reply per line, when read.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["EXTENSIONS", "LABELED_EXTENSIONS", "format_of", "output_format"]

EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",  # Dask only
    ".txt": "text",
}
LABELED_EXTENSIONS = tuple(e for e, f in EXTENSIONS.items() if f in ("csv", "jsonl"))  # what labeled files can be


def format_of(path: str | Path, default: str | None = "text") -> str | None:
    """The format a file's extension names (case-insensitive), else `default`."""
    return EXTENSIONS.get(Path(str(path)).suffix.lower(), default)


def output_format(path: str | Path) -> str:
    """The format `classify --output` writes for a file name: CSV, TSV, a table for .txt, else JSON Lines."""
    fmt = format_of(path, "jsonl")
    return {"text": "table", "parquet": "jsonl"}.get(fmt, fmt)  # type: ignore[arg-type]
