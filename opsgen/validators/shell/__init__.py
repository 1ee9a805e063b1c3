"""A small, tolerant bash parser for the policy rules (shellcheck does the deep analysis)."""
