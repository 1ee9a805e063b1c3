"""Checks read from the request's words (opsgen.flow.derive): what fires, what must not."""

from __future__ import annotations

import pytest

from opsgen.flow.derive import RULES, derive_scenario, existing_users, presupposed_users


def names(request: str) -> list[str]:
    return [c.name for c in derive_scenario(request).checks]


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("create a system user metrics with its home in /srv/metrics",
         ["home of metrics is /srv/metrics", "metrics is a system user (uid below 1000)"]),
        ("Create a user deploy with UID 2500, home directory /home/deploy and login shell "
         "/bin/bash.",
         ["home of deploy is /home/deploy", "login shell of deploy is /bin/bash",
          "user deploy has UID 2500"]),
        ("Add bob to the docker and sudo groups. bob's account exists.",
         ["bob is in the group docker", "bob is in the group sudo"]),
        ("Create the directory /srv/reports owned by root with mode 0750",
         ["/srv/reports has mode 0750", "/srv/reports is owned by root"]),
        ("Create the directory /srv/reports owned by root with group analysts, mode 2775 "
         "(setgid, so new files get the analysts group).",
         ["/srv/reports has mode 2775", "/srv/reports is owned by root",
          "/srv/reports has group analysts"]),
        ("Create /srv/a owned by bob, group staff, mode 0750.",
         ["/srv/a has mode 0750", "/srv/a is owned by bob", "/srv/a has group staff"]),
        ("Create /srv/a owned by bob, and make its config mode 600.",  # the config's mode
         ["/srv/a is owned by bob"]),
        ("Make /var/backups/db owned by postgres:postgres with permissions 0700.",
         ["/var/backups/db has mode 0700", "/var/backups/db is owned by postgres",
          "/var/backups/db has group postgres"]),
        ("Set net.ipv4.ip_forward to 1 permanently.",
         ["net.ipv4.ip_forward = 1 is set persistently"]),
        ("Add a cron job in /etc/cron.d/backup that runs /usr/local/bin/backup.sh daily at "
         "02:30.",
         ["a cron line daily at 02:30 (`30 2 * * *`) running /usr/local/bin/backup.sh in /etc/cron.d/backup"]),
        ("Add a cron job that runs /usr/local/sbin/rotate as root every Sunday at 04:15. Use "
         "a file in /etc/cron.d called rotate.",
         ["a cron line at 04:15 every Sunday (`15 4 * * 0`) as root running /usr/local/sbin/rotate in "
          "/etc/cron.d/rotate"]),
        ("Cron: run /opt/m/check.sh every 15 minutes as the monitor user.",
         ["a cron line every 15 minutes (`*/15 * * * *`) as monitor running /opt/m/check.sh in a crontab"]),
        ("Schedule /opt/r/send.sh with cron as user reports at 07:45 Monday through Friday.",
         ["a cron line at 07:45 Monday to Friday (`45 7 * * 1-5`) as reports running /opt/r/send.sh in a "
          "crontab"]),
        ("Create the symlink /etc/nginx/sites-enabled/shop pointing to "
         "/etc/nginx/sites-available/shop.",
         ["/etc/nginx/sites-enabled/shop is a symlink to /etc/nginx/sites-available/shop"]),
        ("Make sure /etc/default/myworker sets WORKERS=8 (exactly one WORKERS line).",
         ["/etc/default/myworker sets WORKERS to 8", "/etc/default/myworker has one WORKERS line"]),
        ("Set PermitRootLogin to no in /etc/ssh/sshd_config.",
         ["/etc/ssh/sshd_config sets PermitRootLogin to no"]),
        ("Install /etc/systemd/system/w.service running /usr/local/bin/w as user nobody, "
         "restarting on failure, wanted by multi-user.target.",
         ["/etc/systemd/system/w.service runs /usr/local/bin/w",
          "/etc/systemd/system/w.service runs as nobody",
          "/etc/systemd/system/w.service restarts on failure",
          "/etc/systemd/system/w.service is wanted by multi-user.target"]),
        ("Take mallory out of the sudo group. She keeps her other group memberships.",
         ["mallory is not in the group sudo", "mallory is still in the group opsgenkeep"]),
        ("Give carol a key: create /home/carol/.ssh (mode 700) with an authorized_keys file "
         "(mode 600).", ["/home/carol/.ssh has mode 700"]),  # the 600 is the file's
        ("Lock down /etc/myapp/secret.key: owner root, group myapp, mode 0640.",
         ["/etc/myapp/secret.key is owned by root", "/etc/myapp/secret.key has group myapp",
          "/etc/myapp/secret.key has mode 0640"]),
        ("Delete files older than 10 days in /var/cache/exports. Keep the directory itself.",
         ["a file older than 10 days in /var/cache/exports is deleted",
          "a file not older than 10 days in /var/cache/exports is still there",
          "/var/cache/exports is still a directory"]),
        ("Install the nginx package.", ["package nginx is installed"]),
        ("Hold the logrotate package at its current version.", ["package logrotate is held"]),
        ("Put nginx on hold.", ["package nginx is held"]),
        ('Ensure /etc/issue.net contains exactly one line, "Authorized use only".',
         ["/etc/issue.net holds exactly the line 'Authorized use only'"]),
        ("Create the group auditors with GID 3100.", ["group auditors has GID 3100"]),
    ],
)
def test_plain_postconditions_become_checks(request_text: str, expected: list[str]) -> None:
    assert names(request_text) == expected
    assert {c.source for c in derive_scenario(request_text).checks} == {"request"}


@pytest.mark.parametrize(
    "request_text",
    [
        "Install nginx and serve /srv/www on port 8080.",  # "install X" alone: maybe no package
        "Create /opt/a and /opt/b with mode 0755.",  # which path? no guess
        "Copy /etc/app.conf to /etc/app.conf.bak and set mode 0600 on the copy.",
        "Create users alice and bob with homes under /srv.",  # two users, a parent folder
        "Run the backup every day at 02:30 and at 14:30 with cron.",  # two times
        "Run /opt/x every day at 03:00 with a systemd timer, not cron.",  # not a cron job
        "Run /opt/x with cron every 7 minutes.",  # no cron field says that
        "Run /opt/x with cron at 03:00 on Sundays and every day at 04:00.",  # two schedules

        "Add the new user to the right group.",  # words, not names
        "Hold off on the upgrade and hold the line.",  # not a package
        "Release the hold on nginx and hold the package curl.",  # unhold and hold: unclear
        "print the max number of user processes with home in /srv/x",  # a noun, not a user
        "Set up /opt/app: data gets mode 0750, /opt/app itself 0755.",  # the mode is data's
        # a path the request only fixes is state the fresh sandbox does not have
        "Permissions under /var/www/site are a mess. Fix them: every directory "
        "(/var/www/site included) 755, and everything owned by www-data:www-data.",
        "",
    ],
)
def test_unclear_sentences_give_no_check(request_text: str) -> None:
    assert names(request_text) == []


def test_values_are_quoted_and_strict() -> None:
    hostile = ("Create a system user evil with its home in /srv/x$(reboot) and mode 0750 "
               "for /srv/`id`; owned by root")
    scenario = derive_scenario(hostile)
    for check in scenario.checks:
        assert "$(reboot)" not in check.run and "`" not in check.run
    quoted = derive_scenario("Create /srv/it's owned by root")
    assert all("it's" not in c.run or "'\"'\"'" in c.run for c in quoted.checks)


def test_presupposed_users_are_prepared_not_checked() -> None:
    text = "alice already has an account on this box. Add her to the sudo group."
    scenario = derive_scenario(text)
    assert existing_users(text) == ["alice"]
    assert scenario.prepare.startswith("id -u alice >/dev/null 2>&1 || useradd -m alice\n")
    assert [c.name for c in scenario.checks] == ["alice is in the group sudo"]
    assert derive_scenario("Create a user called web.").prepare == ""


def test_rules_describe_themselves() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids)) and all(r.summary for r in RULES)


@pytest.mark.parametrize(
    ("request_text", "users"),
    [
        ("Disable logins for the account olduser: lock its password.", ["olduser"]),
        ("Give the user alice a new home at /data/alice.", ["alice"]),
        ("Create a system user called ingest with its home in /srv/ingest.", []),
        ("Create the group auditors with GID 3100 and the user eve with UID 3101.", []),
        ("Make sure the user web exists with home /srv/web.", []),
    ],
)
def test_a_request_about_an_account_presupposes_it(request_text: str, users: list[str]) -> None:
    """Named users exist before the script unless the request asks to create one."""
    assert presupposed_users(request_text) == users
    prepare = derive_scenario(request_text).prepare
    assert all(f"useradd -m {u}" in prepare for u in users)
    assert bool(prepare) == bool(users)


def test_the_state_a_request_works_on_is_prepared() -> None:
    """Folders it works in, files it edits, groups it names and the link it switches exist
    before the script (made only when missing); what it makes is never prepared."""
    prune = derive_scenario("Delete the files under /srv/uploads/tmp older than 7 days.")
    assert "[ -d /srv/uploads/tmp ] || { mkdir -p /srv/uploads/tmp/opsgen-sample" in \
        prune.prepare
    edit = derive_scenario("In /etc/default/app, set WORKERS=8. Keep the other variables.")
    assert "touch -- /etc/default/app" in edit.prepare
    assert "# opsgen-keep" in edit.prepare
    assert "the other lines of /etc/default/app stay" in [c.name for c in edit.checks]
    groups = derive_scenario("bob already has an account. Add him to the docker group.")
    assert "getent group docker >/dev/null || groupadd docker" in groups.prepare
    assert "groupadd" not in derive_scenario(
        "Add bob to the docker group (create the group if needed).").prepare
    switch = derive_scenario("Switch the /opt/app/current symlink to the release "
                             "/opt/app/releases/2.0.")
    assert "mkdir -p /opt/app/releases/2.0" in switch.prepare
    assert "ln -s /opt/app/releases/opsgen-previous /opt/app/current" in switch.prepare
    made = derive_scenario("Write a playbook that creates /srv/shop/static owned by www-data.")
    assert "/srv/shop" not in made.prepare
    home = derive_scenario("Add a user jsmith with home directory /home/jsmith (created).")
    assert "/home/jsmith" not in home.prepare


def test_a_setting_changed_in_place_is_there_before_the_script() -> None:
    """"Change the existing setting" and "it says yes at the moment" presuppose the key in
    the file: the prepare writes it (with the value said to be current, else another), so
    a script that appends a second line is caught by the one-line count."""
    sshd = derive_scenario("Set PasswordAuthentication to no in /etc/ssh/sshd_config (it says "
                           "yes at the moment). Change the existing setting.")
    assert "echo 'PasswordAuthentication yes' >> /etc/ssh/sshd_config" in sshd.prepare
    env = derive_scenario("Make sure /etc/default/w sets WORKERS=8 (exactly one WORKERS line: "
                          "replace it if one is there). Keep the other variables.")
    assert "echo WORKERS=opsgen-old >> /etc/default/w" in env.prepare
    assert "touch -- /etc/default/w" in env.prepare  # "make sure" does not make the file
    quoted = derive_scenario('In /etc/default/tomcat, replace the JAVA_OPTS line with '
                             'JAVA_OPTS="-Xmx2g -Dx=1".')
    assert "/etc/default/tomcat sets JAVA_OPTS to -Xmx2g -Dx=1" in [c.name for c in quoted.checks]
    assert "opsgen-old" not in derive_scenario(
        "Create /etc/default/new with WORKERS=8.").prepare  # made, not changed


@pytest.mark.parametrize("request_text", [
    "alice already has an account. Add her to the sudo group; she keeps her other groups.",
    "Add the existing user bob to the docker group without dropping him from the groups he "
    "is already in.",
    "alice already has an account. Add her to the adm group, but she has to stay in all the "
    "groups she is in now.",
])
def test_other_groups_that_must_stay_are_given_and_checked(request_text: str) -> None:
    scenario = derive_scenario(request_text)
    user = "bob" if "bob" in request_text else "alice"
    assert f"usermod -aG opsgenkeep {user}" in scenario.prepare
    assert f"{user} is still in the group opsgenkeep" in [c.name for c in scenario.checks]


def test_a_sweep_by_age_or_size_gets_sample_files_and_checks() -> None:
    prune = derive_scenario("Delete the .tmp files in /srv/cache older than 7 days.")
    assert "touch -d '37 days ago' /srv/cache/opsgen-old.tmp" in prune.prepare
    assert [c.name for c in prune.checks] == [
        "a file older than 7 days in /srv/cache is deleted",
        "a file not older than 7 days in /srv/cache is still there",
        "a file of another type in /srv/cache is still there"]
    big = derive_scenario("Compress the files under /var/log/x bigger than 5 MB.")
    assert "truncate -s 7M /var/log/x/opsgen-big.dat" in big.prepare
    # two ages, or another action on the same files: no guess
    assert not derive_scenario("Delete files under /srv/a older than 7 days and logs older "
                               "than 30 days.").checks
    assert not derive_scenario("Archive the files under /srv/a older than 7 days, then "
                               "delete them.").checks


def test_a_switched_link_points_at_the_release_the_request_names_first() -> None:
    scenario = derive_scenario("Switch the /opt/app/current symlink from the 2024-05-20 "
                               "release to /opt/app/releases/2024-06-01.")
    assert "ln -s /opt/app/releases/2024-05-20 /opt/app/current" in scenario.prepare
    named = derive_scenario("Switch the /srv/live symlink from /srv/blue to /srv/green.")
    assert "ln -s /srv/blue /srv/live" in named.prepare


def test_a_switch_from_a_named_release_keeps_that_release_unless_asked_to_remove() -> None:
    def names(request: str) -> list[str]:
        return [c.name for c in derive_scenario(request).checks]

    kept = "the previous release /opt/app/releases/2024-05-20 is still there"
    assert kept in names("Switch the /opt/app/current symlink from the 2024-05-20 release to "
                         "/opt/app/releases/2024-06-01.")
    assert "the previous release /srv/blue is still there" in names(
        "Switch the /srv/live symlink from /srv/blue to /srv/green.")
    # not named (no guess), or the request removes something: no such check
    assert not any("previous" in n for n in names(
        "Switch the /opt/app/current symlink to the release /opt/app/releases/2.0."))
    assert not any("previous" in n for n in names(
        "Switch the /srv/live symlink from /srv/blue to /srv/green, then delete /srv/blue."))


@pytest.mark.parametrize("request_text", [
    "Lock down /etc/myapp/secret.key: owner root, group myapp, mode 0640. Its contents must "
    "not change.",
    "/etc/myapp/secret.key is world-readable. Make it owned by root with group myapp and "
    "mode 0640. Don't change what's in it.",
    "Set /etc/myapp/secret.key to mode 0640 without changing its contents.",
    "Make /etc/myapp/secret.key mode 0640 and leave its contents as they are.",
])
def test_a_file_whose_contents_must_stay_is_given_some_and_checked(request_text: str) -> None:
    """"Its contents must not change": the file is the server's (prepared, with a line in
    it when empty) and its checksum, taken by the prepare, must still match after."""
    scenario = derive_scenario(request_text)
    q = "/etc/myapp/secret.key"
    assert f"touch -- {q}" in scenario.prepare
    assert f"[ -s {q} ] || echo '# opsgen-keep: contents that must not change' > {q}" in \
        scenario.prepare
    assert f"sha256sum -- {q} > /var/lib/opsgen-keep/" in scenario.prepare
    kept = [c for c in scenario.checks if c.name == f"the contents of {q} stay as they were"]
    assert len(kept) == 1 and kept[0].run.startswith("sha256sum --quiet --status -c ")


@pytest.mark.parametrize("request_text", [
    "Create /etc/app/new.conf with mode 0600. Don't change its contents.",  # made here
    "Copy /etc/a.conf to /etc/b/a.conf without changing its contents.",  # two paths
    "Set /etc/x/a.conf to mode 0640. Keep the other lines.",  # not about its contents
])
def test_no_contents_check_where_the_file_is_made_or_unclear(request_text: str) -> None:
    assert not [c for c in derive_scenario(request_text).checks if "contents" in c.name]


def test_it_is_the_one_file_the_server_has() -> None:
    """"Make it owned by root with group myapp and mode 0640" after a sentence about the
    request's only file (one the prepare makes): its owner, group and mode; the group it
    gets is the server's, not one to create."""
    scenario = derive_scenario(
        "/etc/myapp/db.conf holds the database password and is world-readable right now. "
        "Make it owned by root with group myapp and mode 0640. Don't change what's in it.")
    names = [c.name for c in scenario.checks]
    assert {"/etc/myapp/db.conf is owned by root", "/etc/myapp/db.conf has group myapp",
            "/etc/myapp/db.conf has mode 0640"} <= set(names)
    assert "getent group myapp >/dev/null || groupadd myapp" in scenario.prepare
    # a file the server may not have: "it" gives nothing rather than a check that fails
    assert derive_scenario("/etc/app.conf is wrong. Make it mode 0600.").checks == ()
