"""How many flagged critical replies are still flagged when rewritten to evade a filter (stretched letters,
leetspeak, look-alike letters, zero-width characters, capitals).

    python bench/evasion.py [--model PATH]

Uses the critical replies of data/test.csv, data/realistic/test.csv and data/everyday/test.csv that the model
flags; each rewriting is seeded, so a run repeats exactly.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from griefguard import load_scorer
from griefguard.dataset import load_labeled
from griefguard.evasion import evasion_report

ROOT = Path(__file__).resolve().parents[1]
SETS = ["test.csv", "realistic/test.csv", "everyday/test.csv"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    scorer = load_scorer(args.model)
    texts = [e.text for name in SETS for e in load_labeled(ROOT / "data" / name).examples if e.label == "critical"]
    report = evasion_report(scorer, texts)
    print(f"{'rewriting':<24} still flagged")
    for name, share in report.items():
        print(f"{name:<24} {100 * share:5.1f}%")


if __name__ == "__main__":
    main()
