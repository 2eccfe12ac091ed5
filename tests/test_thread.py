"""The thread stage: a reply read under the comment it answers, in the library, the model file and training."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import CRITIC, CRITIC_2, POST, SIDE, SMALL_CORPUS, SMALL_THREADS, SUPPORTER, write_csv, write_threads

from griefguard.engine import Rows
from griefguard.errors import ModelError
from griefguard.model_file import load_model, save_model
from griefguard.scorer import Scorer, load_scorer
from griefguard.thread import row_dot, thread_features


@pytest.fixture(scope="module")
def threaded(small_thread_model: Path) -> Scorer:
    return load_scorer(small_thread_model)


def test_a_short_echo_takes_the_label_of_what_it_endorses(threaded: Scorer) -> None:
    under_critic = threaded.score("agreed", parent=CRITIC)
    under_supporter = threaded.score("agreed", parent=SUPPORTER)
    under_side_talk = threaded.score("agreed", parent=SIDE)
    assert under_critic > threaded.threshold > max(under_supporter, under_side_talk)
    labels = [p.label for p in threaded.classify(["agreed"] * 3, parents=[CRITIC, SUPPORTER, SIDE])]
    assert labels == ["critical", "supportive", "neutral"]


def test_a_defender_is_not_flagged_and_a_pile_on_is(threaded: Scorer) -> None:
    defender, pile_on = threaded.predict(
        ["who raised you? go outside", "well said, someone had to"], parents=[CRITIC_2, CRITIC_2]
    )
    assert not defender.flagged and defender.parent_label == "critical"
    assert pile_on.flagged and pile_on.score_alone is not None and pile_on.score_alone < pile_on.score


def test_without_a_parent_the_thread_stage_changes_nothing(threaded: Scorer) -> None:
    texts = [t for t, _, _ in SMALL_CORPUS] + ["agreed", "", "zzz", "who raised you?"]
    alone = Scorer(replace(threaded.model, thread=None))
    assert np.array_equal(threaded.probabilities(texts), alone.probabilities(texts))
    empty = threaded.probabilities(texts, parents=[""] * len(texts), posts=[None] * len(texts))
    assert np.array_equal(empty, alone.probabilities(texts)), "an empty parent is a direct reply"


def test_parents_and_posts_must_line_up_with_the_replies(threaded: Scorer) -> None:
    with pytest.raises(ValueError, match="fewer were given"):
        threaded.score_many(["a", "b"], parents=[CRITIC])
    with pytest.raises(ValueError, match="more were given"):
        threaded.score_many(["a"], parents=[CRITIC, CRITIC])
    with pytest.raises(TypeError, match="a parent must be a str or None, got int"):
        threaded.score_many(["a"], parents=[3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="ids has 1 entries"):
        threaded.predict(["a", "b"], ids=[1])
    generators = threaded.score_many((t for t in ["agreed", "agreed"]), parents=(p for p in [CRITIC, SUPPORTER]))
    assert generators.tolist() == [threaded.score("agreed", CRITIC), threaded.score("agreed", SUPPORTER)]


def test_explain_says_what_the_parent_did(threaded: Scorer) -> None:
    why = threaded.explain("agreed", parent=CRITIC)
    assert why.parent_label == "critical" and why.alone_score is not None
    assert why.parent_effect is not None and why.parent_effect > 0
    assert any("under a critical comment" in term for term, _ in why.raising)
    assert why.fields()["explained"] == "thread"
    alone = threaded.explain("agreed")
    assert alone.parent_label is None and alone.parent_effect is None and alone.fields()["explained"] == "reply"
    defender = threaded.explain("who raised you? go outside", parent=CRITIC)
    assert defender.parent_effect is not None and defender.parent_effect < 0
    assert defender.parent_changed_verdict == (defender.alone_score >= threaded.threshold)  # type: ignore[operator]


def test_prediction_records_carry_the_thread_and_the_id(threaded: Scorer) -> None:
    record = threaded.predict(["agreed"], parents=[CRITIC], ids=["c1"], explain=True)[0]
    fields = record.record()
    assert record.id == "c1"
    assert fields["parent_label"] == "critical" and fields["score_alone"] == round(record.score_alone or 0, 6)
    assert fields["explained"] == "thread" and isinstance(fields["parent_effect"], float)
    plain = threaded.predict(["agreed"])[0].record()
    assert "parent_label" not in plain and "reasons" not in plain


def test_an_unknown_reply_under_an_unknown_parent_stays_neutral(threaded: Scorer) -> None:
    p = threaded.predict(["^^"], parents=["zzqx"])[0]
    assert p.label == "neutral" and p.score == 0.0 and p.parent_label is None
    # An echo the model cannot read alone is still read under a parent it knows.
    assert threaded.predict(["^^"], parents=[CRITIC])[0].parent_label == "critical"


def test_the_model_file_keeps_the_thread_stage(threaded: Scorer, tmp_path: Path) -> None:
    save_model(threaded.model, tmp_path / "again.npz")
    again = load_scorer(tmp_path / "again.npz")
    texts, parents = [t for _, _, t, _, _ in SMALL_THREADS], [p for _, p, _, _, _ in SMALL_THREADS]
    assert np.array_equal(again.probabilities(texts, parents), threaded.probabilities(texts, parents))


def _rewrite_meta(path: Path, target: Path, change) -> None:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "meta.npy":
                header_end = data.index(b"\n") + 1
                meta = json.loads(np.frombuffer(data[header_end:], dtype=np.uint8).tobytes())
                raw = json.dumps(change(meta)).encode()
                import io

                buffer = io.BytesIO()
                np.save(buffer, np.frombuffer(raw, dtype=np.uint8))
                data = buffer.getvalue()
            out.writestr(info, data)


def test_a_format_2_model_without_a_thread_stage_still_loads(small_model: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.npz"
    _rewrite_meta(
        small_model, old, lambda meta: {**{k: v for k, v in meta.items() if k != "thread"}, "format_version": 2}
    )
    model = load_model(old)
    assert model.thread is None
    assert np.array_equal(Scorer(model).score_many(["so sorry"]), load_scorer(small_model).score_many(["so sorry"]))
    ancient = tmp_path / "ancient.npz"
    _rewrite_meta(small_model, ancient, lambda meta: {**meta, "format_version": 1})
    with pytest.raises(ModelError, match="old format version 1"):
        load_model(ancient)


def test_a_thread_stage_missing_its_arrays_is_a_model_error(small_thread_model: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.npz"
    with zipfile.ZipFile(small_thread_model) as source, zipfile.ZipFile(broken, "w") as out:
        for info in source.infolist():
            if info.filename != "thread_coef.npy":
                out.writestr(info, source.read(info.filename))
    with pytest.raises(ModelError, match="damaged"):
        load_model(broken)


def test_features_are_one_definition_of_the_columns(threaded: Scorer) -> None:
    """The dense block holds what the docstring says, and the conditioned copies sit where the layout says."""
    thread = threaded.model.thread
    assert thread is not None
    inputs, tokens = threaded.first_stage_inputs(["agreed", "well said"], [CRITIC, SUPPORTER])
    engine_rows = threaded._thread_engine.rows(threaded._thread_engine.encode(tokens))  # type: ignore[union-attr]
    inputs = replace(inputs, thread_rows=engine_rows)
    dense, blocks = thread_features(thread.layout, inputs)
    k = len(threaded.labels)
    assert dense.shape == (2, thread.layout.n_dense)
    assert np.allclose(dense[:, k + 1 : 2 * k + 1], inputs.parent_probs), "the parent's probabilities"
    assert np.allclose(dense[:, -k:], inputs.similarity[:, None] * inputs.parent_probs)
    conditioned = thread.layout.offsets[0]
    for row, col, value in zip(blocks.row, blocks.indices, blocks.data, strict=True):
        label, term = divmod(int(col) - conditioned, thread.layout.n_terms)
        original = engine_rows.data[(engine_rows.row == row) & (engine_rows.indices == term)]
        assert value == pytest.approx(original[0] * inputs.parent_probs[row, label])


def test_rows_take_and_row_dot() -> None:
    rows = Rows(np.array([0, 0, 1, 2]), np.array([1, 3, 3, 0]), np.array([0.6, 0.8, 1.0, 1.0]), 3, 4)
    taken = rows.take(np.array([2, 0, 0]))
    assert taken.n_rows == 3 and taken.row.tolist() == [0, 1, 1, 2, 2]
    assert taken.indices.tolist() == [0, 1, 3, 1, 3]
    other = Rows(np.array([0, 1, 2]), np.array([3, 3, 3]), np.array([1.0, 1.0, 1.0]), 3, 4)
    assert row_dot(rows, other).tolist() == pytest.approx([0.8, 1.0, 0.0])


def test_training_reports_the_thread_stage_in_the_card(tmp_path: Path) -> None:
    from griefguard.training import ModelParams, load_corpus, train
    from griefguard.training.thread import ThreadParams

    replies = write_csv(tmp_path / "replies.csv", SMALL_CORPUS)
    threads = write_threads(tmp_path / "threads.csv")
    test = write_threads(tmp_path / "threads-test.csv", [(POST, CRITIC, "so true", "critical", "echo_short")] * 1)
    corpus = load_corpus(None, train=[replies, threads], test=test)
    result = train(corpus, folds=3, search=False, params=ModelParams(min_df=1), thread_params=ThreadParams(min_df=1))
    record = result.card["selection"]["thread"]
    assert record["rows"] == sum(1 for _, parent, *_ in SMALL_THREADS if parent)
    assert ThreadParams.from_dict(record["params"]) == ThreadParams(min_df=1)
    assert {"roc_auc", "kinds"} <= set(record["cross_validation"])
    assert {"test", "test, reply alone"} <= set(result.card["metrics"]["tests"])
