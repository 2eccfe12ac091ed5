"""Rebuild data/real/ from snapshots of the six public data sets named in data/README.md.

    python scripts/build_real_data.py --snapshots /work/.mirror        # writes data/real/*.csv

Each source is read at a pinned commit with `git show COMMIT:PATH` from a git directory found under
--snapshots (as `owner+name/repo`, `owner+name/repo/.git`, `owner/name.git` or `owner/name`; a
`git clone --bare https://github.com/OWNER/NAME SNAPSHOTS/OWNER/NAME.git` works). Nothing is downloaded.

Comments are kept as they are, apart from the cleaning listed in data/README.md (HTML entities in tweets,
whitespace, a space after a full stop that runs into the next sentence in counsel-chat answers, and the
opening sentences of an answer as its excerpt). Rows are mapped to our labels conservatively; each row
also gets a `role` for evaluation (neutral, empathic, hostile), a fixed `split` (train or holdout, from a
hash of the row's origin, so a rebuild gives the same split) and its `origin` in the source.
Exact and near-duplicates (within and across sources, and of the authored corpus) are dropped, so every
file passes `griefguard check-data`.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import html
import io
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from griefguard.dataset import Example, LabeledData, find_problems, load_labeled  # noqa: E402

HOLDOUT_SHARE = 0.25
MAX_CHARS = 1500
FIELDS = ["text", "label", "kind", "role", "split", "group", "origin"]


@dataclass(frozen=True)
class Source:
    name: str  # output file stem
    repo: str  # owner/name on GitHub
    commit: str


SOURCES = {
    "tweeteval": Source("tweeteval", "cardiffnlp/tweeteval", "4fbd22cd78421f05b1ecdb4fc5725bc7a7bd8f66"),
    "davidson": Source(
        "davidson", "t-davidson/hate-speech-and-offensive-language", "cb50f7e9eb855a99abc51423bf40df0e26d6fe30"
    ),
    "empathic_reactions": Source(
        "empathic_reactions", "wwbp/empathic_reactions", "3ddbf6b35c789f99c930a349f3fc26b4b2d9ae2e"
    ),
    "counsel_chat": Source("counsel_chat", "nbertagnolli/counsel-chat", "e202e19c5002482f4f6631af754c276dd9adf7f2"),
    "toxic_spans": Source("toxic_spans", "ipavlopoulos/toxic_spans", "beaf170538df8275c3447b2e26070f2f82e55272"),
    # The annotated corpora are on the repository's python3 branch, at this commit.
    "politeness": Source("politeness", "sudhof/politeness", "0449a15089479ee94ecad6b1698e8f3a2e5637ce"),
}


@dataclass
class Row:
    text: str
    label: str
    kind: str
    role: str  # neutral | empathic | hostile: what the row measures in evaluation
    group: str  # the source's own class, e.g. "sentiment:neutral"
    origin: str  # where in the source: file and line, or id
    split: str = ""  # train | holdout; "holdout" only for rows that are never trained on
    split_key: str = ""  # rows sharing a key share a split (answers to one question)


# -- reading snapshots -----------------------------------------------------------------------------------


def git_dir(snapshots: Path, repo: str) -> Path:
    owner, name = repo.split("/")
    candidates = [
        snapshots / f"{owner}+{name}" / "repo" / ".git",
        snapshots / f"{owner}+{name}" / "repo",
        snapshots / owner / f"{name}.git",
        snapshots / owner / name / ".git",
        snapshots / owner / name,
    ]
    for c in candidates:
        if (c / "HEAD").is_file() and (c / "objects").is_dir():
            return c
    raise SystemExit(f"error: no git snapshot of {repo} under {snapshots} (tried {', '.join(map(str, candidates))})")


def read(snapshots: Path, source: Source, path: str) -> str:
    done = subprocess.run(
        ["git", "--git-dir", str(git_dir(snapshots, source.repo)), "show", f"{source.commit}:{path}"],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"error: {source.repo}@{source.commit[:10]}:{path}: {done.stderr.decode().strip()}")
    return done.stdout.decode("utf-8")


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


# -- cleaning --------------------------------------------------------------------------------------------

_SPACES = re.compile(r"[ \t\u00a0]+")
_RUN_ON = re.compile(r"(?<=[a-z][.!?])(?=[A-Z][a-z])")  # "cry.Seriously" -> "cry. Seriously"
_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+|$)")


def tidy(text: str) -> str:
    """Whitespace only: runs of spaces to one, line ends to \\n, no space at either end."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(line for line in lines if line)


def tweet(text: str) -> str:
    return tidy(html.unescape(text))


def opening(answer: str, min_words: int = 12, max_words: int = 60, max_sentences: int = 3) -> str:
    """The first sentences of a counsel-chat answer: at least `min_words` words if the answer has them."""
    text = _RUN_ON.sub(" ", tidy(answer).replace("\n", " "))
    taken: list[str] = []
    words = 0
    for m in _SENTENCE.finditer(text):
        sentence = m.group().strip()
        n = len(sentence.split())
        if taken and (words + n > max_words or len(taken) >= max_sentences):
            break
        taken.append(sentence)
        words += n
        if words >= min_words:
            break
    return " ".join(taken)


# -- the sources -----------------------------------------------------------------------------------------

_YOU = re.compile(r"\b(?:you|your|you're|youre|you've|yourself|yourselves|u|ur|ya)\b", re.I)

# Contempt aimed at the person addressed: an insult said to "you" ("you're pathetic", "you idiot", "your stupid
# comment"), or a dismissal that only has an addressee ("shut up", "get a life", "fuck you"). "You" anywhere in
# a tweet is not enough: "you know the liberals ..." addresses the reader and insults someone else.
_INSULT = (
    r"(?:idiot|idiotic|moron|moronic|stupid|dumb|dumbass|dense|ignorant|pathetic|loser|clown|fool|foolish|"
    r"hypocrite|liar|troll|scum|scumbag|trash|garbage|joke|disgrace|disgusting|embarrassing|embarrassment|"
    r"delusional|deluded|clueless|brainless|retard|retarded|bitch|asshole|ass|jackass|dick|prick|twat|cunt|"
    r"bastard|piece of shit|pos|pig|sick|sicko|creep|creepy|coward|fraud|fake|lame|ridiculous|insane|crazy|nuts|"
    r"nut job|nutjob|snowflake|simp|hack|nobody|worthless|useless|hopeless|ugly|fat|gross|annoying|arrogant)"
)
_ADDRESSED_CONTEMPT = re.compile(
    r"\b(?:you(?:'re|’re| are| r|re| must be| sound| look| seem| act| have to be| really are| truly are)|u r|ur)\s+"
    r"(?:(?:a|an|the|so|such|really|truly|just|fucking|fuckin|complete|total|absolute|utter|real|"
    r"big|little|sad|sorry|such an?|as|one)\s+){0,3}" + _INSULT + r"\b"
    r"|\byou\s+(?:(?:fucking|fuckin|stupid|dumb|ignorant|pathetic|little|absolute|complete|sorry|lying|fat|ugly)\s+){0,2}"
    r"(?:idiot|moron|loser|clown|fool|hypocrite|liar|troll|bitch|asshole|jackass|dick|prick|twat|cunt|bastard|"
    r"piece of shit|pig|creep|coward|fraud|dumbass|retard|snowflake|scumbag|scum|sicko)s?\b"
    r"|\byour\s+(?:(?:stupid|dumb|ignorant|pathetic|idiotic|moronic|ridiculous|fake|ugly|fat|sorry)\s+)\w+"
    r"|\b(?:shut (?:the fuck |the hell )?up|stfu|fuck (?:you|off|u)|screw you|go to hell|get a life|get a grip|"
    r"grow up|grow a pair|nobody cares|no one cares|who asked|go away|get lost|kill yourself|kys|piss off|"
    r"get over yourself|go fuck yourself|eat shit)\b",
    re.I,
)
_POLITICS = re.compile(
    r"\b(?:liberal|liberals|libs|libtard|conservative|conservatives|democrat|democrats|dem|dems|republican|"
    r"republicans|gop|maga|trump|obama|hillary|clinton|biden|pelosi|kavanaugh|antifa|nra|gun control|leftist|"
    r"leftists|the left|right wing|right-wing|socialist|communist|fascist|nazi|nazis|immigra\w*|congress|senate|"
    r"senator|president|election|vote|voters|brexit|tory|tories|labour|trudeau|putin|government|politic\w*|"
    r"feminist|feminists|muslims?|islam\w*|sharia|christians?|jews?|jewish|racist|racists|blm)\b",
    re.I,
)
_BANTER = re.compile(r"\b(?:lol|lmao|lmfao|haha\w*|jk|rofl)\b|😂|🤣|😆|😜", re.I)


def addressed_contempt(text: str) -> bool:
    """Contempt said to the person addressed, outside politics and banter (see _ADDRESSED_CONTEMPT)."""
    return bool(_ADDRESSED_CONTEMPT.search(text)) and not _POLITICS.search(text) and not _BANTER.search(text)


# Sympathy, in what a reply says to a person in distress: these make an empathic row supportive under the
# labeling guide. An excerpt without any is advice or information (neutral under the guide), so it is left out.
_SYMPATHY = re.compile(
    r"\b(?:sorry|sad|sadden\w*|heartbreak\w*|heartbroken|heart goes out|my heart|my thoughts|prayers|pray|"
    r"condolences|tragic|tragedy|devastat\w*|can(?:no|')t imagine|cannot imagine|can only imagine|so hard|"
    r"really hard|very hard|must be hard|difficult|painful|pain|hurts?|feel for|feel so bad|feel bad for|"
    r"sympath\w*|compassion|glad you|brave|courage|not alone|understandabl\w*|valid|normal to feel|"
    r"sounds like you(?:'re| are)? (?:going through|feeling|struggling|hurting|in pain)|overwhelm\w*|"
    r"my heart|hugs|thinking of|hope (?:they|you|she|he|the families|the family)|grief|grieving|loss)\b",
    re.I,
)
# Political essays and blame are not empathy toward a person, whatever a rating says.
_BLAME = re.compile(
    r"\b(?:their own fault|his own fault|her own fault|should have known|should've known|deserve[sd]?|"
    r"negligen\w*|irresponsible|stupid|idiots?|blame (?:the|them|him|her)|bad (?:mom|mother|parent|parents)|"
    r"over-?rated|climate|global warming|greenhouse|pipeline|advertis\w*|shouldn'?t have|should not have|"
    r"maybe don'?t|if you don'?t want|get him|army|military)\b",
    re.I,
)


def empathic(text: str) -> bool:
    """A row that expresses sympathy and is neither a political essay nor blame of the victim."""
    return bool(_SYMPATHY.search(text)) and not _POLITICS.search(text) and not _BLAME.search(text)


# Rows whose label in the source is wrong under our guide, by origin: corrected, with the reason.
CORRECTIONS = {
    # A "not-offensive" reply that accuses a bereaved family of using a death for sympathy: critical.
    ("tweeteval", "offensive/train:2817"): ("critical", "hostile", "hostile"),
}


def tweeteval(snapshots: Path) -> Iterator[Row]:
    """Sentiment neutral and positive, and emotion joy and optimism: neutral. The offensive task (OLID): in its
    train and validation splits, offensive tweets that address the reader ("you") are critical, and
    not-offensive tweets neutral (those that address the reader too, so that "you" alone means nothing); its
    test split is held out whole (not-offensive neutral, offensive the hostile side). Offensive tweets are critical
    only when they hold contempt for the person addressed (`addressed_contempt`: not politics, not banter);
    "not-offensive" tweets that hold such contempt are left out rather than called neutral."""
    src = SOURCES["tweeteval"]

    def task(name: str, split: str) -> Iterator[tuple[int, str, str]]:
        mapping = dict(line.split("\t") for line in read(snapshots, src, f"datasets/{name}/mapping.txt").splitlines())
        texts = read(snapshots, src, f"datasets/{name}/{split}_text.txt").split("\n")
        labels = read(snapshots, src, f"datasets/{name}/{split}_labels.txt").split("\n")
        for i, (t, lab) in enumerate(zip(texts, labels, strict=False), start=1):
            if t.strip() and lab.strip():
                yield i, tweet(t), mapping[lab.strip()].strip()

    for split in ("val", "test"):  # the sentiment train split is not in the snapshot (over 4 MiB)
        for line, text, cls in task("sentiment", split):
            if cls in ("neutral", "positive") and not _ADDRESSED_CONTEMPT.search(text):
                yield Row(text, "neutral", "plain", "neutral", f"sentiment:{cls}", f"sentiment/{split}:{line}")
    for split in ("train", "val", "test"):
        for line, text, cls in task("emotion", split):
            if cls in ("joy", "optimism") and not _ADDRESSED_CONTEMPT.search(text):
                yield Row(text, "neutral", "plain", "neutral", f"emotion:{cls}", f"emotion/{split}:{line}")
    for split in ("train", "val"):
        for line, text, cls in task("offensive", split):
            origin = f"offensive/{split}:{line}"
            if cls == "offensive" and addressed_contempt(text):
                yield Row(text, "critical", "hostile", "hostile", "offensive-train:addressed", origin, split="train")
            elif cls == "not-offensive" and not _ADDRESSED_CONTEMPT.search(text):
                # Addressed and not, so that "you" alone does not come to mean hostile.
                group = (
                    "offensive-train:not-offensive-addressed" if _YOU.search(text) else "offensive-train:not-offensive"
                )
                yield Row(text, "neutral", "plain", "neutral", group, origin, split="train")
    for line, text, cls in task("offensive", "test"):
        origin = f"offensive/test:{line}"
        if cls == "offensive":
            yield Row(text, "critical", "hostile", "hostile", "offensive:offensive", origin, split="holdout")
        else:
            yield Row(text, "neutral", "plain", "neutral", "offensive:not-offensive", origin, split="holdout")


def davidson(snapshots: Path) -> Iterator[Row]:
    """Tweets all coders called neither hate speech nor offensive: neutral. Tweets most coders called hate speech
    are held out as the hostile side, never trained on. The 'offensive language' class is left out: much of it
    is friendly slang and profanity, not hostility, and a profanity detector is what griefguard must not be."""
    src = SOURCES["davidson"]
    for r in csv_rows(read(snapshots, src, "data/labeled_data.csv")):
        origin = f"labeled_data.csv:id={r['']}"
        text = tweet(r["tweet"])
        if r["class"] == "2" and r["neither"] == r["count"] and not _ADDRESSED_CONTEMPT.search(text):
            yield Row(text, "neutral", "plain", "neutral", "neither", origin)
        elif r["class"] == "0":
            yield Row(text, "critical", "hostile", "hostile", "hate_speech", origin, split="holdout")


def empathic_reactions(snapshots: Path) -> Iterator[Row]:
    """Messages about news of tragedies rated 5 or more (of 7) for empathic concern, that express sympathy and are
    neither political essays nor blame of the victims (`empathic`): supportive."""
    src = SOURCES["empathic_reactions"]
    for r in csv_rows(read(snapshots, src, "data/responses/data/messages.csv")):
        if float(r["empathy"]) >= 5.0 and empathic(tidy(r["essay"])):
            yield Row(
                tidy(r["essay"]), "supportive", "plain", "empathic", "empathy>=5", f"message_id={r['message_id']}"
            )


def counsel_chat(snapshots: Path) -> Iterator[Row]:
    """The opening sentences of therapists' answers to people asking for help, where they express sympathy
    (`empathic`): supportive. Openings that are advice or information alone are neutral under the guide and left
    out."""
    src = SOURCES["counsel_chat"]
    for i, r in enumerate(csv_rows(read(snapshots, src, "data/20200325_counsel_chat.csv"))):
        text = opening(r["answerText"])
        if text and empathic(text):
            yield Row(
                text,
                "supportive",
                "plain",
                "empathic",
                "grief-and-loss" if r["topic"] == "grief-and-loss" else "other topics",
                f"20200325_counsel_chat.csv:row={i}",
                split_key=f"question={r['questionID']}",
            )


def toxic_spans(snapshots: Path) -> Iterator[Row]:
    """Comments where most annotators marked an insult aimed at the person addressed (`aimed_at_reader`):
    critical. Insults aimed at third parties or groups, proverbs with a generic "you" and political arguments
    (where the insult is as often at a politician as at the reader) are left out."""
    src = SOURCES["toxic_spans"]
    comments = {r["comment_id"]: r["comment_text"] for r in csv_rows(read(snapshots, src, "data/comments.csv"))}
    annotations = csv_rows(read(snapshots, src, "data/annotations.csv"))
    comment_of = {a["annotation"]: a["comment_id"] for a in annotations}
    annotators: dict[str, int] = defaultdict(int)
    for a in annotations:
        annotators[a["comment_id"]] += 1
    votes: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for s in csv_rows(read(snapshots, src, "data/spans.csv")):
        if s["type"] == "Insult":
            cid = comment_of[s["annotation"]]
            for i in range(int(s["start"]), int(s["end"])):
                votes[cid][i] += 1
    for cid in sorted(votes, key=int):
        text = comments[cid]
        insult = {i for i, v in votes[cid].items() if 2 * v > annotators[cid]}
        if aimed_at_reader(text, insult) and not _POLITICS.search(text):
            yield Row(tidy(text), "critical", "hostile", "hostile", "insult_addressed", f"comment_id={cid}")


_GENERIC_YOU = re.compile(r"can'?t fix stupid|never argue with (?:an? )?(?:idiot|fool)|argue with an idiot", re.I)
_PLURAL = re.compile(r"s\b|\bpeople\b|\bthey\b|\bthem\b", re.I)


def aimed_at_reader(text: str, insult: set[int]) -> bool:
    """Whether a marked insult is aimed at the person addressed: a span of the insult, naming one person (not
    "idiots", "these people"), stands within a few words of "you"/"your", or the sentence holds contempt said to
    the reader (`_ADDRESSED_CONTEMPT`). Proverbs with a generic "you" ("you can't fix stupid") do not count."""
    if _GENERIC_YOU.search(text) or not insult:
        return False
    spans: list[tuple[int, int]] = []
    for i in sorted(insult):
        if spans and i == spans[-1][1]:
            spans[-1] = (spans[-1][0], i + 1)
        else:
            spans.append((i, i + 1))
    for start, end in spans:
        word = text[start:end].strip()
        if not word or _PLURAL.search(word):
            continue
        window = text[max(0, start - 30) : min(len(text), end + 12)]
        sentence = next(
            (m.group() for m in re.finditer(r"[^.!?\n]+[.!?]*", text) if m.start() <= start < m.end()), window
        )
        if _YOU.search(window) or _ADDRESSED_CONTEMPT.search(sentence):
            return True
    return False


def politeness(snapshots: Path) -> Iterator[Row]:
    """Requests from Wikipedia talk pages and Stack Exchange: neutral. The least polite tenth (normalised
    score below the 10th percentile) is left out: some of it is contempt for the person addressed."""
    src = SOURCES["politeness"]
    rows = []
    for corpus in ("wikipedia", "stack-exchange"):
        for r in csv_rows(read(snapshots, src, f"corpora/{corpus}.annotated.csv")):
            rows.append((float(r["Normalized Score"]), tidy(r["Request"]), f"{corpus}.annotated.csv:Id={r['Id']}"))
    scores = sorted(s for s, _, _ in rows)
    cut = scores[len(scores) // 10]
    for score, text, origin in rows:
        if score >= cut and not _ADDRESSED_CONTEMPT.search(text):
            yield Row(text, "neutral", "plain", "neutral", "request", origin)


BUILDERS: dict[str, Callable[[Path], Iterator[Row]]] = {
    "tweeteval": tweeteval,
    "davidson": davidson,
    "empathic_reactions": empathic_reactions,
    "counsel_chat": counsel_chat,
    "toxic_spans": toxic_spans,
    "politeness": politeness,
}
# At most this many rows per (source, group), chosen by hash so a rebuild picks the same ones.
CAPS = {
    ("tweeteval", "sentiment:neutral"): 1800,
    ("tweeteval", "sentiment:positive"): 1200,
    ("tweeteval", "emotion:joy"): 600,
    ("tweeteval", "emotion:optimism"): 400,
    ("tweeteval", "offensive-train:not-offensive"): 1000,
    ("tweeteval", "offensive-train:not-offensive-addressed"): 2000,
    ("davidson", "neither"): 2500,
    ("davidson", "hate_speech"): 600,
    ("politeness", "request"): 3000,
}


def _hash(*parts: str) -> float:
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def select(source: str, rows: list[Row]) -> list[Row]:
    """Cap each group by hash order, and give every row its fixed split."""
    by_group: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        if (source, r.origin) in CORRECTIONS:
            r.label, r.kind, r.role = CORRECTIONS[(source, r.origin)]
        if 2 <= len(r.text) <= MAX_CHARS:
            by_group[r.group].append(r)
    out = []
    for group, members in by_group.items():
        members.sort(key=lambda r: _hash(source, r.origin))
        cap = CAPS.get((source, group))
        for r in members[:cap]:
            if not r.split:
                r.split = "holdout" if _hash(source, "split", r.split_key or r.origin) < HOLDOUT_SHARE else "train"
            out.append(r)
    out.sort(key=lambda r: (r.split != "train", r.group, _hash(source, r.origin)))
    return out


def _as_data(path: Path, rows: list[Row]) -> LabeledData:
    examples = [Example(text=r.text, label=r.label, line=i + 2, kind=r.kind) for i, r in enumerate(rows)]
    return LabeledData(path=path, examples=examples, sha256="")


def deduplicate(sources: dict[str, list[Row]], authored: list[LabeledData], out_dir: Path) -> dict[str, list[Row]]:
    """Drop rows that repeat or nearly repeat the authored corpus or an earlier row, until none is left."""
    from griefguard.dataset import _key, near_duplicates

    seen = {_key(e.text) for d in authored for e in d.examples}
    kept: dict[str, list[Row]] = {}
    for name, rows in sources.items():
        unique = []
        for r in rows:
            k = _key(r.text)
            if k not in seen:
                seen.add(k)
                unique.append(r)
        kept[name] = unique
    while True:
        names = list(kept)
        datasets = [*authored, *[_as_data(out_dir / f"{n}.csv", kept[n]) for n in names]]
        drop: dict[int, set[int]] = defaultdict(set)
        for _, (d2, r2), _ in near_duplicates(datasets):
            if d2 >= len(authored):
                drop[d2 - len(authored)].add(r2)
        if not drop:
            return kept
        for i, rows in drop.items():
            kept[names[i]] = [r for j, r in enumerate(kept[names[i]]) if j not in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--snapshots", type=Path, required=True, help="folder holding the fetched git snapshots")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "real", help="output folder (data/real)")
    args = parser.parse_args(argv)
    data = ROOT / "data"
    authored_files = [
        *sorted(data.glob("*.csv")),
        *sorted(p for p in data.glob("*/*.csv") if p.parent.name != "real"),
    ]
    authored = [load_labeled(p, check=False) for p in authored_files if p.exists()]
    sources = {name: select(name, list(build(args.snapshots))) for name, build in BUILDERS.items()}
    sources = deduplicate(sources, authored, args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rows in sources.items():
        with open(args.out / f"{name}.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(FIELDS)
            for r in rows:
                writer.writerow([r.text, r.label, r.kind, r.role, r.split, r.group, r.origin])
        counts: dict[tuple[str, str, str], int] = defaultdict(int)
        for r in rows:
            counts[(r.split, r.group, r.label)] += 1
        summary = ", ".join(f"{s}/{g}/{lab} {n}" for (s, g, lab), n in sorted(counts.items()))
        print(f"{name}: {len(rows)} rows ({summary})")
    problems = find_problems([*authored, *[load_labeled(args.out / f"{n}.csv", check=False) for n in sources]])
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
