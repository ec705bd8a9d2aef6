"""The one spaCy pipeline safeguard uses: blank English with a lookup lemmatizer.

Nothing is downloaded from a model hub. Set-up writes the pipeline to `SPACY_MODEL_DIR`
(Rasa's SpacyNLP loads it from there; Rasa does not pack that folder into the model
archive, so set-up must build it on every machine). The language checker and the danger
detector use the same pipeline through `english()`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import spacy
from spacy.language import Language

from bot import ROOT

SPACY_MODEL_DIR = ROOT / "var" / "spacy-en"


def build() -> Language:
    """A blank English pipeline with lemmas from spacy-lookups-data."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp


def save(path: Path = SPACY_MODEL_DIR) -> Path:
    """Write the pipeline to disk for Rasa's SpacyNLP (idempotent)."""
    nlp = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(path)
    return path


@lru_cache(maxsize=1)
def english() -> Language:
    """The shared pipeline: loaded from disk when set-up wrote it, else built in memory."""
    if (SPACY_MODEL_DIR / "config.cfg").exists():
        return spacy.load(SPACY_MODEL_DIR)
    return build()


if __name__ == "__main__":
    print(f"spaCy pipeline written to {save()}")
