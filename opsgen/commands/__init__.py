"""One module per CLI verb; each defines ``register(app: typer.Typer) -> None``."""
