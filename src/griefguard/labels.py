"""The labels a reply can have, named once: `critical` is the one scored and flagged."""

from __future__ import annotations

__all__ = ["BENIGN_ROLES", "CRITICAL", "LABELS", "NEUTRAL", "SUPPORTIVE"]

CRITICAL = "critical"  # judges the grieving person: scored, and flagged at the threshold
SUPPORTIVE = "supportive"  # comforts, or defends the grieving person (however harshly)
NEUTRAL = "neutral"  # everything else: questions, remarks, tags, spam
LABELS = (CRITICAL, SUPPORTIVE, NEUTRAL)  # index 0 is the positive class
BENIGN_ROLES = ("neutral", "empathic")  # roles of real comments (data/real/) that should never be flagged
