"""Persistence: the Store interface and its SQL implementation."""
