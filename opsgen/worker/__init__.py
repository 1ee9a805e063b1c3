"""The warm worker behind ``opsgen worker start``: a fork-server for ``new``, ``dryrun``, ``lint``.

:mod:`opsgen.worker.server` is the long-lived process (listens on a Unix socket, forks one
child per request); :mod:`opsgen.worker.setup` readies it once (runtime dir, lock, socket,
preloaded modules and model, the code fingerprint); :mod:`opsgen.worker.child` is what a
forked child does with a request; :mod:`opsgen.worker.control` starts, stops and queries a worker
for the ``opsgen worker`` verb. The client side is :mod:`opsgen.launcher`.
"""

from __future__ import annotations
