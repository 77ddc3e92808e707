"""Helpers every family shares: argument checks and the thread pool for block work."""
