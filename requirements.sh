#!/usr/bin/env bash
# Installs the course and its packages into a virtual environment (.venv, or $COURSE_VENV).
# The package list lives in one place, pyproject.toml; this script installs the project
# and then proves that the torch/torchvision pair works on this machine.
set -euo pipefail
cd "$(dirname "$0")"
VENV="${COURSE_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating a virtual environment in $VENV"
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
echo "Installing the course and its packages (the first time: a few minutes, about 5 GB)"
"$VENV/bin/python" -m pip install --quiet -e .

# torchvision's wheel needs the torch build of the matching version: a mismatched or
# CPU-only torch installs cleanly and then fails at import with
# "operator torchvision::nms does not exist". Fail here, loudly, instead of in a lesson.
if ! "$VENV/bin/python" -c "import torch, torchvision, torchvision.ops; import pytorch_lightning, torchmetrics" ; then
    echo "ERROR: torchvision does not import with the installed torch." >&2
    echo "  torch $("$VENV/bin/python" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo '?')" >&2
    echo "  Reinstall the pinned pair: $VENV/bin/python -m pip install --force-reinstall torch==2.14.1 torchvision==0.29.2" >&2
    exit 1
fi
"$VENV/bin/python" -c "import torch, torchvision; print(f'torch {torch.__version__}, torchvision {torchvision.__version__}: OK')"
echo "Installed. Start the course with: $VENV/bin/course start"
