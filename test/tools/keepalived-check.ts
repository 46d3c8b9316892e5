// keepalived -t on a rendered keepalived.conf, in a throw-away network namespace: shared by the
// tools tier (render-tools.test.ts: the example inventories; keepalived-corpus.test.ts: generated
// ones; hostile-apply.test.ts runs real-server scripts in the namespaces).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from '../../src/inventory/model.js';
import { directorScripts } from '../../src/inventory/scripts.js';

export const run = (cmd: string, args: string[], input?: string) =>
  spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 60_000 });

let n = 0;

// keepalived -t fails on interfaces that do not exist ("Non-existent interface", exit 5), so each
// config is tested in a throw-away network namespace holding veth interfaces with its names.
export function interfacesOf(c: Cluster): string[] {
  const names = new Set<string>();
  for (const i of c.directors.vrrp?.instances ?? []) {
    names.add(i.interface);
    for (const t of i.track_interface ?? []) names.add(t.interface);
  }
  for (const s of c.services) names.add(s.vip.interface);
  if (c.directors.dip) names.add(c.directors.dip.interface);
  if (c.directors.sync_daemon) names.add(c.directors.sync_daemon.interface);
  return [...names].sort();
}

/** keepalived -t checks the scripts a config names (exist, executable, safe path): `fn` runs with
 * the cluster's scripts in place (root's, 0755; directories made here are 0755), and what was made
 * here is removed after. */
export function withScripts<T>(c: Cluster, fn: () => T): T {
  const made: string[] = [];
  for (const path of new Set(directorScripts(c).map((s) => s.path))) {
    if (existsSync(path)) continue;
    const dirs = path
      .split('/')
      .slice(1, -1)
      .map((_, i, a) => '/' + a.slice(0, i + 1).join('/'));
    for (const d of dirs.filter((x) => !existsSync(x))) {
      mkdirSync(d, { mode: 0o755 });
      made.push(d);
    }
    writeFileSync(path, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    made.push(path);
  }
  try {
    return fn();
  } finally {
    for (const p of made.reverse()) rmSync(p, { recursive: true, force: true });
  }
}

export function withNetns<T>(ifaces: string[], fn: (ns: string) => T): T {
  const ns = `lvsctl-t${process.pid}-${n++}`;
  assert.equal(run('ip', ['netns', 'add', ns]).status, 0, 'ip netns add');
  try {
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']); // real-server scripts put the VIP on lo
    const names = ifaces.length % 2 ? [...ifaces, 'lvsctlpad0'] : ifaces;
    // `name` first: an interface called "a" would otherwise be read as ip's `address` keyword.
    for (let i = 0; i < names.length; i += 2) {
      const r = run('ip', ['-n', ns, 'link', 'add', 'name', names[i]!, 'type', 'veth', 'peer', 'name', names[i + 1]!]);
      assert.equal(r.status, 0, r.stderr);
    }
    return fn(ns);
  } finally {
    run('ip', ['netns', 'del', ns]);
  }
}

// Not executable: keepalived skips an executable config file ("is not a regular non-executable
// file - skipping") and then exits 0 having checked nothing.
export function keepalivedTest(ns: string, content: string) {
  const dir = mkdtempSync(join(tmpdir(), 'lvsctl-ka-'));
  try {
    const f = join(dir, 'keepalived.conf');
    writeFileSync(f, content, { mode: 0o600 });
    return run('ip', ['netns', 'exec', ns, 'keepalived', '-t', '-l', '-f', f]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
