"""Releases, the ticker, the working-day calendar and deadlines."""
