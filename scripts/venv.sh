# Sourced by the other scripts: make .venv with Python 3.11+, install requirements.txt when it changed.
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
if ! sha256sum --status -c .venv/requirements.sha256 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  sha256sum requirements.txt > .venv/requirements.sha256
fi
export PATH="$PWD/.venv/bin:$PATH"
