#!/usr/bin/env bash
# The test command (`npm test`): builds, then runs every tier that this machine can run.
#   unit : pure tests, no hosts            (always)
#   tools: rendered files checked by the real tools (bash -n, shellcheck, keepalived -t, systemd-analyze)
#   ssh  : the SSH transport against real sshd processes on 127.0.0.1
#   lab  : end-to-end in the QEMU lab      (test/lab)
# `npm test -- unit` runs one tier.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
tiers=("$@"); [ ${#tiers[@]} -gt 0 ] || tiers=(unit tools ssh lab)
# The unit tier is pure (no host, port or namespace of its own): two files at once, one per CPU.
# The others share sshd ports, namespaces and the one lab: one file at a time. A failing tier does
# not stop the next; the exit status is the first failure's.
rc=0 ran=0
for t in "${tiers[@]}"; do
  files=()
  for f in dist/test/"$t"/*.test.js; do [ -e "$f" ] && files+=("$f"); done
  [ ${#files[@]} -gt 0 ] || continue
  ran=1
  jobs=1; [ "$t" = unit ] && jobs=2
  # The lab tier may save lab states that its later files resume (test/lab/lab.ts save): this run's
  # own, removed before and after it.
  saved=${LVSCTL_LAB_DIR:-.lab}/saved-
  [ "$t" != lab ] || { export LVSCTL_LAB_RUN=$$; rm -f "$saved"*.zst; }
  node --test --test-concurrency=$jobs "${files[@]}" || { s=$?; [ "$rc" != 0 ] || rc=$s; }
  [ "$t" != lab ] || rm -f "$saved"*.zst
done
[ "$ran" = 1 ] || { echo "no test files for tiers: ${tiers[*]}"; exit 1; }
exit "$rc"
