"""griefguard: flag critical replies to posts about a loss, and let supportive ones through.

from griefguard import load_scorer
scorer = load_scorer()            # the bundled model; loaded on this call, not at import
scorer.score("Posting that is disgusting")   # probability the reply is critical
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.3.0"  # the one place the version is written (pyproject.toml reads it)
__all__ = ["Explanation", "Prediction", "Scorer", "__version__", "load_scorer"]

if TYPE_CHECKING:
    from griefguard.scorer import Explanation, Prediction, Scorer, load_scorer


def __getattr__(name: str) -> Any:
    # Lazy: `import griefguard` imports neither numpy nor a model until one of these is used.
    if name in ("load_scorer", "Scorer", "Prediction", "Explanation"):
        from griefguard import scorer

        return getattr(scorer, name)
    raise AttributeError(f"module 'griefguard' has no attribute {name!r}")
