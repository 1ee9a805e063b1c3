"""opsgen.generator (see the package docstring of opsgen)."""
