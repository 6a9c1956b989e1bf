"""File helpers shared by every stage: atomic writes, TOML, frame sources."""
