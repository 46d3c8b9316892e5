#!/usr/bin/env bash
# The test command (`npm test`): builds, then runs every tier that this machine can run.
#   unit : pure tests, no hosts            (always)
#   tools: rendered files checked by the real tools (bash -n, shellcheck, keepalived -t, systemd-analyze)
#   ssh  : the SSH transport against real sshd processes on 127.0.0.1
#   lab  : end-to-end in the QEMU lab      (test/lab)
# `npm test -- unit` runs one tier.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
tiers=("$@"); [ ${#tiers[@]} -gt 0 ] || tiers=(unit tools ssh lab)
files=()
for t in "${tiers[@]}"; do
  for f in dist/test/"$t"/*.test.js; do [ -e "$f" ] && files+=("$f"); done
done
[ ${#files[@]} -gt 0 ] || { echo "no test files for tiers: ${tiers[*]}"; exit 1; }
exec node --test --test-concurrency=1 "${files[@]}"
