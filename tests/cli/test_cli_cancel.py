"""Ctrl-C, SIGTERM and SIGHUP in-process: one "Operation cancelled by user" line and exit 130."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from opsgen import cli


@pytest.fixture()
def restore_signals() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


class _Interrupted:
    def print(self, *args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt


def test_ctrl_c_in_a_verb_prints_the_message_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], restore_signals: None
) -> None:
    import opsgen.commands.version as version

    monkeypatch.setattr(version, "console", _Interrupted())
    assert cli.main(["version"]) == 130
    err = capsys.readouterr().err
    assert err.count("Operation cancelled by user") == 1, err
    assert "Traceback" not in err


def test_sighup_unwinds_like_sigterm(restore_signals: None) -> None:
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    cli.main(["version"])
    handler = signal.getsignal(signal.SIGHUP)
    assert handler is signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGHUP)


def test_sighup_stays_ignored_under_nohup(restore_signals: None) -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    cli.main(["version"])
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
