"""Reading users, groups, packages and cron jobs out of the files a run changed."""

from __future__ import annotations

import posixpath

from opsgen.sandbox.models import AccountChange, CronChange, PackageChange

__all__ = ["account_changes", "cron_changes", "package_changes"]

Contents = dict[str, bytes | None]

_PASSWD_FIELDS = ("password", "uid", "gid", "gecos", "home", "shell")
_GROUP_FIELDS = ("password", "gid", "members")
_CRON_TABLES = ("/etc/crontab", "/etc/cron.d/", "/var/spool/cron/crontabs/", "/etc/anacrontab")
_CRON_PERIODIC = (
    "/etc/cron.hourly/",
    "/etc/cron.daily/",
    "/etc/cron.weekly/",
    "/etc/cron.monthly/",
)


def _table(data: bytes | None, fields: tuple[str, ...]) -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for line in (data or b"").decode("utf-8", "replace").splitlines():
        parts = line.split(":")
        if len(parts) >= len(fields) + 1 and parts[0]:
            rows[parts[0]] = dict(zip(fields, parts[1:], strict=False))
    return rows


def _shadow_state(data: bytes | None) -> dict[str, str]:
    """user -> 'locked' | 'set' | 'empty' (never the hash itself)."""
    out: dict[str, str] = {}
    for line in (data or b"").decode("utf-8", "replace").splitlines():
        parts = line.split(":")
        if len(parts) > 1 and parts[0]:
            pw = parts[1]
            out[parts[0]] = "empty" if pw == "" else "locked" if pw[:1] in "!*" else "set"
    return out


def _compare(
    kind: str,
    old: dict[str, dict[str, str]],
    new: dict[str, dict[str, str]],
    hidden: tuple[str, ...],
) -> list[AccountChange]:
    changes: list[AccountChange] = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a is None and b is not None:
            details = {k: v for k, v in b.items() if k not in hidden}
            changes.append(AccountChange(kind, name, "added", details))  # type: ignore[arg-type]
        elif b is None and a is not None:
            changes.append(AccountChange(kind, name, "removed"))  # type: ignore[arg-type]
        elif a != b and a is not None and b is not None:
            details = {
                k: f"{a.get(k, '')} -> {b.get(k, '')}"
                for k in b
                if k not in hidden and a.get(k) != b.get(k)
            }
            if details:
                changes.append(AccountChange(kind, name, "changed", details))  # type: ignore[arg-type]
    return changes


def account_changes(
    before: Contents, after: Contents
) -> tuple[list[AccountChange], list[AccountChange]]:
    """Users and groups added, removed or changed, from /etc/passwd, /etc/shadow, /etc/group."""
    users: list[AccountChange] = []
    if "/etc/passwd" in before or "/etc/passwd" in after:
        users = _compare(
            "user",
            _table(before.get("/etc/passwd"), _PASSWD_FIELDS),
            _table(after.get("/etc/passwd"), _PASSWD_FIELDS),
            ("password",),
        )
    if "/etc/shadow" in before or "/etc/shadow" in after:
        old, new = _shadow_state(before.get("/etc/shadow")), _shadow_state(after.get("/etc/shadow"))
        by_name = {u.name: u for u in users}
        for name in sorted(set(new)):
            if old.get(name) == new[name] or name not in new:
                continue
            detail = {
                "password_state": new[name] if name not in old else f"{old[name]} -> {new[name]}"
            }
            if name in by_name:
                merged = {**by_name[name].details, **detail}
                by_name[name] = AccountChange("user", name, by_name[name].change, merged)
            else:
                by_name[name] = AccountChange("user", name, "changed", detail)
        users = [by_name[n] for n in sorted(by_name)]
    groups: list[AccountChange] = []
    if "/etc/group" in before or "/etc/group" in after:
        groups = _compare(
            "group",
            _table(before.get("/etc/group"), _GROUP_FIELDS),
            _table(after.get("/etc/group"), _GROUP_FIELDS),
            ("password",),
        )
    return users, groups


def _dpkg(data: bytes | None) -> dict[str, str]:
    """package -> version, for packages whose status is 'install ok installed'."""
    out: dict[str, str] = {}
    for stanza in (data or b"").decode("utf-8", "replace").split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if ":" in line and not line.startswith(" "):
                k, v = line.split(":", 1)
                fields[k] = v.strip()
        if fields.get("Package") and fields.get("Status", "").endswith(" installed"):
            arch = fields.get("Architecture", "")
            name = (
                fields["Package"]
                if arch in ("", "all", "amd64", "arm64")
                else f"{fields['Package']}:{arch}"
            )
            out[name] = fields.get("Version", "")
    return out


def package_changes(
    before: bytes | None, after: bytes | None, touched: bool
) -> list[PackageChange]:
    """Debian packages installed, removed or upgraded, from dpkg's status file."""
    if not touched:
        return []
    old, new = _dpkg(before), _dpkg(after)
    changes: list[PackageChange] = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            changes.append(PackageChange(name, "installed", after=new[name]))
        elif name not in new:
            changes.append(PackageChange(name, "removed", before=old[name]))
        elif old[name] != new[name]:
            changes.append(PackageChange(name, "upgraded", before=old[name], after=new[name]))
    return changes


def _cron_lines(data: bytes | None) -> list[str]:
    lines = []
    for line in (data or b"").decode("utf-8", "replace").splitlines():
        s = line.strip()
        if s and not s.startswith("#"):
            lines.append(s)
    return lines


def cron_changes(before: Contents, after: Contents) -> list[CronChange]:
    """Cron entries added or removed, per crontab file; new periodic scripts by name."""
    changes: list[CronChange] = []
    for path in sorted(set(before) | set(after)):
        if path.startswith(_CRON_PERIODIC):
            if (path in after and after[path] is not None) and before.get(path) is None:
                period = posixpath.basename(posixpath.dirname(path)).removeprefix("cron.")
                changes.append(
                    CronChange(path, added=(f"runs {posixpath.basename(path)} {period}",))
                )
            elif before.get(path) is not None and after.get(path) is None:
                changes.append(
                    CronChange(path, removed=(f"no longer runs {posixpath.basename(path)}",))
                )
            continue
        if not (
            path == "/etc/crontab"
            or path == "/etc/anacrontab"
            or (path.startswith(_CRON_TABLES) and not path.endswith("/"))
        ):
            continue
        old, new = _cron_lines(before.get(path)), _cron_lines(after.get(path))
        added = tuple(line for line in new if line not in old)
        removed = tuple(line for line in old if line not in new)
        if added or removed:
            changes.append(CronChange(path, added=added, removed=removed))
    return changes
