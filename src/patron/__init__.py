"""Patron: one record per customer across every channel."""

__version__ = "0.1.0"
