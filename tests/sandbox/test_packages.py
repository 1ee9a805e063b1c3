"""The package path (issue 13): Debian packages through the proxy, and nothing else.

Each containment test has a control that shows the same probe succeeding where it should
(another network mode, or an allowed target), so the test can fail.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from opsgen.sandbox import DryRunReport
from opsgen.sandbox.packages import (
    INNER_NETWORK,
    OUTER_NETWORK,
    PROXY_IMAGE,
    PROXY_LABEL,
    PROXY_NAME,
    ensure_proxy,
)
from tests.sandbox.helpers import Listener, bridge_gateway, dry

pytestmark = pytest.mark.docker

MIRROR_FILE = "http://deb.debian.org/debian/dists/bookworm/Release"


@pytest.fixture(scope="module")
def proxy(docker_client: Any) -> Any:
    """The shared proxy, started on demand (a missing proxy image fails: CI builds it)."""
    docker_client.images.get(PROXY_IMAGE)
    ensure_proxy(docker_client)
    return docker_client.containers.get(PROXY_NAME)


@pytest.fixture(scope="module")
def proxy_url(docker_client: Any, proxy: Any) -> str:
    """The proxy as the sandbox's apt reaches it: by its address on the internal network."""
    return f"http://{ensure_proxy(docker_client)}:3142"


def _pkg(client: Any, script: str, timeout: float = 60) -> DryRunReport:
    return dry(client, script, timeout=timeout, network="packages")


def test_nginx_installs_through_the_proxy(docker_client: Any, proxy: Any, no_leaks: None) -> None:
    script = textwrap.dedent(
        """\
        set -e
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
        nginx -t
        """
    )
    report = _pkg(docker_client, script, timeout=300)
    assert report.runs[0].status == "passed", report.runs[0].stderr[-2000:]
    assert report.network == "packages"
    assert "/usr/sbin/nginx" in {f.path for f in report.diff.files}
    assert not any(f.code == "OPS414" for f in report.findings)


def test_no_package_path_with_network_none(docker_client: Any, no_leaks: None) -> None:
    report = dry(docker_client, "apt-get install -y nginx\n", network="none")
    assert report.runs[0].status == "failed"
    (finding,) = [f for f in report.findings if f.code == "OPS414"]
    assert "no package path (--network none)" in finding.message
    assert '"nginx"' in finding.message


def test_auto_gives_the_package_path_to_a_script_that_installs(
    docker_client: Any, proxy: Any, no_leaks: None
) -> None:
    """--network auto (the default): apt's script gets the package path, others none."""
    installs = dry(docker_client, "apt-get update -qq\napt-cache policy hello | grep -c "
                   "Candidate\n", timeout=120)
    plain = dry(docker_client, "mkdir -p /srv/x\n")
    assert installs.network == "packages" and installs.runs[0].status == "passed"
    assert installs.runs[0].stdout.strip() == "1"  # the lists came through the proxy
    assert plain.network == "none" and plain.runs[0].status == "passed"


def test_auto_without_the_proxy_image_says_so(
    docker_client: Any, monkeypatch: pytest.MonkeyPatch, no_leaks: None
) -> None:
    """No proxy image: the dry-run still runs (without a package path) and says why."""
    from opsgen.sandbox import stage

    monkeypatch.setattr(stage, "PROXY_IMAGE", "opsgen-pkgproxy:not-built")
    monkeypatch.setattr("opsgen.sandbox.packages.PROXY_IMAGE", "opsgen-pkgproxy:not-built")
    report = dry(docker_client, "apt-get install -y nginx\n")
    assert report.network == "none"
    assert any("package proxy's image opsgen-pkgproxy:not-built is not built" in w
               for w in report.engine_warnings)
    (finding,) = [f for f in report.findings if f.code == "OPS414"]
    assert "no package path" in finding.message


def test_host_listener_unreachable(docker_client: Any, proxy: Any, no_leaks: None) -> None:
    """ADV-07 under the package path: no address of the host answers, whichever is tried."""
    gateway = bridge_gateway(docker_client)
    inner = docker_client.networks.get(INNER_NETWORK).attrs["IPAM"]["Config"][0]["Gateway"]
    outer = docker_client.networks.get(OUTER_NETWORK).attrs["IPAM"]["Config"][0]["Gateway"]
    with Listener("0.0.0.0").running() as listener:
        probes = "".join(
            f"timeout 3 bash -c 'echo leak > /dev/tcp/{ip}/{listener.port}' && echo OPEN {ip}\n"
            for ip in (gateway, inner, outer, "8.8.8.8")
        )
        report = _pkg(docker_client, probes + "true\n")
        control = dry(docker_client, probes + "true\n", network="bridge")
    assert report.runs[0].status == "passed", report.runs[0].stderr
    assert "OPEN" not in report.runs[0].stdout
    # Control: on the ordinary bridge the same probe reaches the listener.
    assert f"OPEN {gateway}" in control.runs[0].stdout
    assert listener.connections >= 1 and b"leak" in listener.received


def test_outside_names_do_not_resolve(docker_client: Any, proxy: Any, no_leaks: None) -> None:
    """ADV-08 under the package path: no outside name resolves, and a lookup is refused at
    once instead of hanging (the engine's resolver on an internal network answered an
    outside name only after about 20 s, which stalled every run that looked one up)."""
    script = (
        "timeout 15 getent hosts deb.debian.org; echo rc=$?\n"
        "getent hosts localhost >/dev/null && echo FILES-OK\n"
        "grep -c '^nameserver 127.0.0.1$' /etc/resolv.conf\n"
    )
    report = _pkg(docker_client, script + "true\n")
    out = report.runs[0].stdout
    assert "rc=2" in out, out  # "not found", not 124 (timed out) and not 0 (resolved)
    # Control: name lookup itself works (/etc/hosts), so "not found" is the policy.
    assert "FILES-OK" in out
    # The resolver is the sandbox's own file, so the diff's "before" is that file.
    assert out.splitlines()[-1] == "1"
    control = dry(docker_client, "getent hosts deb.debian.org >/dev/null && echo RESOLVED\n"
                  "true\n", network="bridge")
    assert "RESOLVED" in control.runs[0].stdout  # the same lookup where a network exists


def test_proxy_serves_only_the_mirror(
    docker_client: Any, proxy: Any, proxy_url: str, no_leaks: None
) -> None:
    script = "".join(
        f"echo {name}=$(curl -s -o /dev/null -w '%{{http_code}}' -m 20 -x {proxy_url} {url})\n"
        for name, url in (
            ("mirror", MIRROR_FILE),
            ("other", "http://example.com/"),
            ("other_path", "http://deb.debian.org/not-debian/x"),
            ("connect", "https://deb.debian.org/debian/dists/bookworm/Release"),
            ("connect_bts", "https://bugs.debian.org/"),
        )
    )
    report = _pkg(docker_client, script)
    codes = dict(line.split("=", 1) for line in report.runs[0].stdout.split())
    assert codes["mirror"] == "200"  # control: the proxy does serve the mirror
    for refused in ("other", "other_path", "connect", "connect_bts"):
        assert codes[refused] != "200", codes  # 403, or 000 for a refused CONNECT


def test_proxy_is_hardened(proxy: Any) -> None:
    proxy.reload()
    host = proxy.attrs["HostConfig"]
    assert host["CapDrop"] == ["ALL"] and not host.get("CapAdd")
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["ReadonlyRootfs"] is True and host["Privileged"] is False
    assert host["PidsLimit"] == 128 and host["Memory"] == host["MemorySwap"] > 0
    assert host["NanoCpus"] > 0 and host["Init"] is True
    assert proxy.attrs["Config"]["User"] == "apt-cacher-ng"
    assert [m["Type"] for m in proxy.attrs["Mounts"]] == ["volume"]
    assert set(proxy.attrs["NetworkSettings"]["Networks"]) == {INNER_NETWORK, OUTER_NETWORK}
    assert proxy.labels[PROXY_LABEL] == "1"
    inner = proxy.client.networks.get(INNER_NETWORK).attrs
    assert inner["Internal"] is True
    assert inner["Options"]["com.docker.network.bridge.inhibit_ipv4"] == "true"


def test_diff_counts_a_packages_files_under_it(
    docker_client: Any, proxy: Any, no_leaks: None
) -> None:
    """Issue 13: the script's own files stand out; nginx's ~100 are counted under nginx."""
    from tests.sandbox.helpers import SGR, render

    script = textwrap.dedent(
        """\
        set -e
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
        mkdir -p /srv/www && echo hello > /srv/www/index.html
        echo '# tuned by the script' >> /etc/nginx/nginx.conf
        """
    )
    report = _pkg(docker_client, script, timeout=300)
    assert report.first.status == "passed", report.first.stderr[-2000:]
    files = {f.path: f for f in report.diff.files}
    # As shipped: owned and counted (merged /usr: the list says /usr/sbin, the layer too).
    assert files["/usr/sbin/nginx"].owner_package == "nginx" and files["/usr/sbin/nginx"].packaged
    # Changed after install (a conffile): owned, but listed in detail.
    conf = files["/etc/nginx/nginx.conf"]
    assert conf.owner_package == "nginx-common" and not conf.packaged
    # Not a package's: listed in detail.
    assert files["/srv/www/index.html"].owner_package == "" and not files["/srv/www/index.html"].packaged
    packages = {p.name: p for p in report.diff.packages}
    assert packages["nginx"].change == "installed" and packages["nginx"].after
    assert packages["nginx-common"].files > 20
    assert "/etc/nginx/nginx.conf" in packages["nginx-common"].conffiles
    # JSON keeps every file, each with its owner.
    listed = report.to_dict()["diff"]["files"]
    assert len(listed) == len(report.diff.files)
    assert all("owner_package" in f for f in listed)
    # The default view lists the script's files and not the package's; --full does (control).
    short, full = SGR.sub("", render(report)), _render_full(report)
    assert "/srv/www/index.html" in short and "/etc/nginx/nginx.conf" in short
    assert "/usr/sbin/nginx" not in short and "/var/lib/dpkg/status" not in short
    assert "/usr/sbin/nginx" in full and "/var/lib/dpkg/status" in full
    assert "file(s) as shipped" in short and "changed after install: /etc/nginx/nginx.conf" in short


def _render_full(report: DryRunReport) -> str:
    from io import StringIO

    from rich.console import Console

    from opsgen.render.dryrun import render_dryrun

    out = StringIO()
    render_dryrun(report, Console(file=out, width=400, emoji=False), full=True)
    return out.getvalue()


def test_killed_run_leaves_only_the_shared_proxy(
    docker_client: Any, proxy: Any, no_leaks: None, tmp_path: Any
) -> None:
    """SIGKILL of `opsgen dryrun --network packages` mid-run (a service running): the next
    run's reaper removes its container, and the one shared, labelled proxy is all that stays."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from opsgen.sandbox.policy import LABEL
    from opsgen.sandbox.reaper import reap_orphans
    from tests.sandbox.helpers import containers_of, wait_for

    script = tmp_path / "killed.sh"
    script.write_text(
        "printf '[Service]\\nExecStart=/bin/sleep 600\\n' > /etc/systemd/system/demo.service\n"
        "systemctl start demo\nsleep 120\n"
    )
    exe = Path(sys.executable).with_name("opsgen")
    proc = subprocess.Popen(
        [str(exe), "dryrun", "--network", "packages", "--timeout", "90", str(script)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env={**os.environ, "OPSGEN_NO_WORKER": "1"},
    )
    try:
        running = wait_for(
            lambda: [c for c in containers_of(docker_client, owner_pid=str(proc.pid))
                     if c.status == "running" and c.labels.get(f"{LABEL}.run") != "pristine"],
            timeout=60,
        )
        assert running, "the CLI never started its container"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        # Control: killed with SIGKILL, nothing of ours ran, so the container is still there.
        assert containers_of(docker_client, owner_pid=str(proc.pid))
        reap_orphans(docker_client)  # what the next dry-run does first
        assert containers_of(docker_client, owner_pid=str(proc.pid)) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for c in containers_of(docker_client, owner_pid=str(proc.pid)):
            c.remove(force=True)
    proxies = docker_client.containers.list(all=True, filters={"label": PROXY_LABEL})
    assert [p.name for p in proxies] == [PROXY_NAME] and proxies[0].status == "running"


def test_unknown_package_is_told_from_lists_not_updated(
    docker_client: Any, proxy: Any, no_leaks: None
) -> None:
    """OPS414 under the package path: `apt-cache policy` after `apt-get update` (a probe in
    a fresh sandbox) says whether Debian has the name; the repair hint keys on the words."""
    unknown = _pkg(docker_client, "apt-get update -qq\napt-get install -y nosuchpkg-opsgen\n",
                   timeout=120)
    (finding,) = [f for f in unknown.findings if f.code == "OPS414"]
    assert '"nosuchpkg-opsgen" is not in Debian' in finding.message
    # Control: a name Debian has, installed without updating the lists first.
    stale = _pkg(docker_client, "apt-get install -y nginx\n", timeout=120)
    (finding,) = [f for f in stale.findings if f.code == "OPS414"]
    assert '"nginx" is in Debian' in finding.message and "apt-get update" in finding.message
    assert "is not in Debian" not in finding.message
