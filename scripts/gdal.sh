#!/usr/bin/env bash
# Make sure GDAL's command-line tools are installed, for the test that opens the
# embedded store's GeoPackage with ogrinfo (store/gpkg/ogrinfo_test.go): installs
# Debian's gdal-bin (apt-get, needs root) when ogrinfo is missing, and python3-gdal,
# which brings GDAL's GeoPackage validator (validate_gpkg.py) that the test also runs
# when it is there. Prints the ogrinfo path on stdout (everything else goes to
# stderr), so:
#   RISKMAP_OGRINFO=$(./scripts/gdal.sh) go test ./store/gpkg
# Used by `make test`.
set -euo pipefail

missing=()
command -v ogrinfo >/dev/null || missing+=(gdal-bin)
[ -f /usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py ] || missing+=(python3-gdal)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "gdal.sh: ${missing[*]} missing and not root: install with: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "gdal.sh: installing ${missing[*]} (apt-get)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
        apt-get update -q >&2
        apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
    fi
fi
ogrinfo=$(command -v ogrinfo) || { echo "gdal.sh: ogrinfo still missing after installing gdal-bin" >&2; exit 1; }
"$ogrinfo" --version >&2
echo "$ogrinfo"
