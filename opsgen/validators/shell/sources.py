"""Where untrusted code comes from: downloads, network reads and decoders.

A pipeline or substitution is "remote" when one of its commands fetches from the network or
decodes an encoded blob (``base64 -d``, ``xxd -r``, ``printf '\\x..'``): the text that comes
out was never read by the operator, so feeding it to a shell is remote code execution.
"""

from __future__ import annotations

import re

from opsgen.validators.shell.calls import SHELLS, Call

__all__ = ["DOWNLOADERS", "FETCH_CODE", "decodes", "fetches", "is_source"]

DOWNLOADERS = frozenset(
    {"curl", "wget", "fetch", "aria2c", "http", "https", "lwp-request", "lwp-download", "GET",
     "nc", "ncat", "netcat", "socat", "tftp", "ftp"}
)
#: inline interpreter code that reads from the network
FETCH_CODE = re.compile(
    r"urlopen|urlretrieve|urllib\.request|urllib2|requests\.(get|post)|http\.client|"
    r"socket\.|LWP|HTTP::Tiny|IO::Socket|Net::HTTP|open-uri|URI\.open|\bfetch\(|"
    r"require\(['\"]https?['\"]\)|file_get_contents\(\s*['\"]https?:|curl_exec|"
    r"Invoke-WebRequest|DownloadString|\biwr\b"
)
_ROT = re.compile(r"[N-Z]-[Z]?A-M|[n-z]-[z]?a-m")
_ESCAPES = re.compile(r"\\(x[0-9A-Fa-f]{2}|[0-7]{3}|u[0-9A-Fa-f]{4})")


def fetches(call: Call) -> bool:
    """True when the call reads data from the network."""
    if call.name in DOWNLOADERS:
        return True
    if call.name == "openssl" and call.args and call.args[0].value == "s_client":
        return True
    if any(r.target is not None and r.target.value.startswith(("/dev/tcp/", "/dev/udp/"))
           for r in call.cmd.redirects):
        return True
    code = call.inline_code()
    return code is not None and call.name not in SHELLS and bool(
        FETCH_CODE.search(code.value)
    )


def decodes(call: Call) -> bool:
    """True when the call decodes an encoded payload (the usual way to hide a command)."""
    opts, pos = call.opts()
    if call.name == "base64":
        return "-d" in opts or "--decode" in opts or "-D" in opts
    if call.name == "openssl":
        words = {w.value for w in call.args}
        return bool(words & {"base64", "enc"}) and ("-d" in words or "-a" in words)
    if call.name == "xxd":
        return "-r" in opts
    if call.name == "uudecode":
        return True
    if call.name == "printf" and pos:
        return bool(_ESCAPES.search(pos[0].value))
    if call.name == "echo":
        return "-e" in opts and any(_ESCAPES.search(w.value) for w in pos)
    if call.name == "rev":  # reversed text piped into a shell hides the command
        return True
    if call.name == "tr":  # rot13 and friends
        return any(_ROT.search(w.value) for w in pos)
    return False


def is_source(call: Call) -> bool:
    """True when the call's output is code nobody reviewed: fetched or decoded."""
    return fetches(call) or decodes(call)
