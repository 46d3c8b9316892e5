// Probes: one command per client source sends every request of a service, each from a source
// port verify chose (so the directors' connection table names the real server of every probe,
// answered or not), and prints one block per probe: `@@req SOURCE LOCALPORT VPORT` then the answer.
// HTTP(S) probes are one curl process with one transfer per probe (`--next`): a process start per
// request cost more than the request on a small client (measured in the lab: 0.31 s against 0.14 s).
import { canonicalAddress, isIP } from '../identity/address.js';
import { urlHost } from '../identity/service.js';
import type { ResolvedService } from '../inventory/model.js';
import { Shell, sh } from '../util/quote.js';

export type ProbeKind = 'http' | 'https' | 'tcp' | 'udp';

export const probeKind = (s: ResolvedService): ProbeKind => s.verify.probe ?? (s.protocol === 'udp' ? 'udp' : 'http');

/** One request: from this local port, to this port of the VIP. */
export interface PlannedProbe {
  localPort: number;
  vport: number;
}

export interface ProbeResult extends PlannedProbe {
  source: string; // the source address asked for, or "-" for the client's default
  ok: boolean;
  /** HTTP: the status code (0: no answer). */
  status?: number;
  /** HTTP: the body's last line or the identify header; TCP/UDP: the answer's first line. */
  answer: string;
  /** UDP: the first datagram got no answer and the probe was sent again. */
  retried: boolean;
  /** HTTP(S): the address the request left from, as curl reports it */
  localAddress?: string;
}

// Source ports below Linux's default ephemeral range (32768-60999), where the client's own
// connections do not take them; a random base per run keeps runs apart. Each probe has two: its
// own (even offset) and the next one, used when the first cannot be bound (a TCP connection of an
// earlier run that used it is still in TIME_WAIT on the client, for 60 s): the probe reports the
// port it used.
export const PORT_LOW = 20000;
export const PORT_HIGH = 32767;

const SPAN = PORT_HIGH - PORT_LOW + 1; // even

/** Every source port a probe may use. */
export const portsOf = (p: PlannedProbe): number[] => [p.localPort, p.localPort + 1];

/** The ports a service is probed on: a fwmark service's every marked port, else its port. */
const vports = (s: ResolvedService): number[] => (s.ports?.length ? s.ports : [s.port ?? 80]);

/** `n` probes from consecutive source ports (wrapping in the range), over the service's ports in
 * turn. probeScript's loop computes the same sequence on the client. */
export interface ProbeRun {
  firstPort: number;
  count: number;
}

export function plannedProbes(s: ResolvedService, run: ProbeRun): PlannedProbe[] {
  const ports = vports(s);
  return Array.from({ length: run.count }, (_, i) => ({
    localPort: PORT_LOW + ((evenOffset(run.firstPort) + 2 * i) % SPAN),
    vport: ports[i % ports.length]!,
  }));
}

export const randomFirstPort = (): number => PORT_LOW + Math.floor(Math.random() * SPAN);

const evenOffset = (firstPort: number) => (firstPort - PORT_LOW) & ~1;

/** The next of the VIP's ports, "$vp", rotating through "$ports" (fwmark services have several). */
const ROTATE = new Shell(
  '[ -n "$rest" ] || rest=$ports; vp=${rest%% *}; case $rest in *" "*) rest=${rest#* };; *) rest=;; esac',
);

/** A curl transfer's source port: the probe's own, or its spare when the first is still taken. */
const CURL_PORT = sh`--local-port "$lp-$((lp + 1))"`;

/** curl's -w text after each transfer: the port and address it used. */
const CURL_DONE = '\\n@@lport %{local_port} %{local_ip}\\n'; // curl reads the \n

/** Where a probe connects instead of the VIP (verify.connect_to, for probes from local). */
export interface ProbeTarget {
  address: string;
  port: number;
}

/** One request from "$lp" to port "$vp" of the VIP (variables of the loop in probeScript), or to
 * `target`: HTTP keeps the VIP's URL (Host header, SNI) and connects there. HTTP(S): the options
 * and URL of one curl transfer; TCP and UDP: a command. */
function requestCommand(s: ResolvedService, kind: ProbeKind, source: string | undefined, target?: ProbeTarget): Shell {
  const from = source ? ['-s', source] : [];
  const connectTo = target ? ['--connect-to', `::${urlHost(target.address)}:${target.port}`] : [];
  const ncTo = target ? sh`${target.address} ${String(target.port)}` : sh`${s.vip.address} "$vp"`;
  switch (kind) {
    case 'http': {
      const iface = source ? ['--interface', source] : [];
      // -g: [] and {} in a path are not curl globs. The URL is built by the shell around "$vp".
      return sh`-g -s -i -m 3 ${CURL_PORT} ${iface} ${connectTo} ${`http://${urlHost(s.vip.address)}:`}"$vp"${s.verify.path ?? '/'}`;
    }
    case 'https': {
      const iface = source ? ['--interface', source] : [];
      const tls = s.verify.tls ?? {};
      const vip = urlHost(s.vip.address);
      // SNI and Host: the virtual host's name, resolved to the VIP for this request only.
      const name = tls.virtualhost ?? vip;
      const resolve =
        tls.virtualhost && !target ? sh`--resolve ${`${tls.virtualhost}:`}"$vp"${`:${vip}`}` : sh`${connectTo}`;
      let check = sh``; // the client's system CAs
      if (tls.insecure) check = sh`-k`;
      else if (tls.ca_file) check = sh`--cacert "$ca"`;
      return sh`-g -s -i -m 5 ${CURL_PORT} ${iface} ${resolve} ${check} ${`https://${name}:`}"$vp"${s.verify.path ?? '/'}`;
    }
    case 'tcp': {
      // A completed handshake is an answer.
      const nc = sh`nc -z -w 2 -p "$lp" ${from} ${ncTo} 2>&1`;
      return sh`o=$(${nc}); rc=$?; case $o in *'bind failed'*) lp=$((lp + 1)); o=$(${nc}); rc=$?;; esac; echo "@@lport $lp"; [ "$rc" = 0 ] && echo @@ok`;
    }
    case 'udp': {
      // A datagram back is an answer; a lost one is sent once more, from the same port (so the
      // director's entry, and the real server, stay the same).
      const once = sh`printf 'lvsctl-verify\n' | nc -u -w 2 -p "$lp" ${from} ${ncTo} | head -n 1`;
      return sh`r=$(${once}); if [ -z "$r" ]; then echo @@retry; r=$(${once}); fi; [ -z "$r" ] || printf '%s\n' "$r"`;
    }
  }
}

/** The client's command for all probes of one source. */
export function probeScript(
  s: ResolvedService,
  kind: ProbeKind,
  source: string | undefined,
  run: ProbeRun,
  target?: ProbeTarget,
): Shell {
  // The command's length does not grow with the number of requests: the client's shell loops.
  const offset = evenOffset(run.firstPort);
  // An HTTPS CA bundle arrives on stdin (see caBundle) and lives in a temp file for the run.
  const ca =
    kind === 'https' && s.verify.tls?.ca_file && !s.verify.tls.insecure
      ? sh`ca=$(mktemp) && cat > "$ca" || exit 1; trap 'rm -f "$ca"' EXIT; `
      : sh``;
  const next = sh`lp=$((${PORT_LOW} + (${offset} + 2 * i) % ${SPAN})); ${ROTATE}`;
  const loop = (body: Shell) =>
    sh`ports=${vports(s).join(' ')}; rest=; i=0; while [ "$i" -lt ${run.count} ]; do ${next}; ${body}; i=$((i + 1)); done`;
  const req = sh`printf '@@req %s %s %s\n' ${source ?? '-'} "$lp" "$vp"`;
  if (kind === 'tcp' || kind === 'udp')
    return sh`${ca}${loop(sh`${req}; ${requestCommand(s, kind, source, target)} || true`)}`;
  // One curl: each transfer's -w ends its probe's block and opens the next one's (the first is
  // printed before curl starts), so the output reads as one block per probe.
  const mark = sh`${`${CURL_DONE}@@req `}${(source ?? '-').replace(/%/g, '%%')}" $lp $vp"${'\\n'}`;
  const transfer = sh`if [ "$i" = 0 ]; then ${req}; else set -- "$@" -w ${mark} --next; fi; set -- "$@" ${requestCommand(s, kind, source, target)}`;
  return sh`${ca}set --; ${loop(transfer)}; curl "$@" -w ${CURL_DONE} || true`;
}

/** The HTTP status code of an answer (0 when there is none). */
function httpStatus(head: string): number {
  const m = /^HTTP\/[\d.]+ (\d{3})/.exec(head);
  return m ? Number(m[1]) : 0;
}

/** Is an HTTP status a success by the service's verify.status (default 2xx and 3xx)? */
export function statusOk(s: ResolvedService, status: number): boolean {
  const want = s.verify.status ?? ['2xx', '3xx'];
  return want.some((w) => (typeof w === 'number' ? w === status : Math.floor(status / 100) === Number(w[0])));
}

/** Reads probeScript's output. `header`: the identify header (HTTP), else the body's last line. */
export function parseProbes(s: ResolvedService, kind: ProbeKind, out: string, header?: string): ProbeResult[] {
  return out
    .split('@@req ')
    .slice(1)
    .flatMap((block) => {
      const nl = block.indexOf('\n');
      const [source, lp, vp] = block
        .slice(0, nl === -1 ? undefined : nl)
        .trim()
        .split(' ');
      let body = nl === -1 ? '' : block.slice(nl + 1);
      // The port the request used, where it had to take the second one.
      // curl also says which address the request left from: what the director sees, unless a NAT
      // is on the way (then no entry matches, and attribution is unavailable).
      const used = /\n?@@lport (\d+)(?: (\S+))?\n?/.exec(body);
      if (used) body = body.slice(0, used.index) + body.slice(used.index + used[0].length);
      const usedPort = Number(used?.[1] ?? 0);
      const ip = used?.[2] && isIP(used[2]) ? { localAddress: canonicalAddress(used[2]) } : {};
      const base = { source: source!, localPort: usedPort || Number(lp), vport: Number(vp), retried: false, ...ip };
      if (!Number.isInteger(base.localPort) || !Number.isInteger(base.vport)) return [];
      if (kind === 'http' || kind === 'https') {
        const [head, ...rest] = body.split(/\r?\n\r?\n/);
        const status = head?.startsWith('HTTP/') ? httpStatus(head) : 0;
        const answer = header
          ? (new RegExp(`^${header}:\\s*(.*?)\\s*$`, 'im').exec(head ?? '')?.[1] ?? '')
          : (rest.join('\n').trim().split('\n').at(-1)?.trim() ?? '');
        return [{ ...base, ok: status !== 0 && statusOk(s, status), status, answer }];
      }
      const lines = body.split('\n').filter((l) => l.trim() !== '');
      const retried = lines[0] === '@@retry';
      const answer = (retried ? lines[1] : lines[0])?.trim() ?? '';
      return [{ ...base, ok: answer !== '', answer: answer === '@@ok' ? '' : answer, retried }];
    });
}
