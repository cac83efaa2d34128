#!/usr/bin/env bash
# Back up riskmap's PostGIS database with pg_dump, custom format (-Fc: compressed,
# restorable table by table with pg_restore; the postgis extension is recorded as
# CREATE EXTENSION, its spatial_ref_sys rows as data), and delete backups older than
# the retention. Run it from a systemd timer or cron on the database server or any
# machine with PostgreSQL's client tools of the server's major version or newer
# (docs/deploy.md).
#
#   backup.sh [-d DIR] [-k DAYS] [DATABASE_URL]
#
#   DATABASE_URL  the database, e.g. postgres://riskmap@127.0.0.1:5432/riskmap
#                 (default: $RISKMAP_DATABASE_URL; a password belongs in ~/.pgpass
#                 or PGPASSWORD, not on the command line)
#   -d DIR        where the backups go (default: $RISKMAP_BACKUP_DIR or
#                 /var/backups/riskmap); created mode 0700
#   -k DAYS       delete riskmap-*.dump files in DIR older than DAYS days (default:
#                 $RISKMAP_BACKUP_KEEP_DAYS or 14); the newest backup is never deleted
#
# Writes DIR/riskmap-<UTC time>.dump through a temporary file renamed once pg_dump
# has finished and pg_restore has read the archive's table of contents back, so a
# file of that name is always a complete dump. Prints its path on stdout. Exit
# status: 0 done, 1 failed (nothing deleted), 2 bad usage.
set -euo pipefail

dir=${RISKMAP_BACKUP_DIR:-/var/backups/riskmap}
keep=${RISKMAP_BACKUP_KEEP_DAYS:-14}
usage() { sed -n '9,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while getopts "d:k:h" opt; do
    case $opt in
        d) dir=$OPTARG ;;
        k) keep=$OPTARG ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
url=${1:-${RISKMAP_DATABASE_URL:-}}
if [ -z "$url" ] || [ $# -gt 1 ]; then usage; fi
[[ $keep =~ ^[1-9][0-9]*$ ]] || { echo "backup.sh: -k $keep: want a whole number of days, at least 1" >&2; exit 2; }

umask 077
mkdir -p "$dir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$dir/riskmap-$stamp.dump"
tmp="$dir/.riskmap-$stamp.dump.partial"
trap 'rm -f "$tmp"' EXIT

start=$(date +%s)
pg_dump --format=custom --compress=6 --file="$tmp" "$url"
# The archive must read back: its table of contents lists the layers.
toc=$(pg_restore --list "$tmp")
if ! grep -q 'TABLE DATA public risk_points' <<<"$toc"; then
    echo "backup.sh: $tmp does not read back as a riskmap dump (no risk_points data in its table of contents)" >&2
    exit 1
fi
mv "$tmp" "$out"
echo "backup.sh: wrote $out ($(du -h "$out" | cut -f1), $(($(date +%s) - start)) s)" >&2

# Retention: older dumps go, never the one just written.
find "$dir" -maxdepth 1 -name 'riskmap-*.dump' -type f -mtime "+$((keep - 1))" ! -path "$out" -print -delete |
    sed 's/^/backup.sh: deleted (older than '"$keep"' days) /' >&2
echo "$out"
