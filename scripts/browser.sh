#!/usr/bin/env bash
# Make sure the real-browser tests (e2e/) can run: Debian's Chromium with a CJK font,
# and e2e/node_modules (maplibre-gl, playwright-core) as e2e/package-lock.json pins
# them. Installs chromium and fonts-wqy-microhei (apt-get, needs root) when
# /usr/bin/chromium is missing, and runs `npm ci --prefix e2e` when e2e/node_modules is
# missing or older than e2e/package-lock.json. Needs Node.js 20 or later and npm.
# Prints the Chromium path on stdout (everything else goes to stderr), so:
#   RISKMAP_CHROMIUM=$(./scripts/browser.sh) go test ./e2e
# Used by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM=/usr/bin/chromium

if [ ! -x "$CHROMIUM" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "browser.sh: $CHROMIUM missing and not root: install with: sudo apt-get install -y chromium fonts-wqy-microhei" >&2
        exit 1
    fi
    echo "browser.sh: installing chromium fonts-wqy-microhei (apt-get)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q chromium fonts-wqy-microhei >&2; then
        apt-get update -q >&2
        apt-get install -y -q chromium fonts-wqy-microhei >&2
    fi
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "browser.sh: node and npm are needed (Node.js 20 or later) to run e2e/drawn.mjs" >&2
    exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
    echo "browser.sh: Node.js $(node --version) is too old: playwright-core needs 20 or later" >&2
    exit 1
fi

# npm ci writes node_modules/.package-lock.json: older than the lock file means the
# lock file changed since the last install.
stamp=e2e/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ e2e/package-lock.json -nt "$stamp" ]; then
    echo "browser.sh: npm ci --prefix e2e..." >&2
    npm ci --prefix e2e --no-audit --no-fund >&2
fi

echo "$CHROMIUM"
