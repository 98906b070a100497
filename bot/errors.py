"""Errors of the running program that are not the user's input (kept light: the CLI imports
this before it knows which command runs)."""
from __future__ import annotations


class StoreUnavailable(Exception):
    """The store cannot be reached; the message names the setting and the fix."""
