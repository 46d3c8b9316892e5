// The default route (NAT real servers route replies through the director): the original is
// recorded, and restored when no longer wanted.
import type { HostFacts } from '../facts/parse.js';
import { sh } from '../util/quote.js';
import { type CommandResource } from './types.js';

export type RouteChange =
  | { kind: 'route'; action: 'set'; via: string; from?: string }
  | { kind: 'route'; action: 'restore'; to: string; from?: string };

export const route = {
  // The route section: links.ts prints it.
  parse(get): Pick<HostFacts, 'defaultRoute4'> {
    const route4 = get('route').find((l) => l.startsWith('default') && !l.includes(':'));
    return {
      defaultRoute4: route4
        ? { via: /\bvia (\S+)/.exec(route4)?.[1], dev: /\bdev (\S+)/.exec(route4)?.[1], raw: route4.trim() }
        : undefined,
    };
  },
  plan({ desired: d, facts: f, old, pre, next, adds, removals }) {
    const curRoute = f.defaultRoute4?.raw;
    if (d.route) {
      if (old.originals.defaultRoute === undefined) {
        pre.originals.defaultRoute = curRoute ?? '';
        next.originals.defaultRoute = curRoute ?? '';
      }
      if (f.defaultRoute4?.via !== d.route.via)
        adds.push({ kind: 'route', action: 'set', via: d.route.via, from: curRoute });
    } else if (old.originals.defaultRoute !== undefined) {
      delete next.originals.defaultRoute;
      if ((curRoute ?? '') !== old.originals.defaultRoute)
        removals.push({ kind: 'route', action: 'restore', to: old.originals.defaultRoute, from: curRoute });
    }
  },
  record: (c) =>
    c.action === 'set'
      ? { action: 'set', target: 'default route', from: c.from ?? null, to: `via ${c.via}` }
      : { action: 'restore', target: 'default route', from: c.from ?? null, to: c.to || null },
  describe: (c) =>
    c.action === 'set'
      ? `default route: ${c.from ?? '(none)'} -> via ${c.via}`
      : `restore default route: ${c.from ?? '(none)'} -> ${c.to || '(none)'}`,
  command(c) {
    if (c.action === 'set') return sh`ip route replace default via ${c.via}`;
    return c.to ? sh`ip route replace ${c.to.trim().split(/\s+/)}` : sh`ip route del default`;
  },
} satisfies CommandResource<RouteChange>;
