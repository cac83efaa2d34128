#!/usr/bin/env bash
# make fuzz: run every native Go fuzz test of the module, one at a time, each for
# $FUZZTIME (default 60s), and say which crashed.
#
# Targets are found, not listed: every package whose test files declare a
# "func Fuzz..." is asked with `go test -list '^Fuzz'`, so a new fuzz test is run
# without touching this script. Each target runs alone:
#
#   go test -run '^$' -fuzz '^Name$' -fuzztime $FUZZTIME ./pkg
#
# When one fails, Go writes the input that made it fail to the package's
# testdata/fuzz/<Name>/ directory; from then on plain `go test` runs it as a
# regression case. Commit that file with the fix. The script prints where each
# failing input was written, a summary, and exits 1 if any target failed.
#
# Environment: FUZZTIME (a go test -fuzztime value: 60s, 10s, 1000x), FUZZ_PKGS
# (package patterns to search instead of ./...), FUZZ_MATCH (an extended regular
# expression: run only the targets whose name matches), FUZZ_LOGS (a directory
# to keep each target's full output in; default a temporary one, kept on failure),
# FUZZMINIMIZETIME (go test -fuzzminimizetime, default 10s: Go minimizes every new
# interesting input for up to 60 s by default, and for a large seed such as the
# example config that took the whole minute of FuzzConfigFile: 1,835 executions).
set -uo pipefail

cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-60s}
minimize=${FUZZMINIMIZETIME:-10s}
match=${FUZZ_MATCH:-.}
logs=${FUZZ_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/riskmap-fuzz.XXXXXX")}
mkdir -p "$logs"

# Discover: "package-dir import-path name" per target.
targets=()
# shellcheck disable=SC2086
while read -r path dir; do
	grep -qs '^func Fuzz' "$dir"/*_test.go || continue
	if ! list=$(go test -list '^Fuzz' "$path" 2>&1); then
		echo "fuzz: cannot list the fuzz tests of $path:" >&2
		echo "$list" >&2
		exit 1
	fi
	while read -r name; do
		[[ $name == Fuzz* ]] || continue
		[[ $name =~ $match ]] || continue
		targets+=("$dir $path $name")
	done <<<"$list"
done < <(go list -f '{{.ImportPath}} {{.Dir}}' ${FUZZ_PKGS:-./...})

total=${#targets[@]}
if ((total == 0)); then
	echo "fuzz: no fuzz tests found" >&2
	exit 1
fi
echo "fuzz: $total targets, $fuzztime each (about $total × $fuzztime); logs in $logs"

root=$(pwd)
failed=()
summary=()
start=$SECONDS
n=0
for t in "${targets[@]}"; do
	read -r dir path name <<<"$t"
	n=$((n + 1))
	rel=./${dir#"$root"/}
	[[ $dir == "$root" ]] && rel=.
	log="$logs/$(echo "$path" | tr '/' '_').$name.log"
	printf '[%d/%d] %s (%s) ... ' "$n" "$total" "$name" "$rel"
	t0=$SECONDS
	# Files written under testdata/fuzz before the run, to name the new ones.
	before=$(find "$dir/testdata/fuzz/$name" -type f 2>/dev/null | sort)
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" "$path" >"$log" 2>&1
	rc=$?
	secs=$((SECONDS - t0))
	# The last progress line says how many inputs were tried.
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	if ((rc == 0)); then
		echo "ok (${secs}s, ${execs:-?} execs)"
		summary+=("ok    $name  $rel  ${execs:-?} execs")
		continue
	fi
	echo "FAIL (${secs}s)"
	failed+=("$name")
	summary+=("FAIL  $name  $rel")
	# What failed, as go test printed it (without the progress lines).
	grep -v '^fuzz: elapsed' "$log" | head -40 | sed 's/^/    /'
	after=$(find "$dir/testdata/fuzz/$name" -type f 2>/dev/null | sort)
	written=$(comm -13 <(echo "$before") <(echo "$after") | sed '/^$/d')
	if [[ -n $written ]]; then
		while read -r f; do
			echo "    failing input written to ./${f#"$root"/}"
			echo "    rerun it: go test -run '^${name}\$/$(basename "$f")\$' $rel"
		done <<<"$written"
	else
		echo "    no input written: the target did not start or failed on its seed corpus; full output in $log"
	fi
done

echo
echo "fuzz summary ($((SECONDS - start))s, $fuzztime each):"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]} > 0)); then
	echo "fuzz: ${#failed[@]} of $total failed: ${failed[*]}"
	echo "Each failing input under testdata/fuzz now runs in plain 'go test': fix the code, commit the input with the fix."
	echo "Logs: $logs"
	exit 1
fi
echo "fuzz: all $total passed"
[[ -z ${FUZZ_LOGS:-} ]] && rm -rf "$logs"
exit 0
