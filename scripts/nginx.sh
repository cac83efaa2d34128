#!/usr/bin/env bash
# Make sure nginx is installed, for the test that runs three riskmap processes behind
# deploy/nginx.conf (deploy/deploy_test.go): installs Debian's nginx (apt-get, needs
# root) when the binary is missing. It never starts the system's nginx service: the
# test runs its own nginx as the current user, with its own prefix, config, pid file
# and logs in a temporary directory. Prints the nginx binary's path on stdout
# (everything else goes to stderr), so:
#   RISKMAP_NGINX=$(./scripts/nginx.sh) go test ./deploy
# Used by `make test`.
set -euo pipefail

find_nginx() { command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true; }

nginx=$(find_nginx)
if [ -z "$nginx" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "nginx.sh: nginx missing and not root: install with: sudo apt-get install -y nginx" >&2
        exit 1
    fi
    echo "nginx.sh: installing nginx (apt-get)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    # Debian's postinst starts the service unless policy-rc.d says no: say no for
    # this install only (an existing policy-rc.d is left as it is).
    made_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    trap 'if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
    if ! apt-get install -y -q --no-install-recommends nginx >&2; then
        apt-get update -q >&2
        apt-get install -y -q --no-install-recommends nginx >&2
    fi
    nginx=$(find_nginx)
    [ -n "$nginx" ] || { echo "nginx.sh: nginx still missing after installing it" >&2; exit 1; }
fi
"$nginx" -v 2>&1 | sed 's/^/nginx.sh: /' >&2
echo "$nginx"
