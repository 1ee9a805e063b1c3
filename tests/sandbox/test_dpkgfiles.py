"""A package's own files, from dpkg's lists (issue 13); no Docker: states built by hand."""

from __future__ import annotations

import hashlib

from opsgen.sandbox.compare import diff_states
from opsgen.sandbox.models import FileMeta
from opsgen.sandbox.tarstream import Observed

STATUS_BEFORE = b"Package: base\nStatus: install ok installed\nVersion: 1\n"
STATUS_AFTER = STATUS_BEFORE + (
    b"\nPackage: web\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.0\n"
    b"Conffiles:\n /etc/web.conf " + hashlib.md5(b"port 80\n").hexdigest().encode() + b"\n"
)


def _file(content: bytes) -> Observed:
    meta = FileMeta("file", 0o644, 0, 0, len(content), hashlib.sha256(content).hexdigest(),
                    md5=hashlib.md5(content).hexdigest())
    return Observed(meta, content)


def _after(conf: bytes, binary: bytes) -> dict[str, Observed | None]:
    shipped = hashlib.md5(b"ELF web").hexdigest()
    return {
        "/var/lib/dpkg/status": _file(STATUS_AFTER),
        "/var/lib/dpkg/info/web.list": _file(b"/.\n/lib\n/lib/web\n/lib/web/webd\n/etc/web.conf\n"),
        "/var/lib/dpkg/info/web.md5sums": _file(f"{shipped}  lib/web/webd\n".encode()),
        "/usr/lib/web/webd": _file(binary),
        "/etc/web.conf": _file(conf),
        "/srv/index.html": _file(b"hello\n"),
    }


def _before(after: dict[str, Observed | None]) -> dict[str, Observed | None]:
    return {**dict.fromkeys(after), "/var/lib/dpkg/status": _file(STATUS_BEFORE)}


def test_files_as_shipped_are_counted_under_their_package() -> None:
    after = _after(b"port 80\n", b"ELF web")
    diff = diff_states(_before(after), after)
    files = {f.path: f for f in diff.files}
    assert files["/usr/lib/web/webd"].owner_package == "web"  # merged /usr alias
    assert files["/usr/lib/web/webd"].packaged and files["/etc/web.conf"].packaged
    assert files["/srv/index.html"].owner_package == "" and not files["/srv/index.html"].packaged
    (web,) = diff.packages
    assert (web.name, web.change, web.after, web.files) == ("web", "installed", "2.0", 2)
    assert web.conffiles == ("/etc/web.conf",)


def test_files_changed_after_install_stay_listed() -> None:
    """Control for the test above: the same paths, changed by the script after the install."""
    after = _after(b"port 8080\n", b"ELF trojan")
    diff = diff_states(_before(after), after)
    files = {f.path: f for f in diff.files}
    assert files["/etc/web.conf"].owner_package == "web" and not files["/etc/web.conf"].packaged
    assert not files["/usr/lib/web/webd"].packaged
    assert diff.packages[0].files == 0
