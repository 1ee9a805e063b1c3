"""Which scripts get the package path under ``--network auto`` (no engine needed)."""

from __future__ import annotations

import pytest

from opsgen.sandbox.apt import installs_packages, missing_packages


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("apt-get update && apt-get install -y nginx\n", "bash"),
        ("sudo apt install -y curl\n", "bash"),
        ("/usr/bin/apt-get -y install cron\n", "bash"),
        ("aptitude install htop\n", "bash"),
        ("- hosts: all\n  tasks:\n    - ansible.builtin.apt:\n        name: nginx\n", "ansible"),
        ("- hosts: all\n  tasks:\n    - name: pkg\n      package: name=git\n", "ansible"),
        ("- hosts: all\n  tasks:\n    - shell: apt-get install -y jq\n", "ansible"),
    ],
)
def test_installers_get_the_package_path(text: str, lang: str) -> None:
    assert installs_packages(text, lang)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("mkdir -p /srv/aptly && chmod 0750 /srv/aptly\n", "bash"),
        ("echo 'x' > /etc/apt/apt.conf.d/99local\n", "bash"),
        ("ls /var/lib/apt/lists\n", "bash"),
        ("- hosts: all\n  tasks:\n    - ansible.builtin.copy:\n        dest: /etc/apt.txt\n"
         "        content: x\n", "ansible"),
    ],
)
def test_others_run_without_network(text: str, lang: str) -> None:
    assert not installs_packages(text, lang)


def test_missing_packages_reads_apts_words_only() -> None:
    stderr = ("E: Unable to locate package nosuchpkg\n"
              "E: Package 'ghost' has no installation candidate\n"
              "E: Unable to locate package $(evil)\n")
    assert missing_packages(stderr) == ("nosuchpkg", "ghost")
