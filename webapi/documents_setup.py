"""Wiring of the records office's procedure operators: their secret, from the settings."""

from __future__ import annotations

from documents import operators as documents_operators

from .config import Settings

__all__ = ["configure", "documents_operators"]  # importing registers the operators


def configure(settings: Settings) -> None:
    """Give `sign` the app's secret, which encrypts the signing keys."""
    documents_operators.configure(settings.resolved_secret_key())
