#!/usr/bin/env bash
# .ci/netconf-peer-stop.sh STATE_DIR... [--purge] -- stops peers started by .ci/netconf-peer.sh.
set -uo pipefail
here=$(dirname "$(realpath "$0")")
purge=
dirs=()
for a in "$@"; do
    if [ "$a" = --purge ]; then purge=--purge; else dirs+=("$a"); fi
done
[ ${#dirs[@]} -ge 1 ] || { echo "usage: $0 STATE_DIR... [--purge]" >&2; exit 2; }
rc=0
for d in "${dirs[@]}"; do "$here/netconf-peer.sh" stop "$d" $purge || rc=1; done
exit $rc
