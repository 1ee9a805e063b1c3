"""Which package a changed file came with, so a reviewer reads the script's own changes.

Installing nginx adds about a hundred paths; the one file the script wrote drowns in them
(issue 13). dpkg records what each package shipped: ``/var/lib/dpkg/info/<pkg>.list`` (its
paths), ``<pkg>.md5sums`` (the md5 of each regular file as shipped) and the ``Conffiles:``
field of its status stanza (the md5 of each conffile as shipped). Those files are part of
the run's diff for a package the run installed or upgraded, so they are read like every
other changed file, from the container's layer, never by executing anything of the
container's. A changed path that a package installed or upgraded by this run ships, still
as shipped, is ``packaged``: the default view counts it under its package. A path the
script changed afterwards (its md5 differs), a regular file dpkg has no md5 for, and a
path no package ships stay in the detailed list. Nothing is dropped from the report:
every file keeps its entry, with ``owner_package`` set.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from opsgen.sandbox.models import FileChange, PackageChange
from opsgen.sandbox.observe import DPKG_INFO, State

__all__ = ["PACKAGE_STATE", "annotate", "is_package_state", "is_runtime"]

_STATUS = "/var/lib/dpkg/status"
#: apt's and dpkg's own bookkeeping (lists, caches, logs, maintainer scripts, debconf):
#: real changes, but what any install does; the default view counts them.
PACKAGE_STATE = (
    "/var/lib/dpkg/",
    "/var/lib/apt/",
    "/var/cache/apt/",
    "/var/cache/debconf/",
    "/var/log/apt/",
    "/var/log/dpkg.log",
    "/var/lib/systemd/deb-systemd-helper-enabled/",
    "/var/lib/systemd/deb-systemd-helper-masked/",
)


def is_package_state(path: str) -> bool:
    """apt's or dpkg's own bookkeeping (:data:`PACKAGE_STATE`)."""
    return path.startswith(PACKAGE_STATE) or path + "/" in PACKAGE_STATE


def is_runtime(path: str) -> bool:
    """Under /run (or /var/run, its link): state a boot clears, never configuration."""
    return path.startswith(("/run/", "/var/run/")) or path in ("/run", "/var/run")


def _text(state: State, path: str) -> str:
    obs = state.get(path)
    if obs is None or obs.content is None:
        return ""
    return obs.content.decode("utf-8", "replace")


def _package_of(info_path: str, suffix: str) -> str | None:
    """``nginx`` for ``/var/lib/dpkg/info/nginx.list`` (``libc6`` for ``libc6:amd64.list``)."""
    if not info_path.startswith(DPKG_INFO) or not info_path.endswith(suffix):
        return None
    base = info_path[len(DPKG_INFO) : -len(suffix)]
    return base.split(":", 1)[0] if base and "/" not in base else None


#: Debian's merged /usr: a package lists /lib/x, the layer has it at /usr/lib/x.
_MERGED = ("/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/")


def _aliases(path: str) -> tuple[str, ...]:
    return (path, "/usr" + path) if path.startswith(_MERGED) else (path,)


def _lists(state: State, names: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(path -> package, path -> md5 as shipped) from the info lists of ``names``."""
    owner: dict[str, str] = {}
    md5: dict[str, str] = {}
    for info in state:
        if (pkg := _package_of(info, ".list")) in names:
            for line in _text(state, info).splitlines():
                if line.startswith("/") and line not in ("/", "/."):
                    for alias in _aliases(line):
                        owner.setdefault(alias, pkg)
        elif _package_of(info, ".md5sums") in names:
            for line in _text(state, info).splitlines():
                digest, _, rel = line.partition("  ")
                if rel:
                    for alias in _aliases("/" + rel.lstrip("/")):
                        md5[alias] = digest.strip()
    return owner, md5


def _conffiles(status: str, names: set[str]) -> dict[str, dict[str, str]]:
    """package -> {conffile path -> md5 as shipped}, from dpkg's status file."""
    out: dict[str, dict[str, str]] = {}
    for stanza in status.split("\n\n"):
        pkg, files, inside = "", {}, False
        for line in stanza.splitlines():
            if line.startswith("Package:"):
                pkg = line.split(":", 1)[1].strip()
            elif line.startswith("Conffiles:"):
                inside = True
            elif inside and line.startswith(" "):
                parts = line.split()
                if len(parts) >= 2 and parts[0].startswith("/"):
                    files[parts[0]] = parts[1]
            else:
                inside = False
        if pkg in names:
            out.setdefault(pkg, {}).update(files)
    return out


def _as_shipped(f: FileChange, md5: dict[str, str], conf: dict[str, str]) -> bool:
    """Still as its package shipped it: a dir or link it lists (dpkg records no link
    targets), or a regular file whose md5 is the one dpkg recorded."""
    meta = f.after
    if meta is None:
        return False
    if meta.ftype in ("dir", "symlink"):
        return not f.notes or f.change == "added"
    expected = conf.get(f.path) or md5.get(f.path)
    return meta.ftype == "file" and bool(expected) and meta.md5 == expected


def annotate(
    files: Iterable[FileChange],
    packages: Iterable[PackageChange],
    before: State,
    after: State,
) -> tuple[tuple[FileChange, ...], tuple[PackageChange, ...]]:
    """Files with ``owner_package``/``packaged`` set; packages with their counts and conffiles.

    Only packages this run installed, upgraded or removed are read (their lists are in the
    diff); a file of a package that was already there keeps an empty ``owner_package``.
    """
    packages = tuple(packages)
    new = {p.name.split(":", 1)[0] for p in packages if p.change != "removed"}
    gone = {p.name.split(":", 1)[0] for p in packages if p.change == "removed"}
    if not (new or gone):
        return tuple(files), packages
    owner_new, md5 = _lists(after, new)
    owner_gone, _ = _lists(before, gone)
    conf_new = _conffiles(_text(after, _STATUS), new)
    conf_gone = _conffiles(_text(before, _STATUS), gone)
    counted: dict[str, int] = {}
    out: list[FileChange] = []
    for f in files:
        if f.change == "deleted":
            pkg = owner_gone.get(f.path, "")
            packaged = bool(pkg)
        else:
            pkg = owner_new.get(f.path, "")
            packaged = bool(pkg) and _as_shipped(f, md5, conf_new.get(pkg, {}))
        if packaged:
            counted[pkg] = counted.get(pkg, 0) + 1
        out.append(replace(f, owner_package=pkg, packaged=packaged) if pkg else f)
    shown: list[PackageChange] = []
    for p in packages:
        base = p.name.split(":", 1)[0]
        conf = conf_gone if p.change == "removed" else conf_new
        shown.append(replace(p, files=counted.get(base, 0),
                             conffiles=tuple(sorted(conf.get(base, {})))))
    return tuple(out), tuple(shown)
