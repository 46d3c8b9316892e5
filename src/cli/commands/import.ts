// `lvsctl import --from DIRECTOR -o FILE`: reads a running cluster (the directors named, then the
// real servers their tables send to, where reachable) and writes the inventory that reproduces it.
// It only reads: the script it runs on each host changes nothing.
import { existsSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { ExitCode, UsageError } from '../../errors.js';
import { Connections } from '../../engine/connections.js';
import { buildInventory, checkDirectors, parseDest, realServerAddresses, type Reached } from '../../import/build.js';
import { importScript, parseImportFacts } from '../../import/facts.js';
import { loadInventory } from '../../inventory/load.js';
import { sshTarget, type ResolvedHost } from '../../inventory/model.js';
import { NAME_PATTERN } from '../../inventory/types.js';
import { mapLimit } from '../../ssh/connection.js';
import { quoted } from '../../util/printable.js';
import { writeAtomic } from '../../util/write-local.js';
import type { ImportOptions } from '../options.js';
import { bootScriptWords } from '../../resources/boot-scripts.js';
import type { Output } from '../output.js';

function hostFor(name: string, dest: string, become: boolean, user?: string): ResolvedHost {
  const d = parseDest(dest);
  return {
    name,
    address: d.host,
    ssh: sshTarget({ host: d.host, port: d.port, user: d.user ?? user }, d.host, process.cwd()),
    become: become ? { method: 'sudo' } : false,
    roles: new Set(),
    groups: [],
    path: ['hosts', name],
  };
}

export async function runImport(o: ImportOptions, out: Output): Promise<number> {
  const toStdout = o.out === '-';
  if (o.cluster !== undefined && !NAME_PATTERN.test(o.cluster))
    throw new UsageError(`--cluster: expected a name of letters, digits, "_", "." or "-", got ${quoted(o.cluster)}`);
  if (toStdout && o.json)
    throw new UsageError('--json needs -o FILE (the inventory would share stdout with the document)');
  if (!toStdout && existsSync(o.out)) {
    if (statSync(o.out).isDirectory()) throw new UsageError(`-o ${quoted(o.out)} is a directory; name a file`);
    if (!o.force) throw new UsageError(`${quoted(o.out)} exists; use --force to overwrite it`);
  }
  const hosts = new Map<string, ResolvedHost>();
  o.from.forEach((f) => hosts.set(f, hostFor(f, f, o.become)));
  const conns = new Connections({ hosts }, o.acceptNewHostKeys, process.env, o.sshConfig, (l) => out.error(l));
  const read = async (name: string): Promise<Reached> => {
    try {
      const conn = await conns.get(name);
      const r = await conn.exec(importScript());
      if (r.code !== 0) return { dest: name, error: `the import script failed (exit ${r.code}): ${r.stderr.trim()}` };
      return { dest: name, facts: parseImportFacts(r.stdout) };
    } catch (e) {
      return { dest: name, error: e instanceof Error ? e.message : String(e) };
    }
  };
  try {
    const directors = checkDirectors(await Promise.all(o.from.map(read)));
    const rsAddrs = o.realServers ? realServerAddresses(directors.flatMap((d) => (d.facts ? [d.facts] : []))) : [];
    // Real servers are reached by their address, as the first director's user.
    const user = parseDest(o.from[0]!).user;
    for (const a of rsAddrs) hosts.set(a, hostFor(a, a.includes(':') ? `[${a}]` : a, o.become, user));
    const realServers = new Map<string, Reached>();
    await mapLimit(rsAddrs, o.forks, async (a) => {
      out.debug(`reading real server ${a}`);
      realServers.set(a, await read(a));
    });
    const base = toStdout ? process.cwd() : dirname(resolve(o.out));
    const result = buildInventory({
      cluster: o.cluster,
      directors,
      realServers,
      sshConfig: o.sshConfig && o.sshConfig !== 'none' ? relative(base, resolve(o.sshConfig)) || '.' : undefined,
    });
    // The VRRP password goes into a 0600 file beside the inventory, never into output.
    for (const f of result.files) writeAtomic(join(base, f.name), f.content, 'the password file', f.mode);
    // What import writes must load: checked beside the target, where its relative paths resolve.
    const check = join(base, `.${toStdout ? 'import' : basename(o.out)}.lvsctl-check-${process.pid}.yaml`);
    writeAtomic(check, result.text, 'the check copy');
    try {
      loadInventory(check);
    } finally {
      rmSync(check, { force: true });
    }
    if (toStdout) process.stdout.write(result.text);
    else writeAtomic(o.out, result.text, '-o');

    const reachedRs = [...realServers.values()].filter((r) => r.facts).length;
    const say = (l: string) => (o.json || toStdout ? process.stderr.write(l + '\n') : out.info(l));
    say(
      `${toStdout ? 'imported' : `wrote ${o.out}`}: the cluster on ${o.from.join(', ')}; ${reachedRs} of ${rsAddrs.length} real servers read`,
    );
    for (const [a, r] of realServers) if (!r.facts) say(`  real server ${a} not reached: ${r.error}`);
    for (const f of result.files)
      say(`  wrote ${join(toStdout ? '.' : dirname(o.out), f.name)} (mode 0600): the VRRP password`);
    for (const n of result.notImported) say(`  not imported: ${n}`);
    for (const f of result.fighters) say(`  boot-time script on ${f.host}: ${bootScriptWords(f.fighter, true)}`);
    out.set({
      out: toStdout ? null : o.out,
      not_imported: result.notImported,
      boot_scripts: result.fighters.map((f) => ({ host: f.host, ...f.fighter })),
      real_servers: [...realServers].map(([address, r]) => ({ address, reached: !!r.facts, error: r.error ?? null })),
    });
    return ExitCode.ok;
  } finally {
    await conns.closeAll();
  }
}
