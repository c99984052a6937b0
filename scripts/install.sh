#!/usr/bin/env bash
# Install skpersona into a virtual environment (default .venv) on a fresh machine.
#   scripts/install.sh core   the library (CPU torch 2.13.0 first, so pip never pulls a CUDA build)
#   scripts/install.sh test   the library + py-feat + MediaPipe + test and docs tools
# py-feat needs torchvision, which imports only beside torch 2.14.1 here, so the
# test set-up installs that pair instead of 2.13.0.
set -euo pipefail
mode=${1:-core}
venv=${VENV:-.venv}
cd "$(dirname "$0")/.."

# Say so before pip fails half-way with "No space left on device": the test set-up
# (torch 2.14.1 with its CUDA libraries, py-feat) takes about 8 GB, the core about 2 GB.
need_gb=$([ "$mode" = test ] && echo 9 || echo 3)
mkdir -p "$venv"
free_gb=$(df -Pk "$venv" | awk 'NR == 2 {print int($4 / 1048576)}')
if [ "$free_gb" -lt "$need_gb" ] && [ ! -x "$venv/bin/python" ]; then
  echo "install.sh: $free_gb GB free where $venv goes, the $mode set-up needs about" \
    "$need_gb GB; free some disk or set VENV to a folder on a larger disk." >&2
  rmdir "$venv" 2>/dev/null || true
  exit 1
fi
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
py="$venv/bin/python"
pip=("$py" -m pip install --quiet --disable-pip-version-check)

torch_version=$("$py" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)
case "$mode" in
  core)
    # Keep whatever torch is there (a test set-up's 2.14.1 also works); else the CPU wheel.
    [ -n "$torch_version" ] || "${pip[@]}" torch==2.13.0
    "${pip[@]}" -e .
    ;;
  test)
    if ! "$py" -c 'import torchvision' 2>/dev/null; then
      "${pip[@]}" torch==2.14.1 torchvision==0.29.1
    fi
    "${pip[@]}" -e ".[feat,test,docs]"
    ;;
  *)
    echo "usage: scripts/install.sh [core|test]" >&2
    exit 2
    ;;
esac
echo "skpersona installed in $venv ($mode)"
