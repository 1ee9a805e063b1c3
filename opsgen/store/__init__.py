"""The change store: one SQLite database per workspace, with migrations and a hash-chained log.

Layout: :mod:`~opsgen.store.workspace` (where, and its config), :mod:`~opsgen.store.db`
(connections, WAL, transactions, migrations), :mod:`~opsgen.store.models` (row values),
:mod:`~opsgen.store.repo` (the :class:`~opsgen.store.repo.Store`), and
:mod:`~opsgen.store.audit` (the append-only chain and the integrity check).

Nothing is re-exported here on purpose: :mod:`opsgen.evaluate` imports
:mod:`opsgen.store.canonical`, and an eager ``__init__`` would make that a cycle.
"""
