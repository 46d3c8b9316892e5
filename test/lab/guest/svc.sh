#!/bin/bash
# Test services of a real server, each answer names the host (body and X-Real-Server header):
#   tcp/80, tcp/8080  HTTP/1.0: GET / -> "<host>\n"; GET /big -> 50 MiB of zeros (drain tests);
#                     GET /anon -> the same body on every host and no header naming it (as production
#                     real servers answer: verify must know who answered without being told)
#   tcp/443           plain TCP: one line "<host>", then close
#   tcp/8443          the HTTP service over TLS (certificate for www.lab.test from the lab CA, /etc/lab/tls)
#   udp/5353          one datagram "<host>\n" back, sent FROM the address the request was sent TO
#                     (so DR/TUN replies come from the VIP, as a real UDP service must do)
# socat forks one handler per connection/datagram: HTTP is svc-http.sh, TCP and UDP one echo, in dash
# with the name from the environment (under TCG a process start is what a request costs).
#   svc.sh start [PORT...] | stop [PORT...] | udp-serve PORT   (internal)
set -uo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
ME=${ME:-$(hostname)}; export ME
PORTS="80 8080 443 8443 5353"
LAB_VIPS="10.99.2.100 10.99.1.100 10.99.1.101 fd99:2::100 fd99:1::101"   # the lab inventories' VIPs (UDP binds them ahead)
# one line "<host>" (socat's SYSTEM: runs /bin/sh, dash)
# shellcheck disable=SC2016 # expanded by that shell, from the environment
ECHO_ME='SYSTEM:echo "$ME"'

case ${1:-} in
  start|stop)
    cmd=$1; shift; ports=("$@")
    # shellcheck disable=SC2206 # default: every port
    [ ${#ports[@]} -gt 0 ] || ports=($PORTS)
    for p in "${ports[@]}"; do
      if [ "$cmd" = stop ]; then
        # setsid made each service a process group: stop the whole group (all UDP listeners too)
        [ -f "/run/svc-$p.pid" ] && kill -- "-$(cat "/run/svc-$p.pid")" 2>/dev/null; rm -f "/run/svc-$p.pid"; continue
      fi
      case $p in
        # one socket for both families (IPv4 arrives as ::ffff:a.b.c.d)
        80|8080) a=TCP6-LISTEN:$p,ipv6only=0,fork,reuseaddr; x=EXEC:/etc/lab/svc-http.sh;;
        443) a=TCP6-LISTEN:$p,ipv6only=0,fork,reuseaddr; x=$ECHO_ME;;
        8443) a=OPENSSL-LISTEN:$p,pf=ip6,ipv6only=0,fork,reuseaddr,cert=/etc/lab/tls/server.pem,key=/etc/lab/tls/server.key,verify=0; x=EXEC:/etc/lab/svc-http.sh;;
        5353) a=; x=udp;;
        *) echo "svc.sh: no service on port $p" >&2; exit 2;;
      esac
      if [ "$x" = udp ]; then
        setsid /etc/lab/svc.sh udp-serve "$p" </dev/null >/dev/null 2>&1 &
      else
        # -t 30: once the handler has exited, socat quits -t seconds later even with its output
        # still in the pipe; the default 0.5 s cut a rate-limited /big short by up to 64 KiB when the
        # client paused reading then (measured: 52375552 of 52428800 bytes, curl exit 18).
        setsid socat -t 30 "$a" "$x" </dev/null >/dev/null 2>&1 &
      fi
      echo $! >"/run/svc-$p.pid"
    done
    true;;
  udp-serve)
    # UDP answers must leave from the address asked (DR/TUN: the VIP). One listener per address,
    # bound with freebind (the VIPs appear later), each answering through its own socket: a second
    # socket bound to the address would catch the next datagram while it lingers.
    for addr in $(ip -o addr show | awk '$3 == "inet" || ($3 == "inet6" && $6 == "global") {print $4}' | cut -d/ -f1) $LAB_VIPS; do
      case $addr in
        *:*) socat "UDP6-RECVFROM:$2,bind=[$addr],freebind,reuseaddr,fork" "$ECHO_ME" &;;
        *) socat "UDP-RECVFROM:$2,bind=$addr,freebind,reuseaddr,fork" "$ECHO_ME" &;;
      esac
    done
    wait;;
  *) echo "usage: $0 start|stop [PORT...]" >&2; exit 2;;
esac
