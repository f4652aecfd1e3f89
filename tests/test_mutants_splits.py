"""Sharp tests written against the survivors of mutation testing ([tool.mutmut] in pyproject.toml)."""
