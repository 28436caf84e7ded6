#!/usr/bin/env bash
# One-command set-up on a fresh machine: a virtual environment with the project and its
# development tools, plus the Fashion-MNIST dataset from Debian (when apt-get is usable).
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null
    else
        echo "setup.sh: Fashion-MNIST is not installed; as root run:" \
             "apt-get install dataset-fashion-mnist (or use --data-dir with your own copy)" >&2
    fi
fi
echo "setup.sh: ready. Activate with: . .venv/bin/activate"
