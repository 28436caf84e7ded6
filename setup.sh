#!/usr/bin/env bash
# One-command set-up on a fresh machine: a virtual environment with the project and its
# development tools, plus two Debian packages (when apt-get is usable): the Fashion-MNIST
# dataset and the LZ4 headers that Verilator's FST waveform writer compiles against.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
missing=()
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
[ -f /usr/include/lz4.h ] || missing+=(liblz4-dev)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "setup.sh: missing Debian packages; as root run: apt-get install ${missing[*]}" >&2
    fi
fi
echo "setup.sh: ready. Activate with: . .venv/bin/activate"
