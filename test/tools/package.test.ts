// The npm package as a user gets it: `npm pack` of this repository holds the licence, the README,
// the launcher, the templates and the bundled CLI (dist/lvsctl), and nothing else (no source maps,
// no tsc output, no compiled tests or benchmarks); installed globally from the tarball into a temporary prefix, `lvsctl` runs
// from a directory outside the repository. The pack uses the dist/ that the test command has just
// built (--ignore-scripts: no second build through `prepare`). The install needs the dependencies
// from npm's cache or the registry; when npm can reach neither, that check is skipped with a message.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildProgram } from '../../src/cli/main.js';
import { packageRoot } from '../../src/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'lvsctl-package-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string; license: string };

/** The environment without what `npm test` or the shell set for this run (npm_config_prefix,
 * npm_lifecycle_*, an inventory for lvsctl…); npm's cache, registry and proxy settings stay. */
function cleanEnv(): NodeJS.ProcessEnv {
  const keep = /^npm_config_(cache|registry|userconfig|globalconfig|(https?_|no)?proxy|noproxy|strict_ssl|cafile|ca)$/i;
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !(/^npm_/i.test(k) && !keep.test(k)) && !/^LVSCTL_/.test(k)),
  );
}

function run(cmd: string, args: string[], cwd: string, timeout = 240_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout });
}

const show = (r: SpawnSyncReturns<string>) =>
  `status ${r.status}${r.error ? ` (${r.error.message})` : ''}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/** Every file under dir, relative to root, with "/" separators. */
function filesUnder(dir: string, root: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name), root) : [relative(root, join(dir, e.name)).split('\\').join('/')],
  );
}

/** What npm prints when it can reach neither the registry nor a cached copy. */
const OFFLINE = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ENOTCACHED)\b/;

describe('npm package', { timeout: 600_000 }, () => {
  let tarball: string | undefined;

  it('holds LICENSE, README.md, package.json, bin/, templates/ and the bundle dist/lvsctl/, without source maps', () => {
    const r = run('npm', ['pack', '--pack-destination', tmp, '--json', '--ignore-scripts'], packageRoot);
    assert.equal(r.status, 0, show(r));
    const [info] = JSON.parse(r.stdout) as { filename: string }[];
    tarball = join(tmp, info!.filename);
    // The tarball itself, not npm's account of it.
    const t = run('tar', ['-tzf', tarball], tmp);
    assert.equal(t.status, 0, show(t));
    const files = t.stdout
      .split('\n')
      .filter((l) => l && !l.endsWith('/'))
      .map((l) => l.replace(/^package\//, ''));
    const listing = files.join('\n');

    for (const f of ['LICENSE', 'README.md', 'package.json', 'bin/lvsctl.js', 'dist/lvsctl/main.js'])
      assert.ok(files.includes(f), `${f} is not in the package:\n${listing}`);
    for (const f of filesUnder(join(packageRoot, 'templates'), packageRoot))
      assert.ok(files.includes(f), `${f} is not in the package`);
    assert.deepEqual(
      files.filter((f) => f.endsWith('.map')),
      [],
      'source maps are not shipped',
    );
    assert.deepEqual(
      files.filter((f) => /^dist\/(src|test|bench)\//.test(f)),
      [],
      'tsc output, compiled tests and benchmarks are not shipped',
    );
    const allowed = /^(LICENSE|README\.md|package\.json|bin\/[^/]+\.js|templates\/.+|dist\/lvsctl\/.+\.js)$/;
    assert.deepEqual(
      files.filter((f) => !allowed.test(f)),
      [],
      'nothing else is shipped',
    );

    const licence = readFileSync(join(packageRoot, 'LICENSE'), 'utf8');
    assert.equal(pkg.license, 'MIT');
    assert.match(licence, /^MIT License\n\nCopyright \(c\) 2026 the lvsctl authors\n/);
    assert.match(licence, /THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND/);
  });

  it('installs globally from the tarball and runs outside the repository', (t) => {
    assert.ok(tarball, 'the package was not packed');
    const prefix = join(tmp, 'prefix');
    // From npm's cache alone first (after `npm ci` it usually has everything); else from the
    // registry, with fewer retries than npm's default, which waits minutes when the network is down.
    const args = ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--ignore-scripts', tarball];
    let install = run('npm', [...args, '--offline'], tmp);
    if (install.status !== 0 && /\bENOTCACHED\b/.test(install.stderr))
      install = run(
        'npm',
        [
          ...args,
          '--prefer-offline',
          '--fetch-retries=1',
          '--fetch-retry-mintimeout=2000',
          '--fetch-retry-maxtimeout=10000',
        ],
        tmp,
      );
    if (install.status !== 0 && OFFLINE.test(install.stderr)) {
      const why = install.stderr.split('\n').find((l) => OFFLINE.test(l));
      t.skip(`npm can reach neither the registry nor a cached copy of the dependencies: ${why}`);
      return;
    }
    assert.equal(install.status, 0, show(install));

    const lvsctl = join(prefix, 'bin', 'lvsctl');
    const elsewhere = join(tmp, 'elsewhere');
    mkdirSync(elsewhere);
    const help = run(lvsctl, ['--help'], elsewhere, 60_000);
    assert.equal(help.status, 0, show(help));
    for (const c of buildProgram(() => {}).commands)
      assert.match(help.stdout, new RegExp(`^  ${c.name()}\\b`, 'm'), `--help does not list ${c.name()}`);
    const version = run(lvsctl, ['--version'], elsewhere, 60_000);
    assert.equal(version.stdout.trim(), pkg.version, show(version));

    const inventory = join(elsewhere, 'example-nat.yaml');
    copyFileSync(join(packageRoot, 'inventories', 'example-nat.yaml'), inventory);
    const validate = run(lvsctl, ['validate', '-i', inventory], elsewhere, 60_000);
    assert.equal(validate.status, 0, show(validate));
    assert.match(validate.stdout + validate.stderr, /ok: cluster shop-nat/);
    // the templates and handlebars (render), and ssh2, the one dependency outside the bundle (an
    // import from a closed port on loopback: refused, not a missing module)
    const render = run(lvsctl, ['render', '-i', inventory, '--out', join(elsewhere, 'rendered')], elsewhere, 60_000);
    assert.equal(render.status, 0, show(render));
    assert.ok(filesUnder(join(elsewhere, 'rendered'), elsewhere).length > 5, show(render));
    const key = join(elsewhere, 'id_ed25519');
    const keygen = run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], elsewhere);
    assert.equal(keygen.status, 0, show(keygen));
    const config = join(elsewhere, 'ssh_config');
    writeFileSync(config, `Host *\n  IdentityFile ${key}\n`);
    const ssh = run(lvsctl, ['import', '--from', 'root@127.0.0.1:1', '-F', config, '-o', '-'], elsewhere, 60_000);
    assert.match(ssh.stderr, /refused|unreachable/i, show(ssh));
    assert.doesNotMatch(ssh.stderr, /Cannot find|ERR_MODULE|internal error/, show(ssh));
  });
});
