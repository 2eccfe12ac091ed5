"""What a review page serves (input files, decisions file, columns, token), checked before a server starts.

Shared by `griefguard review` and `serve --review`; it travels to `serve`'s worker as JSON in the environment.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from griefguard.errors import GriefguardError, OutputError
from griefguard.reading import STDIN, Skip, open_inputs
from griefguard.review import ReviewQueue, default_decisions_path
from griefguard.scorer import Scorer

__all__ = ["MIN_TOKEN_LENGTH", "ReviewSettings", "check_token_for"]

MIN_TOKEN_LENGTH = 16


def check_token_for(host: str, token: str | None) -> str | None:
    """The token to require: refuse to serve anything but 127.0.0.1 without one; an empty token is none."""
    token = (token or "").strip() or None
    if host != "127.0.0.1" and token is None:
        raise GriefguardError(
            f"the review page on {host} needs a token: give --token or set $GRIEFGUARD_TOKEN "
            "(only 127.0.0.1 is served without one)"
        )
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise GriefguardError(f"the review token is too short: use at least {MIN_TOKEN_LENGTH} characters")
    return token


@dataclass(frozen=True)
class ReviewSettings:
    """The inputs of a review queue and where its decisions go (`decisions` None: beside the first input)."""

    files: tuple[str, ...]
    decisions: str | None = None
    text_column: str = "text"
    parent_column: str = "parent"
    post_column: str = "post"
    input_format: str | None = None
    threshold: float | None = None
    token: str | None = None

    @property
    def decisions_path(self) -> Path:
        if self.decisions is not None:
            return Path(self.decisions)
        if self.files[0] == STDIN:
            raise GriefguardError("reviewing standard input needs --decisions FILE (where to keep the decisions)")
        return default_decisions_path(list(self.files))

    def checked(self, host: str, workers: int = 1, stdin: bool = True) -> ReviewSettings:
        """These settings with the token checked for `host` and the decisions path fixed, once the inputs are
        readable and the decisions file writable; one clear error otherwise."""
        from griefguard.atomic import check_writable

        if workers != 1:
            raise GriefguardError("the review page needs --workers 1: one process keeps the decisions file")
        if not stdin and STDIN in self.files:
            raise GriefguardError("serve --review reads files, not standard input")
        token = check_token_for(host, self.token)
        path = self.decisions_path
        try:
            check_writable(path)
        except OSError as exc:
            raise OutputError(f"cannot write the decisions to {path}: {exc.strerror or exc}") from None
        if STDIN not in self.files:
            open_inputs(list(self.files), self.input_format, self.text_column)
        return replace(self, token=token, decisions=str(path.resolve()))

    def check_decisions(self, labels: Sequence[str]) -> None:
        """Read the decisions file now, so that one that cannot be resumed stops the start with one line."""
        from griefguard.decisions import DecisionLog

        DecisionLog(self.decisions_path, labels)

    def build(self, scorer: Scorer) -> tuple[ReviewQueue, list[Skip]]:
        """Read the decisions so far, and read and score the replies."""
        from griefguard.decisions import DecisionLog

        return ReviewQueue.from_files(
            scorer,
            list(self.files),
            DecisionLog(self.decisions_path, scorer.labels),
            text_column=self.text_column,
            parent_column=self.parent_column,
            post_column=self.post_column,
            input_format=self.input_format,
            threshold=self.threshold,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ReviewSettings:
        values = json.loads(text)
        return cls(**{**values, "files": tuple(values["files"])})
