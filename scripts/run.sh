#!/usr/bin/env bash
# Install Prism, set up its embedded SQLite database with a demo tenant, key and admin, and serve it with daphne.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
PORT=${PORT:-8000}

# A local .env with development settings and the demo's secrets, made once and kept (git ignores it).
touch .env
env_default() { grep -q "^$1=" .env || echo "$1=$2" >> .env; }
random() { python -c "import secrets; print(secrets.token_urlsafe(32))"; }
env_default DEBUG 1
env_default SECRET_KEY "$(random)"
env_default PRISM_KEY_PEPPER "$(random)"
env_default PRISM_DEMO_KEY "$(python -c 'from tenants.keys import key_generate; print(key_generate().raw)')"
env_default PRISM_DEMO_ADMIN_PASSWORD "$(python -c 'import secrets; print(secrets.token_urlsafe(9))')"

python manage.py migrate --noinput -v0
python manage.py demo --base-url "http://127.0.0.1:$PORT"
exec python -m prism_site.serve_daphne -b 127.0.0.1 -p "$PORT" prism_site.asgi:application
