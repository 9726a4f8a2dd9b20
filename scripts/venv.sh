# Sourced by the other scripts: make .venv with Python 3.11+, install requirements.txt when it changed.
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  echo "==> Making the virtual environment .venv ($("$PYTHON" --version))" >&2
  "$PYTHON" -m venv .venv
fi
if ! sha256sum --status -c .venv/requirements.sha256 2>/dev/null; then
  echo "==> Installing Python packages from requirements.txt into .venv (a minute or two the first time)" >&2
  .venv/bin/pip install --disable-pip-version-check -r requirements.txt >&2
  sha256sum requirements.txt > .venv/requirements.sha256
fi
export PATH="$PWD/.venv/bin:$PATH"
