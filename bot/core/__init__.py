"""The policy and rule core: packs, contacts, triage, language, replies. No I/O beyond
its own data files; no Rasa, database or HTTP (an import-linter contract in `make test`)."""
