"""Fusionbot: a Discord bot for SenseTime's fusion API (SenseChat answers and Miaohua pictures)."""

__version__ = "0.1.0"
