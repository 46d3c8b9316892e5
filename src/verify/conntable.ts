// Verify's view of the directors' connection table: which real server IPVS chose for one client
// address and port. Verify chooses each probe's source port itself, so every probe, answered or not,
// is found by its own entry; unrelated traffic through the same VIP never matches.
import { CONN_FILE } from '../ipvs/conntable.js';
import { sh, type Shell } from '../util/quote.js';

export { parseConnTable, type ConnEntry } from '../ipvs/conntable.js';

/** The entries of these client ports (hex, as the file writes them) from the _sync view where the
 * kernel has it, with the header: small output whatever the table's size. */
function filter(ports: number[]): Shell {
  const hex = ports.map((p) => p.toString(16).toUpperCase().padStart(4, '0')).join(' ');
  return sh`{ ${CONN_FILE} awk -v ports=${hex} 'BEGIN { n = split(ports, p, " "); for (i = 1; i <= n; i++) want[p[i]] = 1 } NR == 1 || ($3 in want)' "$f" 2>/dev/null || :; }`;
}

/** The probes' entries on a director now. */
export const connTableFilter = (ports: number[]): Shell => filter(ports);

// A reset connection's entry lasts 10 s (IPVS's CLOSE state): in a run longer than that, the
// first probes' entries would be gone by the end. A watcher on each director, started before the
// probes, copies their entries every second into a file under /run; the read at the end stops it
// and returns what it saw with the table as it is then.
const watchDir = (id: string) => `/run/lvsctl-verify.${id}`;

/** Starts the watcher (it stops by itself after maxSeconds). `id`: hex digits, unique per run. */
export function connWatchStart(id: string, ports: number[], maxSeconds: number): Shell {
  if (!/^[0-9a-f]{8,32}$/.test(id)) throw new RangeError(`bad watcher id ${id}`);
  // The read's USR1 ends the wait for the second to pass (it saves the read most of a second).
  const loop = sh`d=${watchDir(id)}; trap : USR1; echo $$ > "$d/pid"; end=$(( $(date +%s) + ${maxSeconds} )); while [ ! -e "$d/stop" ] && [ "$(date +%s)" -lt "$end" ]; do ${filter(ports)} >> "$d/seen"; sleep 1 & wait $!; done; : > "$d/done"`;
  return sh`mkdir -p ${watchDir(id)} && (setsid sh -c ${loop.text} </dev/null >/dev/null 2>&1 &)`;
}

/** Stops the watcher and prints everything it saw, then the entries now. */
export function connWatchRead(id: string, ports: number[]): Shell {
  if (!/^[0-9a-f]{8,32}$/.test(id)) throw new RangeError(`bad watcher id ${id}`);
  return sh`d=${watchDir(id)}; if [ -d "$d" ]; then : > "$d/stop"; [ -e "$d/done" ] || kill -USR1 "$(cat "$d/pid" 2>/dev/null)" 2>/dev/null; i=0; while [ ! -e "$d/done" ] && [ "$i" -lt 30 ]; do sleep 0.1; i=$((i + 1)); done; cat "$d/seen" 2>/dev/null; rm -rf "$d"; fi; ${filter(ports)}`;
}
