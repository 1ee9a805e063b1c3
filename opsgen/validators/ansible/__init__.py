"""Playbooks and task files: position-aware YAML and the tasks inside it."""
