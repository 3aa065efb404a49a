"""DataLink for every observation (filled by the DataLink issue)."""
