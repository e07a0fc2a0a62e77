"""Migration scripts (one file per schema revision)."""
