"""Settings and secrets: where every setting comes from."""
