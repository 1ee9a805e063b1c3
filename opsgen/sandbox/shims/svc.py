"""Starts and stops services inside the opsgen sandbox, where systemd is not PID 1.

docker-systemctl-replacement (``systemctl3.py`` beside this file, copied from the PyPI
package opsgen is installed with) reads the unit files and runs their ExecStart*/ExecStop*
lines itself. Its own state (locks, notify sockets, the services' output it keeps as a
journal) goes under /var/lib/opsgen/svc, which the diff leaves out, instead of /run and
/var/log/journal, where it would read as the script's changes. Only the systemctl shim
calls this; the shim keeps recording what the script asked for.
"""

from __future__ import annotations

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import systemctl3  # noqa: E402

STATE = "/var/lib/opsgen/svc"
systemctl3._notify_socket_folder = STATE
systemctl3._journal_log_folder = STATE + "/journal"
systemctl3.SYSTEMCTL_DEBUG_LOG = STATE + "/systemctl.debug.log"
systemctl3.SYSTEMCTL_EXTRA_LOG = STATE + "/systemctl.log"
sys.exit(systemctl3.main())
