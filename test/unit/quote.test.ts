// The shell quoting choke point, checked against a real bash: every value comes back byte-exact
// and nothing in it runs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sh, shq } from '../../src/util/quote.js';

describe('shq / sh', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsctl-quote-'));
  const sentinel = join(dir, 'pwned');
  const hostile = [
    `$(touch ${sentinel})`,
    `\`touch ${sentinel}\``,
    `a; touch ${sentinel}`,
    `a && touch ${sentinel}`,
    `a | touch ${sentinel}`,
    `'; touch ${sentinel}; '`,
    `"; touch ${sentinel}; "`,
    `a\ntouch ${sentinel}`,
    `-oProxyCommand=touch ${sentinel}`,
    '--help',
    '*',
    '~',
    '$HOME',
    '${PATH}',
    'a b\tc',
    "it's",
    '\\',
    '!',
    '#comment',
    'ünïcødé ʼ',
    '',
    ' ',
    '-',
    'x'.repeat(5000),
  ];
  for (const v of hostile) {
    it(`round-trips ${JSON.stringify(v.slice(0, 40))}`, () => {
      const out = execFileSync('bash', ['-c', `printf '%s' ${shq(v)}`], { encoding: 'utf8' });
      assert.equal(out, v);
      assert.equal(existsSync(sentinel), false);
    });
  }
  it('never leaves a value starting with "-" unquoted', () => {
    assert.equal(shq('-x'), `'-x'`);
  });
  it('refuses NUL, which no shell argument can carry', () => {
    assert.throws(() => shq('a\0b'));
  });
  it('sh`` quotes every interpolated value and spreads arrays', () => {
    const cmd = sh`printf '%s|' ${'a b'} ${['c;d', '$(e)']} ${7}`;
    assert.equal(execFileSync('bash', ['-c', cmd.text], { encoding: 'utf8' }), 'a b|c;d|$(e)|7|');
  });
});
