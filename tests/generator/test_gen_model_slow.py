"""The real embedded models (slow). Skipped locally when missing; in CI they must be there.

``scripts/test.sh`` runs ``scripts/setup.sh --model``, which installs both models' files and
the llama.cpp runtime, so in CI a missing model is a failure, never a skip.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from opsgen.generator.catalogue import get_spec
from opsgen.generator.extract import extract_script
from opsgen.generator.install import is_verified, runtime_available
from opsgen.generator.prompts import generation_messages

pytestmark = pytest.mark.model


def _need(ok: bool, reason: str) -> None:
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI needs this, but: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def llama_models():
    from opsgen.generator.backends.llamacpp import LlamaCppClient
    from opsgen.generator.install import installed_path

    _need(runtime_available("llama"), "llama-cpp-python is not installed")
    clients = {}
    for name in ("qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"):
        spec = get_spec(name)
        _need(is_verified(spec), f"{name} is not installed (opsgen model install --model {name})")
        clients[name] = LlamaCppClient(installed_path(spec))
    return clients


def _bash_ok(script: str) -> None:
    proc = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_default_model_writes_the_cron_job(llama_models):
    llm = llama_models["qwen2.5-coder-1.5b"]
    out = llm.complete(
        generation_messages("install a cron job that prunes /var/tmp every night", "bash")
    )
    script = extract_script(out.text, "bash").script
    _bash_ok(script)
    assert "/var/tmp" in script and ("cron" in script or "crontab" in script)
    assert out.finish_reason in ("fence", "stop")
    assert out.completion_tokens > 0  # speed is measured in bench/gen_speed.py, not asserted


def test_small_model_answers_a_find_request(llama_models):
    llm = llama_models["qwen2.5-coder-0.5b"]
    out = llm.complete(
        generation_messages("list all files larger than 100MB under /var/log", "bash")
    )
    script = extract_script(out.text, "bash").script
    _bash_ok(script)
    assert "find /var/log" in script and "100M" in script


def test_ansible_answer_is_a_play_with_fqcn_modules(llama_models):
    import yaml

    llm = llama_models["qwen2.5-coder-1.5b"]
    out = llm.complete(generation_messages("make sure the package htop is installed", "ansible"))
    play = yaml.safe_load(extract_script(out.text, "ansible").script)
    assert isinstance(play, list) and play[0]["hosts"] == "all"
    modules = {k for task in play[0]["tasks"] for k in task if k.startswith("ansible.builtin.")}
    assert modules & {"ansible.builtin.apt", "ansible.builtin.package"}


@pytest.mark.docker
def test_new_end_to_end_on_the_embedded_default(docker_client, llama_models, capsys, monkeypatch):
    import json

    from opsgen.cli import main

    monkeypatch.delenv("OPSGEN_BACKEND", raising=False)
    code = main(["new", "create the directory /srv/app with mode 0755", "--json", "--no-store"])
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "vetted", data["attempts"]
    assert code == 0
    assert any(f["path"] == "/srv/app" for f in data["dryrun"]["diff"]["files"])


def test_transformers_runtime_converts_once_and_answers(tmp_path_factory):
    _need(runtime_available("hf"), "torch/transformers are not installed")
    spec = get_spec("qwen2.5-coder-0.5b")
    _need(is_verified(spec), "qwen2.5-coder-0.5b is not installed")
    from opsgen.generator.backends.hf import TransformersClient
    from opsgen.generator.install import installed_path

    client = TransformersClient(installed_path(spec))  # converts on first use, then cached
    out = client.complete(
        generation_messages("list all files larger than 100MB under /var/log", "bash"),
        max_tokens=120,
    )
    script = extract_script(out.text, "bash").script
    assert "find /var/log" in script


def test_sampled_candidates_are_seeded_and_usable(llama_models):
    """The consensus' samples go through llama.cpp's real sampler (temperature, top_p, seed
    accepted) and come back as answers; a sample may be broken, which the loop's checks catch,
    so only the plumbing is asserted here."""
    from opsgen.generator.llm import Sampling

    llm = llama_models["qwen2.5-coder-0.5b"]
    messages = generation_messages("count the files under /etc", "bash")
    for seed in (1, 2):
        out = llm.complete(messages, max_tokens=160, sampling=Sampling(temperature=0.7, seed=seed))
        assert out.completion_tokens > 0 and out.finish_reason in ("fence", "stop", "length")
        assert "```" in out.text


def test_samples_decoded_together_leave_the_greedy_repair_bit_identical(llama_models):
    """The consensus samples are decoded in one batch in sequences 1.. of the context; the
    greedy conversation (sequence 0) must come out exactly as if the batch never ran."""
    from opsgen.generator.backends.llamacpp import LlamaCppClient
    from opsgen.generator.llm import Sampling
    from opsgen.generator.prompts import repair_messages

    path = llama_models["qwen2.5-coder-0.5b"].path
    with_batch, without = LlamaCppClient(path), LlamaCppClient(path)
    base = generation_messages("create the directory /srv/reports with mode 0750", "bash")
    first = with_batch.complete(base)
    assert without.complete(base).text == first.text
    samples = with_batch.complete_many(base, [Sampling(0.7, seed=1), Sampling(0.7, seed=2)])
    assert len(samples) == 2
    for sample in samples:
        assert sample.finish_reason in ("fence", "stop") and sample.completion_tokens > 0
        _bash_ok(extract_script(sample.text, "bash").script)
    problems = ["exit-1: the first run failed: mkdir: cannot create directory '/srv': denied"]
    repair = repair_messages(base, extract_script(first.text, "bash").script, problems, "bash")
    assert with_batch.complete(repair).text == without.complete(repair).text


def test_the_system_prompt_state_is_kept_between_processes_without_changing_answers(
    llama_models, tmp_path, monkeypatch
):
    """A fresh client evaluates the system prompt and saves its state; the next loads it.
    The answer is the same bit for bit with the file, without it, and with a broken one."""
    from opsgen.generator.backends.llamacpp import LlamaCppClient

    monkeypatch.setenv("OPSGEN_CACHE_DIR", str(tmp_path))
    path = llama_models["qwen2.5-coder-0.5b"].path
    messages = generation_messages("create the user deploy with home /srv/deploy", "bash")
    first = LlamaCppClient(path).complete(messages).text
    saved = list((tmp_path / "kv").glob("*.kv"))
    assert len(saved) == 1 and saved[0].stat().st_size > 0
    assert LlamaCppClient(path).complete(messages).text == first  # loaded from the file
    saved[0].write_bytes(b"not a llama.cpp state")
    assert LlamaCppClient(path).complete(messages).text == first  # a broken file: evaluated
    monkeypatch.setenv("OPSGEN_KV_CACHE", "0")
    assert LlamaCppClient(path).complete(messages).text == first  # no file at all
