"""The languages opsgen writes and checks: one type for every part."""

from __future__ import annotations

from typing import Literal

__all__ = ["LANGS", "Lang"]

Lang = Literal["bash", "ansible"]
LANGS: tuple[Lang, ...] = ("bash", "ansible")
