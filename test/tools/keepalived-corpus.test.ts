// Every keepalived.conf that lvsctl renders from an inventory its validation accepts passes
// keepalived -t. Not hand-picked files: a generated corpus (keepalived-corpus.ts) of a few hundred
// coherent inventories combining every option that reaches keepalived.conf, plus risky but valid
// mixes. Each is validated as `lvsctl validate` does (secrets not required); the accepted ones are
// rendered and both directors' configs are tested in one network namespace holding the inventory's
// interfaces. A failure shows the inventory, keepalived's output and the numbered config, so
// validation can be fixed (refuse the combination) or the renderer (write it another way). That
// keepalived -t can fail at all is proven in render-tools.test.ts.
// The mistakes whose keepalived.conf failed keepalived -t (and others validation must catch) are a
// separate list, REFUSED: each is made on an inventory that validation accepts, and must be refused
// at the field it names.
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InventoryError } from '../../src/errors.js';
import { loadInventory } from '../../src/inventory/load.js';
import type { Cluster } from '../../src/inventory/model.js';
import { renderCluster } from '../../src/render/host.js';
import { corpus, OPTIONS, REFUSED, refusedCases, RISKY, type CorpusCase } from './keepalived-corpus.js';
import { interfacesOf, keepalivedTest, run, withNetns, withScripts } from './keepalived-check.js';

const missing = ['keepalived', 'ip'].filter((t) => run('sh', ['-c', `command -v ${t}`]).status !== 0);
const skip = missing.length
  ? `not installed: ${missing.join(', ')} (apt-get install keepalived iproute2)`
  : process.getuid?.() !== 0 && 'needs root for ip netns';

/** 8 characters, keepalived's longest auth_pass. */
const VRRP_PASSWORD = 'c0rpusPw';
/** Where the inventories "are": nothing exists there, so a password_file is not read. */
const DIR = join(tmpdir(), 'lvsctl-corpus-nonexistent');
/** Fewer would not prove much: the corpus holds about 480 (320 at random, 40 risky mixes 4 times each). */
const MIN_ACCEPTED = 250;
/** Each option value in at least this many accepted inventories that render a keepalived.conf. */
const MIN_PER_VALUE = 3;
/** What in keepalived's output says it changed or ignored something while still passing. */
const NOTICE = /warning|ignor|invalid|setting|reset|changed|not supported|unknown|error/i;

interface Accepted {
  k: CorpusCase;
  cluster: Cluster;
}
const cases = corpus();
const accepted: Accepted[] = [];
const refusals = new Map<string, string[]>(); // the first problem, without positions -> case ids
const refusedWhy = new Map<string, string>(); // case id -> its problems
const problemsOf = (e: InventoryError) => e.problems.map((p) => `${p.field}: ${p.message}`);
for (const k of cases) {
  try {
    accepted.push({
      k,
      cluster: loadInventory(join(DIR, `${k.id}.yaml`), { text: k.text, requireSecrets: false }).cluster,
    });
  } catch (e) {
    if (!(e instanceof InventoryError)) throw e;
    const why = `${e.problems[0]!.field}: ${e.problems[0]!.message}`.replace(/\[\d+\]/g, '[]');
    refusals.set(why, [...(refusals.get(why) ?? []), k.id]);
    refusedWhy.set(k.id, problemsOf(e).join('\n  '));
  }
}

const numbered = (text: string) =>
  text
    .split('\n')
    .map((l, i) => `${String(i + 1).padStart(4)}  ${l}`)
    .join('\n');

/** The options that tell inventories apart at a glance: "dr pair vrrp×2 IPv4+IPv6 tcp+fwmark". */
function summary(k: CorpusCase): string {
  const of = (key: string) =>
    k.tags
      .filter((t) => t.startsWith(`${key}=`))
      .map((t) => t.slice(key.length + 1))
      .join('+');
  const vrrp = k.tags.some((t) => t.startsWith('vrrp.instances=')) ? ` vrrp×${of('vrrp.instances')}` : '';
  return `${of('mode')} ${of('directors')}${vrrp} IPv${of('vip.family')} ${of('service.kind')}`;
}

/** A keepalived message as a kind: without the file and line, numbers, addresses and names. */
const kindOf = (line: string) =>
  line
    .replace(/^\([^)]*: Line \d+\) /, '')
    .replace(/^\([^)]*\)/, '(instance)')
    .replace(/\[[^\]]*\](:(tcp|udp|none):\d+)?|FWM \d+/g, '[…]')
    .replace(/\d+(\.\d+)?/g, 'N');

/** Tags of the inventories that rendered at least one keepalived.conf; what keepalived said about
 * configs it passed; the kinds of failure (message -> case ids). */
const tested: string[][] = [];
const notices: string[] = [];
const failureKinds = new Map<string, Set<string>>();

describe(
  'generated corpus: every accepted inventory renders a keepalived.conf that passes keepalived -t',
  { skip },
  () => {
    for (const { k, cluster } of accepted) {
      it(`${k.id}: ${summary(k)}`, () => {
        const configs = [...renderCluster(cluster, { vrrpPassword: VRRP_PASSWORD })].flatMap(([host, files]) =>
          files.filter((f) => f.kind === 'keepalived').map((f) => ({ host, content: f.content })),
        );
        if (!configs.length) return; // ipvsadm only: no keepalived
        tested.push(k.tags);
        const failures = withScripts(cluster, () =>
          withNetns(interfacesOf(cluster), (ns) =>
            configs.flatMap(({ host, content }) => {
              const res = keepalivedTest(ns, content);
              const out = `${res.stdout}${res.stderr}`.trim();
              if (res.status === 0) {
                if (out)
                  notices.push(
                    `${k.id} ${host}: ${
                      out
                        .split('\n')
                        .filter((l) => NOTICE.test(l))
                        .join(' | ') || out
                    }`,
                  );
                return [];
              }
              for (const line of out.split('\n').filter(Boolean)) {
                const kind = kindOf(line);
                failureKinds.set(kind, (failureKinds.get(kind) ?? new Set()).add(k.id));
              }
              return [
                {
                  host,
                  content,
                  head: `--- keepalived -t on ${host}: exit ${res.status}${res.error ? ` (${res.error.message})` : ''}\n${out}`,
                },
              ];
            }),
          ),
        );
        // The first failing config whole (a pair's two differ in state, priority and unicast addresses).
        if (failures.length)
          assert.fail(
            `${k.id}: an accepted inventory whose keepalived.conf fails keepalived -t (refuse it in validation, or render it otherwise)\n` +
              `--- inventory (${summary(k)})\n${k.text}${failures.map((f) => f.head).join('\n')}\n` +
              `--- ${failures[0]!.host}: keepalived.conf\n${numbered(failures[0]!.content)}`,
          );
      });
    }

    it(`the corpus means something: at least ${MIN_ACCEPTED} accepted, every option value in ${MIN_PER_VALUE} tested`, (t) => {
      const refusedCount = [...refusals.values()].reduce((a, ids) => a + ids.length, 0);
      t.diagnostic(
        `corpus: ${cases.length} generated, ${accepted.length} accepted (${tested.length} with keepalived.conf), ${refusedCount} refused`,
      );
      for (const [why, ids] of [...refusals].sort((a, b) => b[1].length - a[1].length))
        t.diagnostic(`refused ×${ids.length}: ${why} (${ids.slice(0, 4).join(' ')}${ids.length > 4 ? ' …' : ''})`);
      assert.ok(accepted.length >= MIN_ACCEPTED, `only ${accepted.length} of ${cases.length} accepted`);
      assert.ok(
        tested.length >= MIN_ACCEPTED * 0.8,
        `only ${tested.length} accepted inventories render a keepalived.conf`,
      );
      const count = new Map<string, number>();
      for (const tags of tested) for (const tag of tags) count.set(tag, (count.get(tag) ?? 0) + 1);
      const rare = Object.entries(OPTIONS)
        .flatMap(([key, values]) => values.map((v) => `${key}=${v}`))
        .filter((tag) => (count.get(tag) ?? 0) < MIN_PER_VALUE)
        .map((tag) => `${tag} (${count.get(tag) ?? 0})`);
      assert.deepEqual(rare, [], `option values in fewer than ${MIN_PER_VALUE} tested inventories`);
      // Pairs of values of two options (interfaces aside): the tested inventories hold nearly every
      // pair the generator produced, so refusals did not cut a region out of the corpus.
      const index = new Map<string, number>();
      const pairsOf = (tags: string[]) => {
        const main = tags.filter((tag) => !tag.startsWith('interface='));
        const ids = main.map((tag) => index.get(tag) ?? index.set(tag, index.size).get(tag)!);
        const keys = main.map((tag) => tag.split('=')[0]);
        return ids.flatMap((a, i) =>
          ids
            .slice(i + 1)
            .filter((_, j) => keys[i] !== keys[i + 1 + j])
            .map((b) => a * 4096 + b),
        );
      };
      const generated = new Set(cases.flatMap((c) => pairsOf(c.tags)));
      const seen = new Set(tested.flatMap(pairsOf));
      t.diagnostic(`option value pairs: ${seen.size} of ${generated.size} generated pairs tested`);
      assert.ok(seen.size >= generated.size * 0.9, `${seen.size} of ${generated.size} pairs tested`);
      const riskyTested = Object.keys(RISKY).filter((name) => accepted.some((a) => a.k.id.includes(`-${name}.`)));
      t.diagnostic(`risky mixes accepted: ${riskyTested.length} of ${Object.keys(RISKY).length}`);
    });

    it('keepalived -t passed the accepted configs without a word (nothing changed or ignored)', () => {
      assert.deepEqual(notices, []);
    });

    // Not an assertion: the failures above, by kind, for whoever fixes them.
    it('failure kinds (diagnostics)', (t) => {
      for (const [kind, ids] of [...failureKinds].sort((a, b) => b[1].size - a[1].size))
        t.diagnostic(`×${ids.size} ${kind} (${[...ids].slice(0, 3).join(' ')}${ids.size > 3 ? ' …' : ''})`);
    });
  },
);

describe('validation of the corpus and of the risky mixes (no keepalived needed)', () => {
  it('each risky mix gets every choice it forces', () => {
    const unmet = cases.flatMap((k) =>
      Object.entries(k.force ?? {})
        .map(([key, v]) => `${key.replace(/#\d+$/, '')}=${v}`)
        .filter((tag) => !k.tags.includes(tag))
        .map((tag) => `${k.id}: ${tag}`),
    );
    assert.deepEqual(unmet, [], 'the generator did not take these forced choices (they do not fit the others)');
  });

  it('every risky but valid mix is accepted', () => {
    const refused = cases
      .filter((k) => k.id.startsWith('x') && refusedWhy.has(k.id))
      .map((k) => `${k.id}:\n  ${refusedWhy.get(k.id)}\n--- inventory\n${k.text}`);
    assert.deepEqual(refused, [], 'risky mixes that are valid, refused by validation');
  });

  const refusedMixes = refusedCases();
  for (const name of Object.keys(REFUSED))
    it(`refused: ${name}`, (t) => {
      for (const r of refusedMixes.filter((m) => m.name === name)) {
        const load = (text: string) => loadInventory(join(DIR, `${r.id}.yaml`), { text, requireSecrets: false });
        try {
          load(r.base);
        } catch (e) {
          if (!(e instanceof InventoryError)) throw e;
          assert.fail(
            `${r.id}: the coherent inventory it is made on is refused already (fix the generator)\n  ${problemsOf(e).join('\n  ')}\n--- inventory\n${r.base}`,
          );
        }
        let error: InventoryError | undefined;
        try {
          load(r.text);
        } catch (e) {
          if (!(e instanceof InventoryError)) throw e;
          error = e;
        }
        if (!error) assert.fail(`${r.id}: ACCEPTED, but validation must refuse it\n--- inventory\n${r.text}`);
        const hits = error.problems.filter((p) => r.field.test(p.field));
        for (const p of hits) t.diagnostic(`${r.id}: refused at ${p.field}: ${p.message}`);
        assert.ok(
          hits.length > 0,
          `${r.id}: refused, but not at a field matching ${r.field}:\n  ${problemsOf(error).join('\n  ')}`,
        );
      }
    });
});
