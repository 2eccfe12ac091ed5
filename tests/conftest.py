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
