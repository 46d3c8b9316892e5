// The renderer: templates are quoted through one helper per language, output is deterministic,
// secrets land only in the file that needs them, and every example inventory matches its golden
// files (test/golden/<inventory>/<host>/<path>; UPDATE_GOLDEN=1 rewrites them).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { loadInventory } from '../../src/inventory/load.js';
import { packageRoot } from '../../src/paths.js';
import { PARTIALS, renderTemplate, TEMPLATES, templatePath, type TemplateLanguage } from '../../src/render/engine.js';
import { renderCluster, renderHost } from '../../src/render/host.js';
import { kq, KeepalivedQuoteError } from '../../src/render/keepalived-quote.js';
import { MANAGED_PATHS } from '../../src/render/paths.js';

export const GOLDEN_PASSWORD = 'g0ldpw'; // stands in for the VRRP password in golden files
const inventories = readdirSync(join(packageRoot, 'inventories'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const load = (f: string) => loadInventory(join(packageRoot, 'inventories', f), { requireSecrets: false }).cluster;
const render = (f: string) => renderCluster(load(f), { vrrpPassword: GOLDEN_PASSWORD });

// Which expressions each language accepts. Block syntax ({{#if}}, {{/each}}, {{else}}, {{> partial}},
// {{! comment}}) prints nothing itself.
const HELPER: Record<TemplateLanguage, RegExp> = {
  shell: /^sh\s/,
  keepalived: /^k(q|raw)\s/,
  unit: /^script$/, // MANAGED_PATHS constants only
  plain: /./, // sysctl.d, modules-load.d, iptables-restore input: typed numbers, addresses, names
};
const isBlock = (e: string) => /^[#/^>!]|^else\b/.test(e);

function expressions(text: string): { line: number; expr: string; before: string }[] {
  const out: { line: number; expr: string; before: string }[] = [];
  text.split('\n').forEach((l, i) => {
    for (const m of l.matchAll(/\{\{\{?~?\s*([^}]*?)\s*~?\}?\}\}/g))
      out.push({ line: i + 1, expr: m[1]!, before: l.slice(0, m.index) });
  });
  return out;
}

describe('templates', () => {
  const all: [string, TemplateLanguage, string][] = [
    ...Object.entries(TEMPLATES).map(([n, lang]) => [n, lang, templatePath(n)] as [string, TemplateLanguage, string]),
    ...Object.entries(PARTIALS).map(
      ([n, lang]) => [`partials/${n}`, lang, templatePath(n, true)] as [string, TemplateLanguage, string],
    ),
  ];

  it('every template file is listed with its language', () => {
    const files = [
      ...readdirSync(join(packageRoot, 'templates')).filter((f) => f.endsWith('.hbs')),
      ...readdirSync(join(packageRoot, 'templates/partials')).map((f) => `partials/${f}`),
    ];
    assert.deepEqual(files.map((f) => f.replace(/\.hbs$/, '')).sort(), all.map(([n]) => n).sort());
  });

  for (const [name, lang, file] of all) {
    it(`${name} (${lang}): every value goes through the ${lang} helper`, () => {
      const text = readFileSync(file, 'utf8');
      for (const { line, expr, before } of expressions(text)) {
        if (isBlock(expr)) continue;
        assert.match(expr, HELPER[lang], `${name}.hbs:${line}: {{${expr}}} must use the ${lang} quoting helper`);
        assert.doesNotMatch(text, /\{\{\{/, `${name}.hbs: triple-stash bypasses nothing here but hides intent`);
        // A shell-quoted word inside "..." would keep its quotes literally.
        if (lang === 'shell')
          assert.equal(
            (before.match(/"/g) ?? []).length % 2,
            0,
            `${name}.hbs:${line}: {{${expr}}} inside a double-quoted string`,
          );
      }
    });
  }

  it('the scan catches an unquoted value (self-test)', () => {
    const bad = expressions('ip addr add {{address}} dev {{sh dev}}').filter(
      (e) => !isBlock(e.expr) && !HELPER.shell.test(e.expr),
    );
    assert.deepEqual(
      bad.map((e) => e.expr),
      ['address'],
    );
  });

  it('no HTML escaping, and a missing variable is an error (strict)', () => {
    const ctx = { host: 'h', cluster: 'c', mode: 'nat', modules: ['a&b=c'] };
    assert.match(renderTemplate('modules-load.conf', ctx), /^a&b=c$/m);
    // strict covers plain {{x}}; a value passed to a helper arrives as undefined, and sh/kq refuse it.
    // (Block parameters such as {{#if x}} stay lenient in Handlebars' strict mode.)
    assert.throws(() => renderTemplate('modules-load.conf', { cluster: 'c', modules: [] }), /"host" not defined/);
    assert.throws(() => renderTemplate('lvsctl.init', { director: true }), /\{\{sh\}\} got undefined/);
    assert.throws(
      () =>
        renderTemplate('keepalived.conf', {
          host: 'h',
          cluster: 'c',
          mode: 'nat',
          secret: false,
          syncDaemon: false,
          syncGroup: false,
          instances: [],
          virtualServers: [{}],
        }),
      /\{\{kq\}\} got undefined/,
    );
  });
});

describe('keepalived quoting (kq)', () => {
  it('bare words stay bare, the rest is double-quoted', () => {
    assert.equal(kq('eth0'), 'eth0');
    assert.equal(kq(51), '51');
    assert.equal(kq('10.0.0.1/24'), '10.0.0.1/24');
    assert.equal(kq('/healthz?full=1&fmt=txt'), '"/healthz?full=1&fmt=txt"');
    assert.equal(kq('/a#b!c{d}'), '"/a#b!c{d}"');
    assert.equal(kq('@main'), '"@main"');
  });
  it('refuses what keepalived cannot read back', () => {
    for (const v of ['a"b', 'a\nb', 'a\\', '{', '}', '', 'a\tb'])
      assert.throws(() => kq(v), KeepalivedQuoteError, JSON.stringify(v));
  });
});

describe('renderCluster', () => {
  const managed = new Set<string>(Object.values(MANAGED_PATHS));

  for (const inv of inventories) {
    it(`${inv}: renders, deterministic, only managed paths, sane modes`, () => {
      const a = render(inv);
      const b = render(inv);
      assert.deepEqual(a, b);
      assert.ok(a.size > 0);
      for (const [host, files] of a) {
        assert.deepEqual(
          files.map((f) => f.path),
          [...files.map((f) => f.path)].sort(),
          `${host}: sorted by path`,
        );
        for (const f of files) {
          assert.ok(managed.has(f.path), `${host}: ${f.path} is not in MANAGED_PATHS`);
          const exec = f.kind === 'script' || f.kind === 'initscript';
          let mode = f.secret ? 0o600 : 0o644;
          if (exec) mode = 0o755;
          assert.equal(f.mode, mode, `${host}: ${f.path} mode`);
          assert.ok(f.content.endsWith('\n') && !f.content.includes('&amp;') && !f.content.includes('\r'));
        }
      }
      const c = load(inv);
      for (const h of c.hosts.values())
        if (h.roles.has('client') && !h.roles.has('director') && !h.roles.has('real_server'))
          assert.equal(a.has(h.name), false, `client ${h.name} gets no files`);
    });
  }

  it('the VRRP password is only in keepalived.conf, which is secret and 0600', () => {
    for (const inv of ['example-dr-ha.yaml', 'lab-ha.yaml']) {
      for (const [host, files] of render(inv)) {
        for (const f of files) {
          const has = f.content.includes(GOLDEN_PASSWORD);
          assert.equal(
            has,
            f.path === MANAGED_PATHS.keepalived && load(inv).hosts.get(host)!.roles.has('director'),
            `${inv} ${host} ${f.path}`,
          );
          if (has) assert.deepEqual([f.secret, f.mode], [true, 0o600]);
        }
      }
    }
  });

  it('a pair with auth needs the password', () => {
    assert.throws(() => renderHost(load('example-dr-ha.yaml'), 'lvs-a', {}), /VRRP password is needed/);
  });
});

describe('golden files (UPDATE_GOLDEN=1 rewrites them)', () => {
  const goldenDir = join(packageRoot, 'test/golden');
  const walk = (d: string): string[] =>
    existsSync(d)
      ? readdirSync(d).flatMap((e) => (statSync(join(d, e)).isDirectory() ? walk(join(d, e)) : [join(d, e)]))
      : [];

  for (const inv of inventories) {
    const name = inv.replace(/\.yaml$/, '');
    it(`${name}`, () => {
      const want = new Map<string, { content: string; mode: number }>();
      for (const [host, files] of render(inv)) for (const f of files) want.set(join(name, host, f.path), f);
      if (process.env.UPDATE_GOLDEN === '1') {
        rmSync(join(goldenDir, name), { recursive: true, force: true });
        for (const [p, f] of want) {
          mkdirSync(dirname(join(goldenDir, p)), { recursive: true });
          writeFileSync(join(goldenDir, p), f.content);
        }
      }
      const have = walk(join(goldenDir, name))
        .map((p) => relative(goldenDir, p))
        .sort();
      assert.deepEqual(
        have,
        [...want.keys()].sort(),
        'set of golden files (run with UPDATE_GOLDEN=1 after a deliberate change)',
      );
      for (const [p, f] of want)
        assert.equal(readFileSync(join(goldenDir, p), 'utf8'), f.content, `${p} differs from its golden file`);
    });
  }
});
