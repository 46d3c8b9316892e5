// A change as a structured record for machines (--json): what kind, which action, on what target,
// from which value or state to which (null: absent or not known), with the line people read and
// the diff. The CLI's JSON contract (cli/contract.ts) takes this schema as its change record.
import { z } from 'zod';
import { STATE_FILE } from '../render/paths.js';
import { plural } from '../util/plural.js';
import { changeDiff, describe, fmtAddr, type Change } from './types.js';

/** One change, planned (plan) or made (up, start, stop, down, drain). `from`/`to` are the target's
 * value or state before and after, null where it does not exist (or is not known). */
export const ChangeRecord = z.strictObject({
  host: z.string(),
  kind: z.string(),
  action: z.string(),
  target: z.string(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  description: z.string(),
  /** Unified diff of a file (secrets masked) or the lines sent (ipvsadm, iptables). */
  diff: z.string().optional(),
});
export type ChangeRecord = z.infer<typeof ChangeRecord>;

type Fields = Pick<ChangeRecord, 'action' | 'target' | 'from' | 'to'>;

const modeOf = (mode: number) => `mode ${mode.toString(8).padStart(4, '0')}`;
const present = (yes: boolean, what = 'present') => (yes ? what : null);

function fields(c: Change): Fields {
  switch (c.kind) {
    case 'packages':
      return {
        action: c.action,
        target: c.packages.join(' '),
        from: c.action === 'install' ? null : 'installed',
        to: c.action === 'install' ? 'installed' : null,
      };
    case 'state':
      return c.phase === 'remove'
        ? { action: 'delete', target: STATE_FILE, from: 'present', to: null }
        : { action: 'write', target: STATE_FILE, from: null, to: `${c.phase} changes` };
    case 'file':
      if (c.action === 'delete') return { action: 'delete', target: c.path, from: 'present', to: null };
      return {
        action: c.action,
        target: c.file.path,
        from: c.action === 'create' ? null : 'other content',
        to: modeOf(c.file.mode),
      };
    case 'module':
      return { action: 'load', target: c.name, from: 'not loaded', to: 'loaded' };
    case 'sysctl':
      return { action: c.restore ? 'restore' : 'set', target: c.key, from: c.from ?? null, to: c.to };
    case 'link':
      return { action: c.up ? 'up' : 'down', target: c.dev, from: c.up ? 'down' : 'up', to: c.up ? 'up' : 'down' };
    case 'address':
      return {
        action: c.action === 'add' ? 'add' : 'delete',
        target: fmtAddr(c.addr),
        from: present(c.action !== 'add'),
        to: present(c.action === 'add'),
      };
    case 'route':
      return c.action === 'set'
        ? { action: 'set', target: 'default route', from: c.from ?? null, to: `via ${c.via}` }
        : { action: 'restore', target: 'default route', from: c.from ?? null, to: c.to || null };
    case 'ipvs':
      return { action: 'apply', target: 'IPVS table', from: null, to: plural(c.lines.length, 'ipvsadm line') };
    case 'netfilter':
      return {
        action: c.action,
        target: `${c.cmd} ${c.chains.map((ch) => `${ch.table}/${ch.chain}`).join(' ')}`,
        from: present(c.action === 'remove', 'loaded'),
        to: present(c.action === 'apply', 'loaded'),
      };
    case 'timeouts':
      return {
        action: c.restore ? 'restore' : 'set',
        target: 'IPVS timeouts (tcp tcpfin udp)',
        from: c.from?.join(' ') ?? null,
        to: c.to.join(' '),
      };
    case 'keepalived':
      return {
        action: c.action,
        target: 'keepalived',
        from: c.action === 'start' ? 'stopped' : 'running',
        to: c.action === 'stop' ? 'stopped' : 'running',
      };
    case 'keepalived-boot':
      return {
        action: c.restore ? 'restore' : 'set',
        target: 'keepalived at boot',
        from: c.from,
        to: c.enable ? 'enabled' : 'disabled',
      };
    case 'bootlink':
      return c.action === 'create'
        ? { action: 'create', target: c.path, from: null, to: c.target }
        : { action: 'delete', target: c.path, from: c.target, to: null };
  }
}

export function changeRecord(host: string, c: Change): ChangeRecord {
  const diff = changeDiff(c);
  return { host, kind: c.kind, ...fields(c), description: describe(c), ...(diff ? { diff } : {}) };
}
