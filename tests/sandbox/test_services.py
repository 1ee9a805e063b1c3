"""Services that really start (issue 13): systemctl, service and Ansible's service module run
the unit's process in the sandbox, through docker-systemctl-replacement behind our shims.

Each test has a control: the same probe where it must come out the other way, so the test
can fail.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from opsgen.sandbox import DryRunOptions, DryRunReport, dryrun
from opsgen.sandbox.packages import PROXY_IMAGE, ensure_proxy
from opsgen.scenario import Check, Scenario
from tests.sandbox.helpers import dry

pytestmark = pytest.mark.docker

PAGE = "<h1>served by opsgen</h1>"
#: The issue's 10-line script: nginx through the package path, a site on 8080 for /srv/www.
NGINX = textwrap.dedent(
    f"""\
    set -e
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
    mkdir -p /srv/www
    echo '{PAGE}' > /srv/www/index.html
    cat > /etc/nginx/sites-available/www <<'EOF'
    server {{ listen 8080; root /srv/www; index index.html; }}
    EOF
    ln -sf /etc/nginx/sites-available/www /etc/nginx/sites-enabled/www
    systemctl enable --now nginx
    """
)
BROKEN = NGINX.replace("index index.html;", "index index.html; no_such_directive on;")
CURL = Scenario("", (Check("the site answers", "curl -fsS localhost:8080"),))
#: A unit of our own: its process writes a file, so "it ran" is visible in the diff.
DEMO_UNIT = textwrap.dedent(
    """\
    mkdir -p /etc/systemd/system
    printf '[Service]\\nExecStart=/bin/sh -c "echo up > /srv/demo.up; exec sleep 600"\\n' \\
      > /etc/systemd/system/demo.service
    mkdir -p /srv
    """
)


@pytest.fixture(scope="module")
def proxy(docker_client: Any) -> None:
    """The shared package proxy (a missing proxy image fails: CI builds it)."""
    docker_client.images.get(PROXY_IMAGE)
    ensure_proxy(docker_client)


def _nginx(client: Any, script: str, scenario: Scenario | None = CURL) -> DryRunReport:
    options = DryRunOptions(timeout=300, network="packages")
    return dryrun(script, "bash", options, scenario=scenario, client=client)


def test_nginx_serves_the_site_to_a_check(docker_client: Any, proxy: None, no_leaks: None) -> None:
    report = _nginx(docker_client, NGINX)
    run = report.first
    assert run.status == "passed", run.stderr[-2000:]
    (check,) = report.checks
    # Control: the same check before the script fails (nothing listens on 8080 then).
    assert check.before not in (0, None) and check.after == 0, check
    assert PAGE in check.output
    assert report.vetted and report.ok, [f.message for f in report.findings]
    # Stopped by us before the diff was read: neither leftovers nor a failure.
    assert not run.leftover_processes and not run.failed_services
    assert not any(f.code in ("OPS409", "OPS415") for f in report.findings)
    assert "would start nginx.service" in [s.describe() for s in report.diff.services]


def test_broken_nginx_config_fails_with_nginx_message(
    docker_client: Any, proxy: None, no_leaks: None
) -> None:
    report = _nginx(docker_client, BROKEN, scenario=None)
    run = report.first
    assert run.status == "failed"
    assert 'unknown directive "no_such_directive"' in run.stderr
    (finding,) = [f for f in report.findings if f.code == "OPS415"]
    assert "nginx.service" in finding.message and "no_such_directive" in finding.message
    assert not report.ok
    # Control: the good config in the same dry-run code path has no OPS415 (above), and
    # nginx's own test fails here too, so the message is nginx's, not ours.
    assert "configuration file /etc/nginx/nginx.conf test failed" in run.stderr


def test_a_started_unit_runs_and_is_stopped_before_the_diff(
    docker_client: Any, no_leaks: None
) -> None:
    script = DEMO_UNIT + "systemctl start demo\nsleep 0.5\npgrep -f 'sleep 600' >/dev/null && echo RUNNING\n"
    report = dry(docker_client, script, timeout=60)
    run = report.first
    assert run.status == "passed", run.stderr
    assert "RUNNING" in run.stdout  # the unit's process really ran
    assert "/srv/demo.up" in report.diff.paths()
    assert not run.leftover_processes  # we stopped it: not the script's leftover (OPS409)
    # Control: the same process started by the script itself is a leftover.
    control = dry(docker_client, "nohup sleep 600 >/dev/null 2>&1 &\nsleep 0.3\n", timeout=60)
    assert any("sleep 600" in p for p in control.first.leftover_processes)


def test_service_command_and_unknown_units(docker_client: Any, no_leaks: None) -> None:
    """``service X start`` starts it too; a unit with no unit file here is only recorded."""
    script = DEMO_UNIT + "service demo start\nsystemctl restart ssh\nsleep 0.3\n"
    report = dry(docker_client, script, timeout=60)
    assert report.first.status == "passed", report.first.stderr
    assert "/srv/demo.up" in report.diff.paths()
    said = [s.describe() for s in report.diff.services]
    assert said == ["would start demo.service", "would restart ssh.service"]
    # Control: a unit file whose process fails is a failure of the run.
    bad = DEMO_UNIT.replace('exec sleep 600', 'exit 3').replace("ExecStart=", "Type=oneshot\\nExecStart=")
    failed = dry(docker_client, bad + "systemctl start demo\n", timeout=60)
    assert any(f.code == "OPS415" for f in failed.findings), failed.findings


def test_ansible_apt_template_service(docker_client: Any, proxy: None, no_leaks: None) -> None:
    playbook = textwrap.dedent(
        """\
        - name: Web server
          hosts: web
          become: true
          tasks:
            - name: Install nginx
              ansible.builtin.apt:
                name: nginx
                state: present
                update_cache: true
            - name: Site template source
              ansible.builtin.copy:
                dest: /root/site.j2
                content: "server { listen {{ '{{' }} port {{ '}}' }}; root /srv/www; }\\n"
                mode: "0644"
            - name: Web root
              ansible.builtin.file:
                path: /srv/www
                state: directory
                mode: "0755"
            - name: Page
              ansible.builtin.copy:
                dest: /srv/www/index.html
                content: "hello from ansible\\n"
                mode: "0644"
            - name: Site
              ansible.builtin.template:
                src: /root/site.j2
                dest: /etc/nginx/sites-enabled/www
                mode: "0644"
              vars:
                port: 8080
            - name: Nginx running
              ansible.builtin.service:
                name: nginx
                state: started
                enabled: true
        """
    )
    options = DryRunOptions(timeout=300, network="packages")
    scenario = Scenario("", (Check("page", "curl -fsS localhost:8080"),))
    report = dryrun(playbook, "ansible", options, scenario=scenario, client=docker_client)
    assert report.first.status == "passed", report.first.stdout[-3000:]
    assert report.checks[0].after == 0 and "hello from ansible" in report.checks[0].output
    assert not report.first.failed_services and not report.first.leftover_processes
    assert {p.name for p in report.diff.packages} >= {"nginx"}


def test_service_manager_is_not_compiled_on_every_call(docker_client: Any, no_leaks: None) -> None:
    """The bundle carries the replacement precompiled (each service call compiled its
    7,000 lines again): a Python with the host's cache tag loads that file; any other
    Python still imports the source."""
    from opsgen.sandbox.bundle import service_manager_pyc

    compiled = service_manager_pyc()
    assert compiled is not None
    script = (
        "python3 -c 'import sys; print(sys.implementation.cache_tag)'\n"
        "python3 -v -c 'import sys; sys.dont_write_bytecode = True; "
        "sys.path.insert(0, \"/.opsgen/lib\"); import systemctl3' 2>&1 "
        "| grep -c \"code object from '/.opsgen/lib/__pycache__/systemctl3\"\n"
        "true\n"
    )
    report = dry(docker_client, script, timeout=60)
    tag, used = report.runs[0].stdout.split()[:2]
    if f".{tag}." in compiled[0]:
        assert used == "1", report.runs[0].stdout
    else:  # another Python in the image: the source is imported, nothing breaks
        assert used == "0"
