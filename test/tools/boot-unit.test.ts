// The boot unit's side of `systemctl stop lvsctl.service`, for real on this machine: its ExecStop runs
// the host's script with `stop`, and lvsctl runs that after its own teardown (stop, down). Each
// rendered script runs in a throw-away network namespace with a private /run and /var/lib (its undo
// log and lvsctl's state file): after `lvsctl stop` (the mark in the state file) the script's stop
// undoes nothing; on a host `lvsctl down` tore down it exits 0 and changes nothing. And the facts
// fragment asks systemctl exactly what the planner reads (a fake systemctl, a private /run).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseFacts } from '../../src/facts/parse.js';
import { factsScript } from '../../src/facts/script.js';
import { loadInventory } from '../../src/inventory/load.js';
import { packageRoot } from '../../src/paths.js';
import { renderCluster } from '../../src/render/host.js';
import { MANAGED_PATHS } from '../../src/render/paths.js';
import { run, withNetns } from './keepalived-check.js';

const have = (tool: string) => run('sh', ['-c', `command -v ${tool}`]).status === 0;
const skip =
  ['ip', 'bash', 'unshare', 'iptables', 'iptables-save'].filter((t) => !have(t)).map((t) => `not installed: ${t}`)[0] ??
  (process.getuid?.() !== 0 ? 'needs root for ip netns and mounts' : false);

const work = mkdtempSync(join(tmpdir(), 'lvsctl-boot-unit-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** The host's script as lvsctl renders it, in a file here (`rules`: its ipvs.rules put here too). */
function script(inventory: string, host: string, path: string, rules?: string): string {
  const cluster = loadInventory(join(packageRoot, 'inventories', inventory), { requireSecrets: false }).cluster;
  const file = renderCluster(cluster, { vrrpPassword: 'x' })
    .get(host)!
    .find((f) => f.path === path)!;
  let content = file.content;
  if (rules !== undefined) {
    const at = join(work, `${host}-ipvs.rules`);
    writeFileSync(at, rules);
    content = content.replace(/^RULES=.*$/m, `RULES=${at}`);
  }
  const out = join(work, `${inventory}-${host}`);
  writeFileSync(out, content, { mode: 0o755 });
  return out;
}

/** `prog` in the namespace, in one process with a private /run and /var/lib: its stdout lines. */
function inNetns(ifaces: string[], prog: string[]): { lines: string[]; stderr: string } {
  return withNetns(ifaces, (ns) => {
    const body = [
      'set -u',
      'mount -t tmpfs lvsctl-run /run',
      'mount -t tmpfs lvsctl-lib /var/lib',
      'mkdir -p /var/lib/lvsctl',
      'mark() { printf \'{\\n  "stopped": true\\n}\\n\' >/var/lib/lvsctl/state.json; }',
      ...prog,
    ].join('\n');
    const r = run('ip', ['netns', 'exec', ns, 'unshare', '-m', '--propagation', 'private', 'bash', '-c', body]);
    return { lines: r.stdout.trim().split('\n'), stderr: r.stderr };
  });
}

describe("the script's stop, run by the boot unit's ExecStop after lvsctl's own teardown", { skip }, () => {
  /** After `setup` (the host as `lvsctl stop` leaves it: its own teardown done, the mark set): the
   * ExecStop; then `lvsctl down`'s teardown (`teardown`, the state file last) and the ExecStop. */
  const stopThenDown = (s: string, setup: string[], teardown: string[]) => [
    ...setup,
    `bash ${s} stop; echo "stop=$?"`,
    'show stopped',
    'rm /var/lib/lvsctl/state.json',
    ...teardown,
    `bash ${s} stop; echo "stop-after-down=$?"`,
    'show down',
  ];

  it('DR real server: after `lvsctl stop` it undoes nothing (ARP sysctls kept); after `lvsctl down` it exits 0 and changes nothing', () => {
    const s = script('lab-dr.yaml', 'rs1', MANAGED_PATHS.realServerScript);
    const { lines, stderr } = inNetns(
      ['eth0'],
      stopThenDown(
        s,
        [
          'c=/proc/sys/net/ipv4/conf',
          'v() { cat "$c/$1"; }',
          'show() { echo "$1 $(v all/arp_ignore) $(v all/arp_announce) $(v eth0/arp_ignore) vip=$(ip -o addr show dev lo | grep -c 10.99.2.100)"; }',
          `bash ${s} boot; echo "boot=$?"`, // the unit at boot: start, its changes in the undo log
          'show booted',
          'ip addr del 10.99.2.100/32 dev lo; mark', // lvsctl stop: the VIP released by its own command
        ],
        ['for k in all/arp_ignore all/arp_announce eth0/arp_ignore eth0/arp_announce; do echo 0 >$c/$k; done'],
      ),
    );
    assert.deepEqual(
      lines,
      ['boot=0', 'booted 1 2 1 vip=1', 'stop=0', 'stopped 1 2 1 vip=0', 'stop-after-down=0', 'down 0 0 0 vip=0'],
      stderr,
    );
    assert.match(stderr, /lvsctl-realserver: stopped by 'lvsctl stop': nothing to undo/);
  });

  it('NAT director: after `lvsctl stop` the DIP, forwarding and netfilter chains stay; after `lvsctl down` it exits 0 and changes nothing', () => {
    // This machine has no ip_vs (the director's start cannot run): the undo log is the one its boot
    // writes, by hand; ipvs.rules names a service the teardown already deleted.
    const s = script('lab-nat.yaml', 'dir1', MANAGED_PATHS.directorScript, '-A -t 10.99.1.100:80 -s wrr\n');
    const { lines, stderr } = inNetns(
      ['eth0', 'eth1'],
      stopThenDown(
        s,
        [
          'show() { echo "$1 fwd=$(cat /proc/sys/net/ipv4/ip_forward) dip=$(ip -o addr show dev eth1 | grep -c 10.99.2.1/24) jumps=$(iptables-save | grep -c -- "-A POSTROUTING -j LVSCTL")"; }',
          'echo 1 >/proc/sys/net/ipv4/ip_forward; ip addr add 10.99.2.1/24 dev eth1',
          'iptables -t nat -N LVSCTL && iptables -t nat -A POSTROUTING -j LVSCTL',
          'iptables -t mangle -N LVSCTL-GUARD && iptables -t mangle -A POSTROUTING -j LVSCTL-GUARD',
          'mkdir -p /run/lvsctl',
          "printf 'sysctl net/ipv4/ip_forward 0\\naddr 10.99.2.1/24 eth1\\naddr 10.99.1.100/24 eth0\\ntimeout 900 120 300\\n' >/run/lvsctl/lvsctl-director.state",
          'mark',
          'show kept',
        ],
        [
          'echo 0 >/proc/sys/net/ipv4/ip_forward; ip addr del 10.99.2.1/24 dev eth1',
          'for t in nat:LVSCTL mangle:LVSCTL-GUARD; do iptables -t ${t%%:*} -D POSTROUTING -j ${t#*:}; iptables -t ${t%%:*} -X ${t#*:}; done',
        ],
      ),
    );
    assert.deepEqual(
      lines,
      [
        'kept fwd=1 dip=1 jumps=2',
        'stop=0',
        'stopped fwd=1 dip=1 jumps=2',
        'stop-after-down=0',
        'down fwd=0 dip=0 jumps=0',
      ],
      stderr,
    );
  });

  it('without the mark the same stop undoes the boot (the check can fail)', () => {
    const s = script('lab-dr.yaml', 'rs1', MANAGED_PATHS.realServerScript);
    const { lines, stderr } = inNetns(
      ['eth0'],
      [
        `bash ${s} boot >/dev/null 2>&1`,
        `bash ${s} stop; echo "stop=$?"`,
        'echo "$(cat /proc/sys/net/ipv4/conf/all/arp_ignore) vip=$(ip -o addr show dev lo | grep -c 10.99.2.100)"',
      ],
    );
    assert.deepEqual(lines, ['stop=0', '0 vip=0'], stderr);
  });
});

describe('the facts fragment asks systemctl for the unit (a fake systemctl, a private /run)', { skip }, () => {
  const facts = (systemctl: string | null) => {
    const prog = [
      'set -eu',
      'mount -t tmpfs lvsctl-run /run && mkdir -p /run/systemd/system',
      ...(systemctl === null
        ? []
        : [
            'mount -t tmpfs lvsctl-sbin /usr/local/sbin',
            `printf '%s' "$FAKE" >/usr/local/sbin/systemctl`,
            'chmod +x /usr/local/sbin/systemctl',
          ]),
      `sh -c "$FACTS"`,
    ].join('\n');
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'bash', '-c', prog], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, FAKE: systemctl ?? '', FACTS: factsScript({ packages: [], files: [] }).text },
    });
    assert.equal(r.status, 0, r.stderr);
    return parseFacts(r.stdout);
  };
  it("systemd's words, read only with these arguments", () => {
    const fake = [
      '#!/bin/sh',
      '[ "$*" = "show -p LoadState,ActiveState,NeedDaemonReload lvsctl.service" ] || exit 1',
      'printf "LoadState=loaded\\nActiveState=active\\nNeedDaemonReload=yes\\n"',
    ].join('\n');
    const f = facts(fake);
    assert.equal(f.init, 'systemd');
    assert.deepEqual(f.bootUnit, { load: 'loaded', active: 'active', needReload: true });
  });
  it("a systemctl that cannot talk to systemd (a fake, and this machine's where systemd is not PID 1): null", () => {
    assert.equal(facts('#!/bin/sh\necho "System has not been booted with systemd" >&2; exit 1\n').bootUnit, null);
    if (have('systemctl') && !existsSync('/run/systemd/system')) assert.equal(facts(null).bootUnit, null);
  });
});
