"""The Docker sandbox: hardened, disposable dry-runs that report what a script changed."""
