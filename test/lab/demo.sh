#!/usr/bin/env bash
# `npm run demo`: the whole story on this machine. Builds (or restores) the lab, brings the LVS-NAT
# cluster of inventories/lab-nat.yaml up with lvsctl (VIP:80 -> real servers' 8080, wrr 3:1, a UDP
# service), prints verify's table, and leaves the lab running for you to look around.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f dist/lvsctl/main.js ] || npm run --silent build
bash test/lab/lab.sh up
echo
echo "\$ lvsctl up -i inventories/lab-nat.yaml"
node bin/lvsctl.js up -i inventories/lab-nat.yaml
cat <<'TXT'

The lab is still running. Look around:
  bash test/lab/lab.sh ssh dir1 ipvsadm -Ln          # the director's IPVS table
  bash test/lab/lab.sh ssh client curl -s http://10.99.1.100/
  node bin/lvsctl.js plan -i inventories/lab-nat.yaml   # nothing to change
  node bin/lvsctl.js up -i inventories/lab-dr.yaml --takeover   # the DR cluster takes the hosts over
Stop it with: npm run lab:down
TXT
