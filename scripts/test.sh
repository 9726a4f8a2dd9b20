#!/usr/bin/env bash
# Run the whole test suite: SQLite and the in-process cache, or what DATABASE_URL and REDIS_URL name.
# Installs what the tests need: Python packages in .venv, Debian's Chromium, Claude Code from npm.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "Browser tests need Debian's chromium and chromium-driver: sudo apt-get install chromium chromium-driver" >&2
  fi
fi
# Claude Code, for its end-to-end tests (from npm, once, into .cache); empty if npm cannot be reached.
export PRISM_CLAUDE_CODE="$(scripts/claude_code.sh || true)"
exec python -m pytest "$@"
