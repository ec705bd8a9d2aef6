"""The one spaCy pipeline safeguard uses: blank English with a lookup lemmatizer.

Nothing is downloaded from a model hub. Set-up writes the pipeline to `SPACY_MODEL_DIR`
(Rasa's SpacyNLP loads it from there; Rasa does not pack that folder into the model
archive, so set-up must build it on every machine). The language checker and the danger
detector use the same pipeline through `english()`.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from bot import ROOT

if TYPE_CHECKING:
    from spacy.language import Language


def _import_spacy():  # noqa: ANN202
    """Import spaCy without letting thinc load TensorFlow.

    thinc probes for TensorFlow at import time; with Rasa's TensorFlow installed that costs
    seconds and hundreds of MB in every CLI call and in the action server, for nothing (our
    pipeline has no neural components). Inside the Rasa server TensorFlow is already
    loaded and this changes nothing.
    """
    if "spacy" in sys.modules or "tensorflow" in sys.modules:
        import spacy  # heavy: imported on first use, not at start-up

        return spacy
    sys.modules["tensorflow"] = None  # type: ignore[assignment]
    try:
        import spacy  # heavy: imported on first use, not at start-up
    finally:
        if sys.modules.get("tensorflow", 0) is None:
            del sys.modules["tensorflow"]
    return spacy


spacy = _import_spacy()

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
