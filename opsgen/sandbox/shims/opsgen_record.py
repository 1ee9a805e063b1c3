"""Ansible callback used inside the opsgen sandbox: one JSON line per task result."""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "opsgen_record"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result, status):
        path = f"/var/lib/opsgen/ansible-tasks.{os.environ.get('OPSGEN_RUN', '0')}.jsonl"
        entry = {
            "task": result._task.get_name(),
            "action": result._task.action,
            "host": result._host.get_name(),
            "status": status,
        }
        with open(path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "changed" if result._result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")
