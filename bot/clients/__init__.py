"""Clients of the Rasa server over HTTP: the Telegram gateway and the terminal chat."""
