"""Which files a command writes, and what it writes there.

Persistence and tampering rules ask "does this command write to authorized_keys, a cron
file, /etc/passwd?": redirects, ``tee``, ``cp``/``mv``/``install``, ``sed -i``, ``dd of=``.
"""

from __future__ import annotations

from opsgen.validators.shell.calls import Call
from opsgen.validators.shell.model import Word

__all__ = ["write_targets", "written_text"]

_COPIERS = frozenset({"cp", "mv", "install", "ln", "rsync", "scp"})
_VALUE_OPTS = {
    "cp": frozenset({"-t", "--target-directory", "-S", "--suffix"}),
    "mv": frozenset({"-t", "--target-directory", "-S", "--suffix"}),
    "install": frozenset({"-t", "--target-directory", "-m", "--mode", "-o", "--owner", "-g",
                          "--group", "-S", "--suffix"}),
    "ln": frozenset({"-t", "--target-directory", "-S", "--suffix"}),
    "rsync": frozenset({"-e", "--rsh", "--exclude", "--include", "--chmod", "--chown"}),
    "scp": frozenset({"-i", "-P", "-o", "-F", "-c", "-l", "-S", "-J"}),
    "sed": frozenset({"-e", "-f", "--expression", "--file", "-l", "--line-length"}),
    "tee": frozenset(),
}


def write_targets(call: Call) -> list[str]:
    """The paths ``call`` writes to (values may hold ``$VARS``)."""
    return [w.value.removeprefix("of=") for w in _target_words(call)]


def _target_words(call: Call) -> list[Word]:
    out = [r.target for r in call.cmd.redirects if r.writes and r.target is not None]
    name = call.name
    if name in ("tee", "touch", "truncate"):
        out.extend(call.opts(_VALUE_OPTS.get(name, frozenset()))[1])
    elif name in _COPIERS:
        opts, pos = call.opts(_VALUE_OPTS[name])
        target = opts.get("-t") or opts.get("--target-directory")
        if target:
            out.extend(w for w in call.args if w.value == target)
        elif len(pos) >= 2:
            out.append(pos[-1])
    elif name == "sed":
        opts, pos = call.opts(_VALUE_OPTS["sed"])
        if "-i" in opts or any(o.startswith("--in-place") for o in opts):
            has_script = "-e" in opts or "--expression" in opts or "-f" in opts
            out.extend(pos if has_script else pos[1:])
    elif name == "dd":
        out.extend(w for w in call.args if w.value.startswith("of="))
    return out


def written_text(call: Call) -> str:
    """Text the command writes: its arguments and here-document bodies (for content rules)."""
    parts = [w.value for w in call.args]
    for r in call.cmd.redirects:
        if r.heredoc is not None:
            parts.append(r.heredoc)
        elif r.op == "<<<" and r.target is not None:
            parts.append(r.target.value)
    return "\n".join(parts)
