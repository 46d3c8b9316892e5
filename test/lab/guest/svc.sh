#!/bin/bash
# Test services of a real server, each answer names the host (body and X-Real-Server header):
#   tcp/80, tcp/8080  HTTP/1.0: GET / -> "<host>\n"; GET /big -> 50 MiB of zeros (drain tests)
#   tcp/443           plain TCP: one line "<host>", then close
#   udp/5353          one datagram "<host>\n" back, sent FROM the address the request was sent TO
#                     (so DR/TUN replies come from the VIP, as a real UDP service must do)
# socat forks one handler per connection/datagram (light enough under TCG).
#   svc.sh start [PORT...] | stop [PORT...] | http | tcp | udp   (the last three are handlers)
set -uo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
ME=$(hostname)
PORTS="80 8080 443 5353"
BIG=$((50 * 1024 * 1024))

case ${1:-} in
  start|stop)
    cmd=$1; shift; ports=("$@")
    # shellcheck disable=SC2206 # default: every port
    [ ${#ports[@]} -gt 0 ] || ports=($PORTS)
    for p in "${ports[@]}"; do
      if [ "$cmd" = stop ]; then
        [ -f "/run/svc-$p.pid" ] && kill "$(cat "/run/svc-$p.pid")" 2>/dev/null; rm -f "/run/svc-$p.pid"; continue
      fi
      case $p in
        80|8080) a=TCP-LISTEN:$p,fork,reuseaddr; x=http;;
        443) a=TCP-LISTEN:$p,fork,reuseaddr; x=tcp;;
        5353) a=UDP-RECVFROM:$p,fork,reuseaddr,ip-pktinfo; x=udp;;
        *) echo "svc.sh: no service on port $p" >&2; exit 2;;
      esac
      setsid socat "$a" "EXEC:/etc/lab/svc.sh $x" </dev/null >/dev/null 2>&1 &
      echo $! >"/run/svc-$p.pid"
    done
    true;;
  http)
    read -r method path _ || exit 0
    while IFS= read -r line; do line=${line%$'\r'}; [ -n "$line" ] || break; done
    if [ "${path%%\?*}" = /big ]; then len=$BIG; else body="$ME"$'\n'; len=${#body}; fi
    printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %s\r\nX-Real-Server: %s\r\nX-Real-Port: %s\r\nConnection: close\r\n\r\n' \
      "$len" "$ME" "${SOCAT_SOCKPORT:-}"
    [ "$method" = HEAD ] && exit 0
    if [ "$len" = "$BIG" ]; then head -c "$BIG" /dev/zero; else printf '%s' "$body"; fi;;
  tcp) echo "$ME";;
  udp)
    echo "$ME" | socat - "UDP-DATAGRAM:$SOCAT_PEERADDR:$SOCAT_PEERPORT,bind=$SOCAT_IP_DSTADDR:5353,reuseaddr";;
  *) echo "usage: $0 start|stop [PORT...]" >&2; exit 2;;
esac
