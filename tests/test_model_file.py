"""Model files: the schema round-trips, and a file that is anything else (a pickle that would run code, an archive
with an object array, a zip bomb, a truncated or foreign file) is refused with one clear line, running nothing."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import MODEL

from griefguard.errors import ModelError
from griefguard.model_file import MAX_UNPACKED_BYTES, load_model, save_model


class _Payload:
    """Unpickling this runs `touch MARKER`: what a crafted model file would do to a tool that unpickles."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def _crafted_pickle(path: Path, marker: Path) -> Path:
    path.write_bytes(pickle.dumps({"format": "griefguard-model", "payload": _Payload(marker)}))
    return path


def test_round_trip_keeps_every_array_and_setting(tmp_path: Path) -> None:
    model = load_model(MODEL)
    path = tmp_path / "copy.npz"
    save_model(model, path)
    again = load_model(path)
    assert again.labels == model.labels and again.link == model.link and again.threshold == model.threshold
    assert again.vocabulary.tokens == model.vocabulary.tokens
    assert all(np.array_equal(a, b) for a, b in zip(again.vocabulary.keys, model.vocabulary.keys, strict=True))
    for name in ("idf", "coef", "intercept"):
        assert np.array_equal(getattr(again, name), getattr(model, name))
    assert again.card == model.card and again.sentence_rule == model.sentence_rule


def test_a_pickle_that_would_run_code_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    crafted = _crafted_pickle(tmp_path / "evil.npz", marker)
    with pytest.raises(ModelError, match="pickle or joblib file"):
        load_model(crafted)
    assert not marker.exists()
    # The command line too: exit 2, one line, and still nothing ran.
    done = subprocess.run(
        [sys.executable, "-m", "griefguard", "classify", "-", "--model", str(crafted)],
        input="so sorry",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "pickle" in done.stderr and "Traceback" not in done.stderr
    assert not marker.exists()


def test_an_archive_with_an_object_array_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "objects.npz"
    good = dict(np.load(MODEL, allow_pickle=False))
    good["idf"] = np.array([_Payload(marker)], dtype=object)
    with open(path, "wb") as handle:
        np.savez(handle, **good)  # numpy pickles object arrays into the archive
    with pytest.raises(ModelError, match="damaged"):
        load_model(path)
    assert not marker.exists()


def test_a_zip_bomb_is_refused_before_unpacking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert MAX_UNPACKED_BYTES == 1 << 30
    monkeypatch.setattr("griefguard.model_file.MAX_UNPACKED_BYTES", 1 << 20)  # the same check, at a test's scale
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("meta.npy", b"\0" * ((1 << 20) + 1))
    assert path.stat().st_size < 10_000
    with pytest.raises(ModelError, match="would unpack to more than 1 MiB"):
        load_model(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a griefguard model file"),
        (b"hello, I am a text file", "not a griefguard model file"),
        (b"PK\x03\x04 but not really a zip", "corrupt or truncated"),
    ],
)
def test_foreign_and_corrupt_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "m.npz"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        load_model(path)


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "truncated.npz"
    path.write_bytes(MODEL.read_bytes()[: MODEL.stat().st_size // 2])
    with pytest.raises(ModelError, match="corrupt or truncated"):
        load_model(path)


def _rewrite(path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    arrays = dict(np.load(MODEL, allow_pickle=False))
    change(arrays)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    return path


def _meta(arrays: dict, **updates) -> None:  # type: ignore[no-untyped-def]
    meta = json.loads(arrays["meta"].tobytes())
    meta.update(updates)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: _meta(a, format_version=99), "format version 99, newer than this griefguard reads"),
        (lambda a: _meta(a, format="something-else"), "not a griefguard model file"),
        (lambda a: _meta(a, format_version=1), "old format version 1"),
        (lambda a: a.pop("coef"), "incomplete \\(missing coef\\)"),
        (lambda a: a.update(coef=a["coef"][:5]), "damaged"),
        (lambda a: a.update(idf=a["idf"].astype(np.float32)), "idf has type float32"),
        (lambda a: a.update(meta=np.frombuffer(b"{not json", dtype=np.uint8)), "metadata is not JSON"),
        (lambda a: _meta(a, threshold=7.0), "damaged"),
        (lambda a: _meta(a, card={"created": 2026}), "card field 'created' has the wrong type"),
        (lambda a: _meta(a, card=["not", "a", "card"]), "card is not an object"),
        (lambda a: a.update(idf=np.full_like(a["idf"], np.nan)), "not finite"),
        (
            lambda a: a.update(meta=np.frombuffer(b"[" * 200_000 + b"]" * 200_000, dtype=np.uint8)),
            "nested too deeply",
        ),
    ],
)
def test_damaged_and_newer_models(tmp_path: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelError, match=message):
        load_model(_rewrite(tmp_path / "m.npz", change))


def test_missing_model_names_the_ways_to_give_one(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"does not exist; pass --model PATH or set \$GRIEFGUARD_MODEL"):
        load_model(tmp_path / "nope.npz")
    with pytest.raises(ModelError, match="is a directory"):
        load_model(tmp_path)


def test_model_data_checks_its_shapes() -> None:
    model = load_model(MODEL)
    with pytest.raises(ValueError, match="coef has shape"):
        replace(model, coef=model.coef[:, :2])
    with pytest.raises(ValueError, match="labels must be distinct"):
        replace(model, labels=("supportive", "neutral", "other"))
    with pytest.raises(ValueError, match="idf has shape"):
        replace(model, idf=model.idf[:-1])
    with pytest.raises(ValueError, match="threshold"):
        replace(model, threshold=1.5)
    if model.thread is not None:
        with pytest.raises(ValueError, match="thread coef has shape"):
            replace(model, thread=replace(model.thread, coef=model.thread.coef[:-1]))


def test_saved_files_are_plain_arrays_only() -> None:
    with zipfile.ZipFile(MODEL) as archive:
        for name in archive.namelist():
            head = archive.read(name)[:128]
            assert head.startswith(b"\x93NUMPY"), name
            assert b"'O'" not in head and b"|O" not in head, f"{name} holds Python objects"
    assert io.BytesIO(MODEL.read_bytes()[:2]).read() == b"PK"
