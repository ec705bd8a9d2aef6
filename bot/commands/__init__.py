"""One module per `safeguard` subcommand; each defines ``register(subparsers)``.

Modules here import their heavy dependencies inside the command function, so
`safeguard --help` stays fast and works without Rasa installed.
"""
