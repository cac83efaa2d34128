#!/usr/bin/env bash
# Makes sure an MQTT broker answers on 127.0.0.1:1883 for the tests: installs
# Debian's mosquitto when it is missing and starts it when nothing listens there.
# Prints the broker URL.
set -euo pipefail
listening() { (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; }
if ! listening; then
    if ! command -v mosquitto >/dev/null 2>&1; then
        echo "installing mosquitto..." >&2
        SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
        $SUDO apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mosquitto >&2
    fi
    if command -v systemctl >/dev/null 2>&1 && systemctl start mosquitto >/dev/null 2>&1; then :; else
        mosquitto -d -p 1883 >&2 || true
    fi
    for _ in $(seq 1 50); do listening && break; sleep 0.1; done
    listening || { echo "mqtt.sh: no broker on 127.0.0.1:1883" >&2; exit 1; }
fi
echo "tcp://127.0.0.1:1883"
