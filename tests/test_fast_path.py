"""The fast path (chunks of text tokenised once and cached, n-grams found in a hash table) gives exactly the token
ids and TF-IDF rows of the exact path, on any text (a property, not an example) and on every reply in data/."""

from __future__ import annotations

import csv
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import DATA, MODEL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from griefguard import chunks, load_scorer
from griefguard.byte_chunks import NON_ASCII_SPACE, SPACE, PackedTable, chunk_bounds, pack
from griefguard.engine import Encoded, FeatureEngine, Rows
from griefguard.key_table import KeyTable
from griefguard.normalize import Tokens, tokenize
from griefguard.vocabulary_fit import fit_vocabulary

# Pieces the normaliser reads across whitespace, or that make chunks awkward: quotes of every kind, spaced and
# dotted letters, links, mentions, emoji and joiners, invisible characters, negations, sentence ends, stretched and
# obfuscated words, accents and other decompositions, whitespace above ASCII, the batch's own separators, lone
# surrogates, and chunks around the 8- and 16-byte packing limits.
PIECES = [
    *["'", '"', "‘", "’", "“", "”", "`", "´", "＂", "'fake'", '"fake"', "'so", "fake'", "kids'", "it's", "“quoted"],
    *["words”", "'qu0ted!", "(')", '"a', 'b"'],
    *["f u c k", "f", "u", "c", "k", "a", "I", "s.h.a.m.e", "f-a-k-e", "a . b . c . d", "x", "é", "ß"],
    *["https://gofund.me/abc'd?x=1", "www.site.co.uk/a", "http://", "@maria", "@", "@4tt", "$hame", "$5k"],
    *["❤️", "😭😭", "👩\u200d👩\u200d👧", "🏳️\u200d🌈", "fa\u200bke", "f\u00adake", "\u200b", "\ufeff", "\u2060"],
    *["not", "no", "nobody", "don't", "never", "without"],
    *[".", "!", "?", "…", "?!", "...", "so sad.", "wow!", "why?", "ok…", "．"],
    *["sooooo", "fakeeeee", "deeeead", "4tt3nti0n", "ＦＡＫＥ", "fаke", "İstanbul", "e\u0301", "\u0301", "≠", "a≠b"],
    *["\u1100\u200b\u1161", "¨", "a¨b", "ﬁ", "½", "²", "Ⅻ", "\ud800", "\x07", "\x7f", "\x00", "\x01", "\x85"],
    *["exactly8", "exactly16bytes!!", "seventeen-bytes!!", "ééééééé", "éééééééé", "ééééééééé", "x" * 40],
]
SEPARATORS = [" ", " ", " ", "", "  ", "\n", "\r\n", "\t", "\u00a0", "\u2003", "\u3000", "\x1c", "\x0b", " \n "]
TRICKY = st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from(SEPARATORS)), max_size=14).map(
    lambda parts: "".join(p + s for p, s in parts)
)
# Few pieces, many of them quote marks and single letters, so that quotations and letter runs meet chunk edges often.
DENSE = st.lists(
    st.tuples(
        st.sampled_from(["'", '"', "'a", "a'", '"a', 'a"', "a", "b", "f", "ab", "'ab'", "😭", "'😭", "a'b", "(", "-"]),
        st.sampled_from([" ", " ", "", "  ", "\t", "\n", ". "]),
    ),
    max_size=16,
).map(lambda parts: "".join(p + s for p, s in parts))
REPLY = st.one_of(TRICKY, st.text(max_size=60), st.text(alphabet=st.sampled_from("ab '\".!? \n\u00a0❤é"), max_size=30))
BATCH = st.lists(REPLY, max_size=10)


def assert_same_tokens(fast: Tokens, exact: Tokens) -> None:
    assert fast.n_docs == exact.n_docs
    assert fast.flat == exact.flat
    for name in ("keep", "doc_starts", "sentence_starts", "sentence_doc"):
        assert np.array_equal(getattr(fast.layout, name), getattr(exact.layout, name)), name


def assert_same_rows(a: Rows, b: Rows) -> None:
    assert (a.n_rows, a.n_features) == (b.n_rows, b.n_features)
    for name in ("row", "indices", "data"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


@pytest.fixture(scope="module")
def engine() -> FeatureEngine:
    """The bundled model's engine, with its n-gram hash tables built (they are built once it has been asked enough)."""
    scorer = load_scorer(MODEL)
    engine = scorer._engine
    engine.FAST_PATH_AT = 1  # (batches of any size through the chunk table)
    voc = engine.vocabulary
    for n in range(max(2, voc.min_n), voc.max_n + 1):
        engine._lookup._build(n)
    return engine


def exact_encoding(engine: FeatureEngine, texts: list[str]) -> tuple[Encoded, Rows, Rows]:
    """Token ids, layout and reply and sentence rows by the exact path: `normalize.tokenize`, one dict lookup per
    token, and `np.searchsorted` for the n-grams (a fresh engine: no hash table is built for a few replies)."""
    fresh = FeatureEngine(engine.vocabulary, engine.idf, engine.sublinear_tf)
    encoded = fresh.encode(tokenize(texts, engine.vocabulary.normalizer, engine.vocabulary.negation_scope))
    assert not fresh._lookup.tables and encoded.cache is None
    return encoded, fresh.rows(encoded), fresh.rows(encoded, by="sentence")


def assert_same_features(engine: FeatureEngine, texts: list[str]) -> None:
    tokens = engine.tokenize(texts)
    assert tokens.chunks is not None or not texts or engine.vocabulary.negation_scope
    encoded = engine.encode(tokens)
    exact, rows, sentence_rows = exact_encoding(engine, texts)
    assert np.array_equal(encoded.ids, exact.ids)
    for name in ("keep", "doc_starts", "sentence_starts", "sentence_doc"):
        assert np.array_equal(getattr(encoded.layout, name), getattr(exact.layout, name)), name
    assert_same_rows(engine.rows(encoded), rows)
    assert_same_rows(engine.rows(encoded, by="sentence"), sentence_rows)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(BATCH)
def test_the_fast_path_gives_the_exact_tokens(texts: list[str]) -> None:
    assert_same_tokens(chunks.tokenize(texts), tokenize(texts))
    for text in texts:  # and one reply at a time, with the table now holding its chunks
        assert chunks.tokenize([text]).flat == tokenize([text]).flat


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(DENSE, max_size=6))
def test_quotations_and_letter_runs_across_chunks(texts: list[str]) -> None:
    assert_same_tokens(chunks.tokenize(texts), tokenize(texts))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(BATCH, st.integers(1, 4))
def test_negation_scope_is_marked_on_the_joined_tokens(texts: list[str], scope: int) -> None:
    assert_same_tokens(chunks.tokenize(texts, negation_scope=scope), tokenize(texts, negation_scope=scope))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(BATCH)
def test_the_fast_path_gives_the_exact_ids_and_rows(engine: FeatureEngine, texts: list[str]) -> None:
    assert_same_features(engine, texts)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TRICKY, min_size=1, max_size=8), st.lists(REPLY, max_size=6), st.integers(1, 3), st.integers(0, 2))
def test_a_fitted_vocabulary_reads_the_fast_path_exactly(
    fit_texts: list[str], new_texts: list[str], max_n: int, scope: int
) -> None:
    vocabulary, idf = fit_vocabulary(tokenize(fit_texts, "full", scope), "full", (1, max_n), 1, scope)
    engine = FeatureEngine(vocabulary, idf)
    engine.FAST_PATH_AT = 1
    for n in range(2, max_n + 1):
        if len(vocabulary.keys[n - 1]):
            engine._lookup._build(n)
    assert_same_features(engine, fit_texts + new_texts)


def data_replies() -> list[str]:
    """Every text in data/: each CSV's reply column, and the parents and posts of the thread files."""
    texts = []
    for path in sorted(DATA.rglob("*.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                texts.extend(row[c] for c in ("text", "parent", "post") if row.get(c))
    return texts


def test_every_reply_in_the_data(engine: FeatureEngine) -> None:
    texts = data_replies()
    assert len(texts) > 30_000
    chunks.new_chunk_table()
    for _ in range(2):  # an empty chunk table, then a full one
        for i in range(0, len(texts), 2048):
            batch = texts[i : i + 2048]
            assert_same_tokens(chunks.tokenize(batch), tokenize(batch))
            assert_same_features(engine, batch)
    stats = chunks.chunk_table().stats
    assert stats.replies == 4 * len(texts) and stats.whole_sentences > 0  # (tokenised here and by the engine)


def test_a_full_table_starts_again(monkeypatch: pytest.MonkeyPatch, engine: FeatureEngine) -> None:
    monkeypatch.setattr(chunks.ChunkTable, "LIMIT", 10)
    texts = ["so sorry for your loss", "she faked it all. 'fake'", "u r a joke", "❤️ rest easy ❤️"] * 3
    tables = []
    for i in range(len(texts)):
        assert_same_features(engine, [*texts[i:], f"word{i} other{i}"])
        if chunks.chunk_table() not in tables:
            tables.append(chunks.chunk_table())
    assert len(tables) > 2


def test_threads_share_the_table(engine: FeatureEngine) -> None:
    texts = data_replies()[:4000]
    chunks.new_chunk_table()
    batches = [texts[i : i + 100] for i in range(0, len(texts), 100)]
    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda b: engine.encode(engine.tokenize(b)).ids, batches))
    for batch, got in zip(batches, ids, strict=True):
        assert np.array_equal(got, exact_encoding(engine, batch)[0].ids)


def test_whitespace_is_every_character_str_split_splits_on() -> None:
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    assert [c for c in spaces if c.isascii()] == [chr(b) for b in np.flatnonzero(SPACE)]
    for c in spaces:
        assert c.isascii() or NON_ASCII_SPACE.fullmatch(c)
    assert not NON_ASCII_SPACE.search("’—…“”😭é\u200b\u00ad")


def test_chunks_pack_exactly() -> None:
    data = "a bb \x00 exactly8 exactly16bytes!! seventeen-bytes!! é\x01".encode()
    array = np.frombuffer(data, dtype=np.uint8)
    starts, ends = chunk_bounds(array)
    assert [data[s:e] for s, e in zip(starts, ends, strict=True)] == data.replace(b"\x00", b" \x00 ").split()
    low, high = pack(array, starts, ends - starts)
    for k, (s, e) in enumerate(zip(starts, ends, strict=True)):
        raw = data[s : min(e, s + 16)].ljust(16, b"\x00")
        assert int(low[k]) == int.from_bytes(raw[:8], "little") and int(high[k]) == int.from_bytes(raw[8:], "little")
    table = PackedTable()
    table.add(low[:3], high[:3], np.arange(3))
    assert table.find(low, high).tolist() == [0, 1, 2, -1, -1, -1, -1]


KEYS = st.one_of(st.integers(0, 2**62), st.integers(0, 5000))  # (small keys crowd the table's slots)


@settings(max_examples=100, deadline=None)
@given(st.sets(KEYS, min_size=1, max_size=3000), st.lists(KEYS, max_size=200))
def test_the_key_table_finds_what_searchsorted_finds(keys: set[int], others: list[int]) -> None:
    known = np.array(sorted(keys), dtype=np.int64)
    queries = np.array(list(keys)[:300] + others, dtype=np.int64)
    position = np.searchsorted(known, queries)
    expected = np.where(known[np.minimum(position, len(known) - 1)] == queries, position, -1)
    assert KeyTable(known).find(queries).tolist() == expected.tolist()
    assert KeyTable(np.zeros(0, dtype=np.int64)).find(queries).tolist() == [-1] * len(queries)


def test_hit_rates_are_counted() -> None:
    table = chunks.new_chunk_table()
    chunks.tokenize(["so sorry. so sorry", "so"])
    assert (table.stats.chunks, table.stats.known, table.stats.new, table.stats.replies) == (5, 0, 3, 2)
    chunks.tokenize(["so sorry"])
    assert table.stats.known == 2 and 0 < table.stats.hit_rate < table.stats.reuse_rate < 1


def test_one_reply_loads_none_of_the_fast_path() -> None:
    """A one-reply command (the cold start) takes the exact path: the chunk table's and hash table's code stay
    unloaded."""
    code = (
        "import sys; from griefguard import load_scorer; load_scorer(sys.argv[1]).predict('so sorry for your loss');"
        "print(sorted(m for m in ('griefguard.chunks', 'griefguard.byte_chunks', 'griefguard.key_table')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(MODEL)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
