#!/bin/sh
# The HTTP handler of svc.sh (socat runs it once per connection): dash, and the host's name from
# the environment, because under TCG each process start is what a request costs (bash and a
# hostname fork made it 0.16 s a request, this 0.07 s).
#   GET / -> "<host>\n" with X-Real-Server; GET /big -> 50 MiB of zeros; GET /anon -> the same body
#   on every host and no header naming it.
BIG=52428800 # 50 MiB
ANON='welcome to the service'
read -r method path _ || exit 0
# the headers, up to the blank line ("\r" alone: one character)
while IFS= read -r line; do case $line in '' | ?) break ;; esac; done
case $path in
  /anon | /anon\?*)
    printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %s\r\nConnection: close\r\n\r\n' $((${#ANON} + 1))
    [ "$method" = HEAD ] || printf '%s\n' "$ANON"
    exit 0
    ;;
  /big | /big\?*) len=$BIG ;;
  *) len=$((${#ME} + 1)) ;;
esac
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %s\r\nX-Real-Server: %s\r\nX-Real-Port: %s\r\nConnection: close\r\n\r\n' \
  "$len" "$ME" "${SOCAT_SOCKPORT:-}"
[ "$method" = HEAD ] && exit 0
if [ "$len" = "$BIG" ]; then head -c "$len" /dev/zero; else printf '%s\n' "$ME"; fi
