"""rasa-sdk actions: thin translations between Rasa's tracker and the `bot/` core.

One module per concern, as in RasaHQ/financial-demo: `answers` (organisation-specific
questions), `danger` (the alarm after 999), `disclosure_form` (the guided record),
`notes` (the language checker), `leads` (commands for Safeguarding Leads), and `context`
(who the worker is, which policy pack applies). No rule, number or wording is decided
here; every answer comes from `bot/`.
"""

import bot.core.nlp  # noqa: F401  (imports spaCy without loading TensorFlow into the action server)
