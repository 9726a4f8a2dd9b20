#!/usr/bin/env bash
# Install Claude Code from npm into a cached folder once (the package ships its native binary), then print the
# path of its `claude` binary. Pointed at Prism with no traffic elsewhere (checked with strace: loopback only):
#   HOME=<empty dir> ANTHROPIC_BASE_URL=<prism url> ANTHROPIC_API_KEY=<key> (x-api-key) or ANTHROPIC_AUTH_TOKEN=<key>
#   (Authorization: Bearer) ANTHROPIC_MODEL=<model> DISABLE_TELEMETRY=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
#   claude -p "<prompt>" --output-format json
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=2.1.332
DIR=${PRISM_CACHE:-$PWD/.cache}/claude-code-$VERSION
CLAUDE=$DIR/node_modules/.bin/claude

installed() { "$CLAUDE" --version 2>/dev/null | grep -q "^$VERSION "; }

if ! installed; then
  command -v npm >/dev/null || { echo "Claude Code needs npm (Debian: apt-get install npm)" >&2; exit 1; }
  mkdir -p "$(dirname "$DIR")"
  tmp=$(mktemp -d "$DIR.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  npm install --prefix "$tmp" --no-audit --no-fund --no-save --loglevel=error "@anthropic-ai/claude-code@$VERSION" >&2
  # npm can skip the postinstall that puts the native binary in place of bin/claude.exe; run it then.
  "$tmp/node_modules/.bin/claude" --version >/dev/null 2>&1 || (cd "$tmp/node_modules/@anthropic-ai/claude-code" && node install.cjs >&2)
  rm -rf "$DIR" && mv "$tmp" "$DIR"  # a whole folder or none, so a cut install is never taken for a good one
  installed || { echo "Claude Code $VERSION did not install in $DIR" >&2; exit 1; }
fi
echo "$CLAUDE"
