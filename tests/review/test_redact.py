"""One redaction function for every place a secret can surface (issue 14, point 3).

Each secret pattern must be redacted *and* flagged by the lint's secret rules; a private key
is redacted as a whole block (also when its END line is missing) in ``show`` (text, HTML,
JSON) and in ``dryrun --json``; ordinary script lines stay as they are.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from opsgen.cli import main
from opsgen.commands.options import print_json
from opsgen.flow.testing import make_evidence, seed_change
from opsgen.redact import REDACTED, redact, redact_tree
from opsgen.render.html import render_html
from opsgen.render.review import render_review
from opsgen.review.data import load_review
from opsgen.sandbox.models import DryRunReport, RunResult, SystemDiff
from opsgen.secretscan import PATTERN_PLUGIN
from opsgen.store.repo import Store
from opsgen.validators.artifact import Artifact
from opsgen.validators.rules.secrets import classified

# (id, script line, the secret that must vanish, the lint code that must flag it)
SECRETS = [
    ("aws-key-id", "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE",
     "OPS302"),
    ("aws-secret", "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "wJalrXUtnFEMI/K7MDENG", "OPS302"),
    ("github-classic", "export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789",
     "ghp_abcdefghij", "OPS302"),
    ("github-fine-grained", "gh auth login --with-token <<< github_pat_11ABCDEFG0123456789abc_"
     "0123456789abcdefghijABCDEFGHIJ0123456789abcdefghijklmnopqrstu", "github_pat_11ABCDEFG",
     "OPS302"),
    ("slack-token", "SLACK=xoxb-123456789012-123456789012-abcdefghijklmnopqrstuvwx",
     "xoxb-123456789012", "OPS302"),
    ("slack-webhook", "curl -fsS -X POST -d @msg.json https://hooks.slack.com/services/"
     "T0AB12CD3/B0EF45GH6/q1w2e3r4t5y6u7i8o9p0a1s2", "q1w2e3r4t5y6u7i8o9p0a1s2", "OPS302"),
    ("jwt", "curl -fsS -H 'X-Auth: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3OD"
     "kwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U' https://api.example.invalid/",
     "dozjgNryP4J3jVmNHl0w5N", "OPS302"),
    ("bearer", "curl -fsS -H 'Authorization: Bearer 9c1f0e2d7b3a4c5d6e7f8a9b0c1d2e3f' "
     "https://api.example.invalid/", "9c1f0e2d7b3a4c5d6e7f8a9b0c1d2e3f", "OPS302"),
    ("url-credentials", "git clone https://deploy:hunter2hunter2@git.example.invalid/app.git",
     "hunter2hunter2", "OPS303"),
    ("password-assignment", 'DB_PASSWORD="hunter2hunter2"', "hunter2hunter2", "OPS304"),
    ("secret-assignment", "export APP_SECRET=Zx81kq0pLmn3Qw", "Zx81kq0pLmn3Qw", "OPS304"),
    ("token-assignment", "api_token=9f8e7d6c5b4a3f2e1d0c", "9f8e7d6c5b4a3f2e1d0c", "OPS304"),
    ("mysql-glued-p", "mysql -uroot -pS3cretPass mydb -e 'select 1'", "S3cretPass", "OPS304"),
    ("mysql-quoted-p", "mysqldump -u root -p'S3cret Pass' --all-databases", "S3cret Pass",
     "OPS304"),
    ("mysql-password-option", "mysqldump --password=S3cretPass --all-databases", "S3cretPass",
     "OPS304"),
    ("curl-u", "curl -fsS -u admin:S3cretPass https://repo.example.invalid/x -o x",
     "S3cretPass", "OPS304"),
    ("curl-user", "curl -fsS --user 'admin:S3cretPass' https://repo.example.invalid/x",
     "S3cretPass", "OPS304"),
    ("sshpass", "sshpass -p S3cretPass ssh deploy@host.example.invalid uptime", "S3cretPass",
     "OPS304"),
    ("sshpass-glued", "sshpass -pS3cretPass scp f host.example.invalid:/tmp", "S3cretPass",
     "OPS304"),
]
#: ordinary lines that look a little like secrets and must stay untouched (and unflagged)
HARMLESS = [
    "mysql -u root -p mydb",
    "mysql -u root -p",
    'mysql -u root -p"$DB_PASS" mydb',
    'curl -fsS -u "$USER" https://repo.example.invalid/x',
    'curl -fsS -u "$USER:$PASS" https://repo.example.invalid/x',
    "password_file=/etc/x",
    'PASSWORD="$(cat /run/secrets/db)"',
    'token="${TOKEN:-}"',
    "sshpass -e ssh deploy@host.example.invalid uptime",
    'sshpass -p "$SSHPASS" ssh deploy@host.example.invalid uptime',
    "curl -H \"Authorization: Bearer $TOKEN\" https://api.example.invalid/",
    'read -rsp "Password: " PASSWORD',
    'echo "token: missing"',
    "git clone https://git.example.invalid/app.git",
    "docker login --password-stdin registry.example.invalid < /run/secrets/reg",
    "sha256sum -c <<< '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  f'",
]

KEY_BODY = [
    "MIIEowIBAAKCAQEAx7Jk2mJ0qPKmBcQn5Lk0zWqHsYpVbTt3nD4uGfW9cE1rXyZaQs",
    "T1uV2wX3yZ4aB5cD6eF7gH8iJ9kL0mN1oP2qR3sT4uV5wX6yZ7aB8cD9eF0gH1iJ2",
    "kL3mN4oP5qR6sT7uV8wX9yZ0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX2yZ3aB",
]
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(KEY_BODY) + "\n-----END RSA PRIVATE KEY-----"
)
KEY_SCRIPT = (
    "#!/bin/bash\nset -euo pipefail\ninstall -d -m 700 /root/.ssh\n"
    "cat > /root/.ssh/id_rsa <<'EOF'\n" + PRIVATE_KEY + "\nEOF\nchmod 600 /root/.ssh/id_rsa\n"
)
#: a JWT and a Slack webhook that detect-secrets itself flags (JwtTokenDetector, SlackDetector)
DS_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)
DS_WEBHOOK = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
DS_SCRIPT = (
    "#!/bin/bash\nset -euo pipefail\n"
    f"JWT='{DS_JWT}'\n"
    f"curl -fsS -X POST -d '{{\"text\": \"done\"}}' {DS_WEBHOOK}\n"
)


@pytest.mark.parametrize(("line", "secret"), [(s[1], s[2]) for s in SECRETS],
                         ids=[s[0] for s in SECRETS])
def test_each_pattern_is_redacted(line: str, secret: str) -> None:
    shown = redact(line)
    assert secret not in shown and REDACTED in shown


@pytest.mark.parametrize(("line", "code"), [(s[1], s[3]) for s in SECRETS],
                         ids=[s[0] for s in SECRETS])
def test_each_pattern_is_flagged_by_the_lint(line: str, code: str) -> None:
    with Artifact(f"#!/bin/bash\n{line}\n", "bash", "t") as art:
        codes = [c for c, _ in classified(art)]
    assert code in codes


@pytest.mark.parametrize("line", HARMLESS)
def test_ordinary_lines_are_neither_redacted_nor_flagged(line: str) -> None:
    assert redact(line) == line
    assert redact(line, scan=True) == line
    with Artifact(f"#!/bin/bash\n{line}\n", "bash", "t") as art:
        assert classified(art) == []


def test_a_private_key_is_redacted_as_a_block_keeping_its_lines() -> None:
    shown = redact(KEY_SCRIPT)
    assert not any(part in shown for part in KEY_BODY)
    assert shown.count("\n") == KEY_SCRIPT.count("\n")  # line numbers and findings stay put
    assert "chmod 600 /root/.ssh/id_rsa" in shown and "-----BEGIN RSA PRIVATE KEY-----" in shown


def test_a_private_key_without_its_end_line_is_redacted_to_the_end() -> None:
    cut = "key follows\n-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(KEY_BODY[:2])
    shown = redact(cut)
    assert not any(part in shown for part in KEY_BODY)
    assert shown.startswith("key follows\n") and shown.count("\n") == cut.count("\n")


def test_a_begin_line_without_key_material_hides_nothing() -> None:
    # A script that only names the marker keeps every line visible (it must not become a
    # way to hide code from the reviewer), and is no OPS301 finding of opsgen's patterns.
    script = ('if grep -q -- "-----BEGIN OPENSSH PRIVATE KEY-----" /root/.ssh/id; then\n'
              "  curl -fsS https://x.example.invalid/report\nfi\nreboot\n")
    assert redact(script) == script
    with Artifact(script, "bash", "t") as art:
        # (detect-secrets' PrivateKeyDetector does flag the marker itself: its own rule)
        assert [h for h in art.secrets if h.plugin == PATTERN_PLUGIN] == []


def test_other_private_key_headers_are_covered() -> None:
    for header in ("ENCRYPTED PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY", "DSA PRIVATE KEY",
                   "PGP PRIVATE KEY BLOCK"):
        text = f"-----BEGIN {header}-----\n{KEY_BODY[0]}\n-----END {header}-----\n"
        assert KEY_BODY[0] not in redact(text), header


def test_redaction_is_idempotent() -> None:
    text = KEY_SCRIPT + "\n".join(s[1] for s in SECRETS)
    once = redact(text, scan=True)
    assert redact(once, scan=True) == once


def test_detect_secrets_findings_are_redacted_too() -> None:
    # detect-secrets' own detectors (beyond opsgen's patterns) run when scan=True
    line = 'STRIPE_KEY="sk_live_4eC39HqLyjWDarjtT1zdp7dc"'
    assert "4eC39HqLyjWDarjtT1zdp7dc" not in redact(line, scan=True)


def test_redact_tree_reaches_every_string() -> None:
    tree: dict[str, Any] = {"a": ["x", {"b": PRIVATE_KEY}], "n": 3, "t": (f"jwt {DS_JWT}",)}
    out = json.dumps(redact_tree(tree, scan=True))
    assert not any(part in out for part in KEY_BODY) and DS_JWT not in out and '"n": 3' in out


def test_redact_tree_scans_once_and_finds_each_hit_in_its_own_string() -> None:
    entropy = "q8J2mX9vK4pL7wR3nT6yB1cF5hG0dZsAeUiOoPjQkMl="  # only detect-secrets knows it
    tree = ["one\ntwo\nthree", {"k": "plain text"}, f'SIGNING="{entropy}"', "last"]
    out = redact_tree(tree, scan=True)
    assert out == ["one\ntwo\nthree", {"k": "plain text"}, f'SIGNING="{REDACTED}"', "last"]


# -- every view ------------------------------------------------------------------------------


def _key_report(stdout: str, stderr: str = "") -> DryRunReport:
    run = RunResult(0, "passed", 0.2, stdout, stderr)
    return DryRunReport("bash", "opsgen-sandbox:test", "sha256:" + "ab" * 32, "0" * 64,
                        (run,), SystemDiff())


def _seed(store: Store, script: str, stdout: str = "") -> Any:
    report = _key_report(stdout)
    evidence = make_evidence(report=report, script=script)
    change, _, _ = seed_change(store, script=script, evidence=evidence)
    return load_review(store, change.id)


def _terminal(review: Any) -> str:
    out = io.StringIO()
    console = Console(file=out, color_system=None, width=100, emoji=False, highlight=False)
    render_review(review, console)
    return out.getvalue()


@pytest.mark.parametrize("view", ["text", "html", "json"])
def test_show_redacts_a_private_key_block_in_the_script_and_the_output(
    store: Store, view: str, capsys: pytest.CaptureFixture[str]
) -> None:
    review = _seed(store, KEY_SCRIPT, stdout="generated:\n" + PRIVATE_KEY + "\ndone\n")
    if view == "text":
        shown = _terminal(review)
    elif view == "html":
        shown = render_html(review)
    else:
        print_json(review.to_dict())
        shown = capsys.readouterr().out
    assert not any(part in shown for part in KEY_BODY)
    assert not any(part[:20] in shown for part in KEY_BODY)
    assert REDACTED in shown


@pytest.mark.parametrize("view", ["text", "html", "json"])
def test_show_redacts_what_detect_secrets_flags(
    store: Store, view: str, capsys: pytest.CaptureFixture[str]
) -> None:
    review = _seed(store, DS_SCRIPT)
    if view == "text":
        shown = _terminal(review)
    elif view == "html":
        shown = render_html(review)
    else:
        print_json(review.to_dict())
        shown = capsys.readouterr().out
    assert "dozjgNryP4J3jVmNHl0w5N" not in shown and "XXXXXXXXXXXXXXXX" not in shown


def test_dryrun_json_redacts_a_key_printed_on_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import opsgen.sandbox as sandbox

    printed = "key:\n" + PRIVATE_KEY + "\npassword=hunter2hunter2\n"
    cut = "-----BEGIN RSA PRIVATE KEY-----\n" + KEY_BODY[0] + "\n"  # output cap hit mid-key

    def fake_dryrun(text: str, lang: str, options: Any, **_: Any) -> DryRunReport:
        return _key_report(printed, cut)

    monkeypatch.setattr(sandbox, "dryrun", fake_dryrun)
    script = tmp_path / "k.sh"
    script.write_text("#!/bin/bash\necho hi\n")
    code = main(["dryrun", str(script), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    assert not any(part in out for part in KEY_BODY) and "hunter2hunter2" not in out
    assert REDACTED in data["runs"][0]["stdout"] and REDACTED in data["runs"][0]["stderr"]


def test_stored_evidence_keeps_no_secret_from_the_run_output(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import opsgen.sandbox as sandbox
    from opsgen.flow import checks as evaluation

    report = _key_report("key:\n" + PRIVATE_KEY + "\n", "token=ghp_" + "a" * 36)
    monkeypatch.setattr(sandbox, "dryrun", lambda *a, **k: report)
    monkeypatch.setattr(evaluation, "lint_findings", lambda *a, **k: ())
    evidence = evaluation.evaluate(KEY_SCRIPT, "bash")
    _, revision, record = seed_change(store, script=KEY_SCRIPT, evidence=evidence)
    assert not any(part in record.body for part in KEY_BODY) and "ghp_aaaa" not in record.body
    # the script itself is hash-bound: it is stored byte for byte and still intact
    assert revision.script == KEY_SCRIPT and revision.intact and record.intact


SECRET_COMMENT = "ok, used password=hunter2hunter2 and " + DS_JWT


def test_audit_log_and_decision_rows_keep_no_secret_and_still_verify(store: Store) -> None:
    from opsgen.approval import approve
    from opsgen.store import audit
    from opsgen.store.integrity import verify_store

    change, _, _ = seed_change(store)
    decision, _ = approve(store, change.id, by="bob", comment=SECRET_COMMENT,
                          override="key " + PRIVATE_KEY)
    logged = [e.payload_text for e in audit.entries(store.conn)]
    for text in [decision.comment, decision.override, *logged]:
        assert "hunter2hunter2" not in text and "dozjgNryP4J3jVmNHl0w5N" not in text
        assert not any(part in text for part in KEY_BODY)
    assert REDACTED in decision.comment
    assert verify_store(store.conn) == []  # rows and their audit entries still agree


def test_export_manifest_and_commit_message_keep_no_secret(store: Store) -> None:
    from opsgen.approval import approve, sign_off
    from opsgen.export.bundle import build_bundle

    change, _, _ = seed_change(store, request="rotate, the old one was " + DS_WEBHOOK
                               + "\n" + PRIVATE_KEY)
    approve(store, change.id, by="bob", comment=SECRET_COMMENT)
    bundle = build_bundle(store, sign_off(store, change.id), name="motd", base="")
    shown = bundle.message + bundle.manifest_file.data.decode()
    assert "XXXXXXXXXXXXXXXX" not in shown and "hunter2hunter2" not in shown
    assert not any(part in shown for part in KEY_BODY)
    assert bundle.files[0].data == sign_off(store, change.id).revision.script.encode()


def test_revision_diff_redacts_a_key_even_when_the_hunk_misses_its_begin_line(
    store: Store,
) -> None:
    from opsgen.review.revdiff import compare_revisions

    body = [f"{i:02d}" + KEY_BODY[i % 3][2:] for i in range(30)]  # a long key body
    old = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(body) + "\n-----END RSA PRIVATE KEY-----"
    new = old.replace(body[15], body[15][::-1])  # rotated: one line in the middle differs
    change, _, _ = seed_change(store, script=f"#!/bin/bash\ncat > k <<'EOF'\n{old}\nEOF\n")
    store.add_revision(change.id, f"#!/bin/bash\ncat > k <<'EOF'\n{new}\nEOF\n", actor="bob")
    result = compare_revisions(store, change.id)
    shown = "\n".join(result.script_diff)
    assert result.script_diff, "the key changed: the diff must say so"
    assert not any(line[4:] in shown for line in body), shown
    assert REDACTED in shown
