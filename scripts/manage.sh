#!/usr/bin/env bash
# Django's manage.py in Prism's .venv (made on first use), e.g. scripts/manage.sh createtenant acme
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
exec python manage.py "$@"
