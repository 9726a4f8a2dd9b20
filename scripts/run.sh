#!/usr/bin/env bash
# Install Prism, set up its embedded SQLite database with a demo tenant, key and admin, and serve it with daphne
# on 127.0.0.1:$PORT (default 8000).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8000}

# The port first: finding it taken after a minute of installing, or after printing how to call Prism, helps nobody.
if ! python3 -c "import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', int(sys.argv[1])))" "$PORT" 2>/dev/null; then
  echo "Port $PORT on 127.0.0.1 is in use (another Prism, or another server)." >&2
  echo "Stop what listens there (ss -ltnp 'sport = :$PORT' names it), or choose a free port: PORT=8001 scripts/run.sh" >&2
  exit 1
fi

source scripts/venv.sh

# A local .env with development settings and the demo's secrets, made once and kept (git ignores it).
echo "==> Writing development settings and the demo's secrets to .env (once; kept after)" >&2
touch .env
env_default() { grep -q "^$1=" .env || echo "$1=$2" >> .env; }
random() { python -c "import secrets; print(secrets.token_urlsafe(32))"; }
env_default DEBUG 1
env_default SECRET_KEY "$(random)"
env_default PRISM_KEY_PEPPER "$(random)"
env_default PRISM_DEMO_KEY "$(python -c 'from tenants.keys import key_generate; print(key_generate().raw)')"
env_default PRISM_DEMO_ADMIN_PASSWORD "$(python -c 'import secrets; print(secrets.token_urlsafe(9))')"

echo "==> Migrating the SQLite database db.sqlite3" >&2
python manage.py migrate --noinput -v0
python manage.py loadprices --keep -v0 >/dev/null  # the shipped prices, where none is set yet
echo "==> Creating the demo tenant, key and admin user" >&2
python manage.py demo --base-url "http://127.0.0.1:$PORT"
exec python -m prism_site.serve_daphne -b 127.0.0.1 -p "$PORT" prism_site.asgi:application
