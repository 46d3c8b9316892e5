// Waiting for a drain: poll the directors until every destination of the drained real server has
// the weight expectedWeight gives it (0, or gone) and no established connection to it is left on a
// director that holds the service's VIP (NAT: also one the real server closed while the client
// still reads; see liveStates). A director that does not hold it (the old MASTER after a
// failover) keeps stale entries until they time out; they carry no traffic, so they are shown, not
// waited on. Connections are counted in the connection table, not ipvsadm's ActiveConn, which
// counts ESTABLISHED only: in NAT a download whose real server had closed still ran 2.2 s after
// ActiveConn reached 0 (measured in the lab); the table also has the entries the sync daemon copied.
import { expectedWeight, type Drained } from '../desired/weight.js';
import { parseAddr } from '../resources/addresses.js';
import { sameAddress } from '../identity/address.js';
import { destinationKey, parseHostPort } from '../identity/service.js';
import type { Cluster, ResolvedRealServer, ResolvedService } from '../inventory/model.js';
import { establishedTo, liveStates, parseEstablished, type EstablishedCount } from '../ipvs/conntable.js';
import { parseList, type LiveList } from '../ipvs/list.js';
import { checkInterrupt, sleep } from '../util/interrupt.js';
import { sh } from '../util/quote.js';
import type { Connections } from './connections.js';
import type { Say } from './progress.js';

export interface Waited {
  drained: boolean;
  seconds: number;
  active: Record<string, number>; // director -> established connections left (on VIPs it holds)
  /** director -> established connections in entries for VIPs it does not hold (information) */
  stale?: Record<string, number>;
  /** director -> seconds until its last waited-on entry expires if no packet comes (a dead
   * connection, such as one cut at a takeover, stays ESTABLISHED until then) */
  expiresWithin: Record<string, number>;
}

interface DirectorView {
  list: LiveList;
  holds: (vip: string) => boolean;
  established: EstablishedCount[];
}

async function look(conns: Connections, director: string, reals: string[], states: string[]): Promise<DirectorView> {
  const cmd = sh`ipvsadm -Ln; echo @@addr; ip -o addr show; echo @@conn; ${establishedTo(reals, states)}`;
  const out = (await (await conns.get(director)).exec(cmd)).stdout;
  const [list = '', rest = ''] = out.split('@@addr\n');
  const [addr = '', conn = ''] = rest.split('@@conn\n');
  const addresses = parseAddr(addr.split('\n'));
  return {
    list: parseList(list),
    holds: (vip) => addresses.some((a) => sameAddress(a.address, vip)),
    established: parseEstablished(conn),
  };
}

/** Established connections of service `s` to real server `r` in a director's table. A fwmark
 * service's entries carry the port the client used; a real server without a port (0) takes each
 * connection on that port, so it is matched by address. */
function establishedOn(view: DirectorView, s: ResolvedService, r: ResolvedRealServer): EstablishedCount[] {
  const key = destinationKey(r);
  const ofService = (e: EstablishedCount) =>
    sameAddress(e.virtual.address, s.vip.address) &&
    (s.fwmark === undefined
      ? e.protocol === s.protocol.toUpperCase() && e.virtual.port === s.port
      : !s.ports?.length || s.ports.includes(e.virtual.port));
  const toServer = (e: EstablishedCount) =>
    r.port === 0 ? sameAddress(parseHostPort(e.destination)?.address ?? '', r.address) : e.destination === key;
  return view.established.filter((e) => ofService(e) && toServer(e));
}

/** A destination of the drained server that the kernel still weights above 0. */
export interface Unquiesced {
  service: string;
  weight: number;
}

/** The drained server's destinations in keepalived-owned services that this director's table
 * (`ipvsadm -Ln`) gives a weight other than 0. One that is absent (its health check took it out)
 * takes no new connection either. */
export function unquiesced(cluster: Cluster, list: LiveList, host: string): Unquiesced[] {
  return cluster.services.flatMap((s) =>
    s.engine !== 'keepalived'
      ? []
      : s.realServers.flatMap((r) => {
          const l = r.host === host ? list.get(s.id)?.get(destinationKey(r)) : undefined;
          return l && l.weight !== 0 ? [{ service: s.id, weight: l.weight }] : [];
        }),
  );
}

/**
 * After keepalived was reloaded with the server at weight 0: what each director's kernel table
 * shows. keepalived 2.1.0-2.1.5 program weight 0 as 1 (and distributions backport the fix, so the
 * version cannot tell), and the reload is asynchronous: each director is polled until the weight is
 * 0 or `settleSec` passed. Returns the directors where it is not (with what the kernel shows).
 */
export async function readBackWeights(
  cluster: Cluster,
  conns: Connections,
  directors: string[],
  host: string,
  settleSec: number,
): Promise<Map<string, Unquiesced[]>> {
  const end = Date.now() + settleSec * 1000;
  const left = new Map<string, Unquiesced[]>();
  await Promise.all(
    directors.map(async (d) => {
      for (;;) {
        checkInterrupt();
        const r = await (await conns.get(d)).exec(sh`ipvsadm -Ln`);
        const bad = unquiesced(cluster, parseList(r.stdout), host);
        if (r.code === 0 && !bad.length) return;
        if (Date.now() >= end) {
          left.set(d, r.code === 0 ? bad : [{ service: `ipvsadm -Ln failed: ${r.stderr.trim()}`, weight: NaN }]);
          return;
        }
        await sleep(500);
      }
    }),
  );
  return left;
}

/** `removedOn`: directors where the server was taken out of its services instead (drain's
 * fallback): their connections to it are cut, not waited on. */
export async function waitDrained(
  cluster: Cluster,
  conns: Connections,
  directors: string[],
  host: string,
  timeoutSec: number,
  say: Say,
  removedOn: ReadonlySet<string> = new Set(),
): Promise<Waited> {
  const drained: Drained = { [host]: 'quiesce' };
  const services = cluster.services
    .map((s) => ({
      s,
      dests: s.realServers
        .filter((r) => r.host === host)
        .map((r) => ({ r, key: destinationKey(r), want: expectedWeight(r, drained) })),
    }))
    .filter((x) => x.dests.length);
  const reals = [...new Set(services.flatMap((x) => x.dests.map((d) => d.r.address)))];
  const states = liveStates(cluster.mode);
  const t0 = Date.now();
  let last = '';
  for (;;) {
    checkInterrupt();
    const active: Record<string, number> = {};
    const stale: Record<string, number> = {};
    const expiresWithin: Record<string, number> = {};
    let weighted = 0;
    for (const d of directors.filter((x) => !removedOn.has(x))) {
      const view = await look(conns, d, reals, states);
      active[d] = 0;
      for (const { s, dests } of services)
        for (const { r, key, want } of dests) {
          const entries = establishedOn(view, s, r);
          const n = entries.reduce((sum, e) => sum + e.count, 0);
          if (view.holds(s.vip.address)) {
            active[d] += n;
            for (const e of entries) expiresWithin[d] = Math.max(expiresWithin[d] ?? 0, e.expiresWithin);
          } else if (n) stale[d] = (stale[d] ?? 0) + n;
          const l = view.list.get(s.id)?.get(key);
          if (l && want.inTable && l.weight !== want.weight) weighted++;
        }
    }
    const seconds = (Date.now() - t0) / 1000;
    const total = Object.values(active).reduce((a, b) => a + b, 0);
    const staleInfo = Object.keys(stale).length ? { stale } : {};
    if (total === 0 && weighted === 0) return { drained: true, seconds, active, expiresWithin, ...staleInfo };
    const counts = Object.entries(active).map(([d, n]) => `${d} ${n} active`);
    const staleText = Object.entries(stale).map(([d, n]) => `${d} ${n} (stale: it holds no VIP of the service)`);
    const line =
      `waiting for ${host}: ${counts.join(', ')}` +
      (staleText.length ? `; not waited on: ${staleText.join(', ')}` : '') +
      (weighted ? ` (weight not yet 0 on ${weighted} destination${weighted > 1 ? 's' : ''})` : '');
    if (line !== last) say(line);
    last = line;
    if (seconds >= timeoutSec) return { drained: false, seconds, active, expiresWithin, ...staleInfo };
    await sleep(1000);
  }
}
