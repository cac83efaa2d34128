#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh into a NEW database, check it with
# `riskmap migrate` and print the rows of every table (docs/deploy.md, "Restore").
# It never writes into an existing database.
#
#   restore.sh [-a ADMIN_URL] DUMP DATABASE_URL
#
#   DUMP          a riskmap-*.dump file (pg_dump -Fc)
#   DATABASE_URL  the new database as riskmap will connect to it, e.g.
#                 postgres://riskmap@127.0.0.1:5432/riskmap_restored; its user owns
#                 the database and everything restored into it; it must not exist
#   -a ADMIN_URL  a superuser's connection to the same server, which creates the
#                 database and the postgis extension (default: DATABASE_URL with
#                 the database postgres instead, e.g. as the postgres user over
#                 the local socket: postgresql:///postgres run by `sudo -u postgres`)
#
# Uses psql and pg_restore (PostgreSQL's client tools, of the dump's major version or
# newer) and the riskmap binary ($RISKMAP_BIN, else riskmap on PATH). Exit status: 0
# restored and checked, 1 failed, 2 bad usage.
set -euo pipefail

admin=
usage() { sed -n '6,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while getopts "a:h" opt; do
    case $opt in
        a) admin=$OPTARG ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || usage
dump=$1 url=$2
riskmap=${RISKMAP_BIN:-riskmap}
command -v "$riskmap" >/dev/null || { echo "restore.sh: no riskmap binary (set RISKMAP_BIN or put riskmap on PATH)" >&2; exit 1; }

# postgres[ql]://[user[:password]@]host[:port]/dbname[?params]
re='^(postgres(ql)?://)(([^:@/]*)(:[^@/]*)?@)?([^/?]*)/([A-Za-z_][A-Za-z0-9_]*)(\?.*)?$'
[[ $url =~ $re ]] || { echo "restore.sh: $url: want postgres://[user@]host[:port]/dbname[?params] with a plain database name" >&2; exit 2; }
scheme=${BASH_REMATCH[1]} userinfo=${BASH_REMATCH[3]} owner=${BASH_REMATCH[4]} hostport=${BASH_REMATCH[6]}
db=${BASH_REMATCH[7]} params=${BASH_REMATCH[8]}
owner=${owner:-${PGUSER:-$(id -un)}}
admin=${admin:-$scheme$userinfo$hostport/postgres$params}
[[ $admin =~ ^(.*/)[^/?]*(\?.*)?$ ]] || { echo "restore.sh: -a $admin: not a database URL" >&2; exit 2; }
admin_new=${BASH_REMATCH[1]}$db${BASH_REMATCH[2]} # the superuser, on the new database

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The archive's table of contents. Left out: the postgis extension and its comment
# (made below by the superuser; as the owner, who need not be a superuser, they
# would fail) and spatial_ref_sys's rows (the extension's own table: only SRIDs added
# by hand would be in it; riskmap uses EPSG:4326, which postgis ships).
pg_restore --list "$dump" >"$work/all.list"
grep -q 'TABLE DATA public risk_points' "$work/all.list" ||
    { echo "restore.sh: $dump: not a riskmap dump (no risk_points data in its table of contents)" >&2; exit 1; }
grep -v -E ' EXTENSION - | COMMENT - EXTENSION |TABLE DATA public spatial_ref_sys ' "$work/all.list" >"$work/restore.list"

exists=$(psql "$admin" -X -v ON_ERROR_STOP=1 -v name="$db" -At <<<"SELECT count(*) FROM pg_database WHERE datname = :'name'")
[ "$exists" = 0 ] || { echo "restore.sh: database $db exists: restore into a new one (it never overwrites)" >&2; exit 1; }

start=$(date +%s)
echo "restore.sh: creating database $db owned by $owner" >&2
psql "$admin" -X -q -v ON_ERROR_STOP=1 -v name="$db" -v owner="$owner" <<<'CREATE DATABASE :"name" OWNER :"owner"'
psql "$admin_new" -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION IF NOT EXISTS postgis'

echo "restore.sh: restoring $dump" >&2
pg_restore --no-owner --no-privileges --single-transaction --exit-on-error \
    --use-list="$work/restore.list" --dbname="$url" "$dump"

# The change log's xid column holds the writing transactions' ids of the server the
# dump was made on. On another server (a new machine, a rebuilt cluster) those ids
# can lie ahead of the new server's own, and a riskmap following the log would take
# them for transactions still running and reread the whole log at every poll (then
# reload everything, again and again). Restored rows are all committed: they are
# given this transaction's id, and the prune horizon too. No riskmap follows this
# database yet, so none has a snapshot to miss them from.
psql "$url" -X -q -v ON_ERROR_STOP=1 <<'SQL'
BEGIN;
UPDATE changes SET xid = pg_current_xact_id();
UPDATE changes_horizon SET xid = pg_current_xact_id();
COMMIT;
ANALYZE;
SQL

echo "restore.sh: riskmap migrate" >&2
"$riskmap" migrate --database-url "$url" >&2

echo "restore.sh: restored into $db in $(($(date +%s) - start)) s; rows per table:" >&2
psql "$url" -X -At -F ' ' -v ON_ERROR_STOP=1 <<'SQL'
SELECT format('SELECT %L, count(*) FROM %I.%I', c.relname, n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname = 'public' AND c.relname <> 'spatial_ref_sys'
ORDER BY c.relname
\gexec
SQL
