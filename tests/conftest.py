"""Shared fixtures: paths to the shipped corpus and model, and a small labeled corpus written for tests."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
MODELS = ROOT / "models"
MODEL = MODELS / "griefguard.npz"

# A small hand-written corpus for fast training tests: distinct replies, three labels, several kinds.
SMALL_CORPUS = [
    ("So sorry for your loss, she was beautiful", "supportive", "plain"),
    ("Holding your family in my prayers tonight", "supportive", "plain"),
    ("Your son was loved by so many, that church was packed", "supportive", "plain"),
    ("I lost my twins at 20 weeks. You are not alone in this", "supportive", "plain"),
    ("Thank you for sharing her photos, she deserves to be remembered", "supportive", "plain"),
    ("People calling this attention seeking are disgusting", "supportive", "defends"),
    ("Nobody should be judged for how they grieve", "supportive", "negation"),
    ("❤️🙏", "supportive", "short"),
    ("Rest easy sweet boy", "supportive", "short"),
    ("If you need meals next week my door is open", "supportive", "plain"),
    ("Grief has no timeline, take all the time you need", "supportive", "plain"),
    ("What a gorgeous dog, he clearly had the best life with you", "supportive", "plain"),
    ("Posting a dead baby online is disgusting", "critical", "plain"),
    ("She did this for likes, nothing else", "critical", "plain"),
    ("That's what happens when you don't rest during pregnancy", "critical", "plain"),
    ("It was just a dog, get over it", "critical", "plain"),
    ("Fake. PR stunt for the new album", "critical", "plain"),
    ("Sorry for your loss but some things belong in a family album", "critical", "polite_critical"),
    ("Not saying she deserved it, but she ignored every warning", "critical", "negation"),
    ("clout chasing", "critical", "short"),
    ("It's been a year, time to move on already", "critical", "plain"),
    ("At least you can try again, others have it worse", "critical", "plain"),
    ("Monetising your grief with a fundraiser is tacky", "critical", "plain"),
    ("You weren't even that close to her, stop the act", "critical", "plain"),
    ("What camera did you use for these photos?", "neutral", "question"),
    ("Is parking available at the chapel on Saturday?", "neutral", "question"),
    ("@jess look at this", "neutral", "offtopic"),
    ("first!", "neutral", "short"),
    ("The inquest opens in March at the county court", "neutral", "plain"),
    ("Which charity is the family naming for donations?", "neutral", "question"),
    ("check my bio for free followers", "neutral", "offtopic"),
    ("that song in the video is by a band from Leeds", "neutral", "offtopic"),
]


def write_csv(path: Path, rows: list[tuple[str, ...]], header: tuple[str, ...] = ("text", "label", "kind")) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="session")
def scorer():  # type: ignore[no-untyped-def]
    """The bundled model, loaded once for the tests that only read it."""
    from griefguard.scorer import load_scorer

    return load_scorer(MODEL)


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "small.csv", SMALL_CORPUS)


@pytest.fixture(scope="session")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained (without search) on SMALL_CORPUS: fast, and independent of the bundled model."""
    from griefguard.training import ModelParams, load_corpus, save_outputs, train

    folder = tmp_path_factory.mktemp("small-model")
    data = write_csv(folder / "small.csv", SMALL_CORPUS)
    corpus = load_corpus(None, train=[data], no_test=True)
    result = train(corpus, folds=3, search=False, params=ModelParams(min_df=1))
    path = folder / "griefguard.npz"
    save_outputs(result, path)
    return path


# A small hand-written thread corpus: (post, parent, reply, label, kind). The same short echoes stand under a
# critical, a supportive and a neutral parent; defenders answer critics rudely; pile-ons agree with them.
POST = "We said goodbye to our boy Theo today. He was 9."
CRITIC = "posting your dead kid for likes is disgusting"
CRITIC_2 = "she only posted this for attention, delete it"
SUPPORTER = "So sorry for your loss, Theo was a sweet boy"
SUPPORTER_2 = "sending your family so much love tonight"
SIDE = "what time is the service on Saturday?"
SIDE_2 = "is there parking at the chapel?"
SMALL_THREADS = [
    (POST, CRITIC, "agreed", "critical", "echo_short"),
    (POST, SUPPORTER, "agreed", "supportive", "echo_short"),
    (POST, SIDE, "agreed", "neutral", "echo_short"),
    (POST, CRITIC_2, "this", "critical", "echo_short"),
    (POST, SUPPORTER_2, "this", "supportive", "echo_short"),
    (POST, SIDE_2, "this", "neutral", "echo_short"),
    (POST, CRITIC, "well said, someone had to", "critical", "piles_on"),
    (POST, CRITIC_2, "exactly what I was thinking", "critical", "piles_on"),
    (POST, CRITIC, "thank you for saying it", "critical", "piles_on"),
    (POST, CRITIC_2, "finally someone said it", "critical", "piles_on"),
    (POST, CRITIC, "who raised you? go outside", "supportive", "defends"),
    (POST, CRITIC_2, "nobody asked you, log off", "supportive", "defends"),
    (POST, CRITIC, "imagine typing this under a kid's photo", "supportive", "defends"),
    (POST, CRITIC_2, "you are a miserable person, she lost her son", "supportive", "defends"),
    (POST, SUPPORTER, "well said, he really was", "supportive", "agrees_support"),
    (POST, SUPPORTER_2, "yes, love to all of you", "supportive", "agrees_support"),
    (POST, SUPPORTER, "y'all will cry over anything, it's been a week", "critical", "attacks_supporter"),
    (POST, SUPPORTER_2, "stop feeding her attention habit", "critical", "attacks_supporter"),
    (POST, SIDE, "2pm I think, check the funeral home page", "neutral", "side_talk"),
    (POST, SIDE_2, "ugh no, the lot is tiny", "neutral", "side_talk"),
    (POST, SIDE, "thank you, I was wondering too", "neutral", "side_talk"),
    (POST, SIDE_2, "the one on Elm has a big lot", "neutral", "side_talk"),
    (POST, "", "Rest easy Theo", "supportive", "direct"),
    (POST, "", "fake, he's not even dead", "critical", "direct"),
]


def write_threads(path: Path, rows: list[tuple[str, ...]] = SMALL_THREADS) -> Path:
    return write_csv(path, rows, ("post", "parent", "text", "label", "kind"))


@pytest.fixture(scope="session")
def small_thread_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model with a thread stage, trained (without search) on SMALL_CORPUS and SMALL_THREADS."""
    from griefguard.training import ModelParams, load_corpus, save_outputs, train
    from griefguard.training.thread import ThreadParams

    folder = tmp_path_factory.mktemp("small-thread-model")
    replies = write_csv(folder / "small.csv", SMALL_CORPUS)
    threads = write_threads(folder / "threads.csv")
    corpus = load_corpus(None, train=[replies, threads], no_test=True)
    result = train(corpus, folds=3, search=False, params=ModelParams(min_df=1), thread_params=ThreadParams(min_df=1))
    path = folder / "griefguard.npz"
    save_outputs(result, path)
    return path
