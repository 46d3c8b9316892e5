// Local files an inventory names (SSH keys, known_hosts): never sent to a host, but read on the
// control machine. A path that exists and is not a regular file — /dev/zero, /dev/stdin, a FIFO,
// a directory such as "~" — would hang or exhaust the reader, so it is a mistake in the inventory.
// A path that does not exist is not checked here (validate runs where the keys may not be, e.g. CI).
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { FieldPath } from './locate.js';
import type { RuleProblem } from './rules.js';
import type { InventoryDoc, SshSettings } from './schema.js';

/** A local path as the inventory means it: ~ is the user's home, a relative path is relative to
 * the inventory file's folder (base). */
export function expandHome(p: string, base: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(base, p);
}

/** Reading /dev/null gives nothing, as an empty known_hosts file would (tests use it). */
const HARMLESS = new Set(['/dev/null']);

export function localFileProblems(doc: InventoryDoc, file: string): RuleProblem[] {
  const base = dirname(resolve(file));
  const out: RuleProblem[] = [];
  const check = (p: string | undefined, path: FieldPath) => {
    if (p === undefined) return;
    const full = expandHome(p, base);
    if (HARMLESS.has(full)) return;
    let st;
    try {
      st = statSync(full);
    } catch {
      return;
    }
    if (!st.isFile())
      out.push({
        path,
        message: `${st.isDirectory() ? 'a directory' : 'not a regular file'}: lvsctl reads this file on the control machine`,
      });
  };
  const ssh = (s: SshSettings | undefined, at: FieldPath) => {
    if (!s) return;
    check(s.identity_file, [...at, 'identity_file']);
    if (Array.isArray(s.known_hosts)) s.known_hosts.forEach((k, i) => check(k, [...at, 'known_hosts', i]));
    else check(s.known_hosts, [...at, 'known_hosts']);
    check(s.jump?.identity_file, [...at, 'jump', 'identity_file']);
    check(s.config, [...at, 'config']);
  };
  ssh(doc.vars?.ssh, ['vars', 'ssh']);
  for (const [g, group] of Object.entries(doc.groups ?? {})) ssh(group.vars?.ssh, ['groups', g, 'vars', 'ssh']);
  for (const [h, host] of Object.entries(doc.hosts)) ssh(host.ssh, ['hosts', h, 'ssh']);
  doc.vips.forEach((v, vi) =>
    v.services.forEach((s, si) =>
      check(s.verify?.tls?.ca_file, ['vips', vi, 'services', si, 'verify', 'tls', 'ca_file']),
    ),
  );
  return out;
}
