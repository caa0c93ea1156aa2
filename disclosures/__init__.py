"""Fee schedule and terms with immutable versions and change notices (filled by its own issue)."""
