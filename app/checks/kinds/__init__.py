"""One module per kind of check: its declaration (what checks.yaml says), its problems and its computation."""
