"""Rasa input channels: REST (with the fail-safe) and Microsoft Teams."""
