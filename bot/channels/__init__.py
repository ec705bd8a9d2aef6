"""Chat channels: how a worker's message reaches the assistant and how its reply gets back.

`safety` holds the fail-safe every channel shares (Rasa-light, no Rasa import); `rest` is the
Rasa REST channel built on it; `terminal` is the `safeguard chat` client over that channel.
"""
