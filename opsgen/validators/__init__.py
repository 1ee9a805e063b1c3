"""opsgen.validators (see the package docstring of opsgen)."""
