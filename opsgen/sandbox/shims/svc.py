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
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import systemctl3  # noqa: E402

STATE = "/var/lib/opsgen/svc"
systemctl3._notify_socket_folder = STATE
systemctl3._journal_log_folder = STATE + "/journal"
systemctl3.SYSTEMCTL_DEBUG_LOG = STATE + "/systemctl.debug.log"
systemctl3.SYSTEMCTL_EXTRA_LOG = STATE + "/systemctl.log"


_kill_pid = systemctl3.Systemctl._kill_pid
_GONE_WAIT = 0.5  # seconds a signalled process is given to go before the caller looks


def _kill_pid_and_look(self: systemctl3.Systemctl, pid: int,
                       kill_signal: int | None = None) -> bool:
    """Signal ``pid``, then look every 10 ms (at most half a second) whether it went.

    After signalling, the replacement checks the process once and, seeing it still there,
    sleeps a whole second before it checks again: stopping cron (gone in a millisecond)
    cost a second, and every dry-run that starts a service stops it before its diff is
    read. Its own deadline and SIGKILL follow-up are unchanged.
    """
    done = _kill_pid(self, pid, kill_signal)
    deadline = time.monotonic() + _GONE_WAIT
    while not done and time.monotonic() < deadline:
        time.sleep(0.01)
        done = not systemctl3.pid_exists(pid) or systemctl3.pid_zombie(pid)
    return bool(done)


systemctl3.Systemctl._kill_pid = _kill_pid_and_look  # type: ignore[method-assign]
# After starting a process the replacement waits this long before it checks that it did not
# exit at once (0.5 s by default); services that fail on start (a bad config, a missing
# binary) do so within milliseconds.
systemctl3.MinimumYield = 0.2
sys.exit(systemctl3.main())
