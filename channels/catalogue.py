"""The explicit list of channel adapters. Importing a module registers its channel."""
from __future__ import annotations


def load() -> None:
    from channels.website import channel  # noqa: F401
