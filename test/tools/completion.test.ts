// Shell completion (src/cli/completion.ts), checked in the real shells: the bash script is sourced
// and its completion function called the way bash calls it (COMP_WORDS, COMP_CWORD, COMP_LINE,
// COMP_POINT); the zsh script is loaded by compinit from $fpath (and once by `source`) in an
// interactive zsh on a pseudo-terminal (zsh/zpty), a line is typed with TAB, and every match zsh
// offers is captured. A command or option added to the program must show up with nothing else
// changed. Without zsh its checks are skipped with a message; CI installs it (.ci/run).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Argument, Option, type Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { completionScript } from '../../src/cli/completion.js';

const tmp = mkdtempSync(join(tmpdir(), 'lvsctl-completion-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A directory to complete file names in: two inventories, a directory, a hidden file. */
const cwd = join(tmp, 'cwd');
mkdirSync(join(cwd, 'sub'), { recursive: true });
for (const f of ['a.yaml', 'b.yaml', 'notes.txt', '.hidden']) writeFileSync(join(cwd, f), '');

const have = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const zshMissing = have('zsh') ? false : 'zsh is not installed (apt-get install zsh; .ci/run installs it)';
const zptyMissing =
  zshMissing ||
  (spawnSync('zsh', ['-fc', 'zmodload zsh/zpty'], { encoding: 'utf8' }).status === 0
    ? false
    : 'zsh has no zsh/zpty module');

const program = () => buildProgram(() => {});

/** The program with a command, options, an argument and a nested subcommand it does not have. */
function extended(): Command {
  const p = program();
  p.command('zz-probe')
    .description('a command added by the test')
    .addOption(new Option('--colour <c>', 'a colour').choices(['red', 'green']))
    .option('-c, --config <file>', 'a file')
    .option('--target <dir>', 'a directory')
    .option('-q, --quiet', 'a flag')
    .addArgument(new Argument('<kind>', 'a kind').choices(['alpha', 'beta']));
  p.command('zz-group').description('nested').command('inner').description('inside').option('--deep', 'deep');
  p.command('zz-hidden', { hidden: true }).description('not offered');
  return p;
}

function write(name: string, text: string): string {
  const file = join(tmp, name);
  writeFileSync(file, text);
  return file;
}

/** The words bash hands a completion function for `line` (the cursor at its end): split at blanks
 * and, with the default COMP_WORDBREAKS, around "=". */
function bashWords(line: string, splitEquals: boolean): string[] {
  return line
    .split(' ')
    .flatMap((w) => (splitEquals ? w.split(/(=)/).filter((p, _i, all) => p !== '' || all.length === 1) : [w]));
}

/** What the bash script completes `line` to, run in `dir`. */
function bashComplete(script: string, line: string, opts: { splitEquals?: boolean; dir?: string } = {}): string[] {
  const words = bashWords(line, opts.splitEquals ?? true);
  const driver = [
    'source "$1" || exit 90',
    'spec=$(complete -p lvsctl) || exit 91', // registered with `complete -F FUNCTION lvsctl`
    'fn=${spec#*-F }; fn=${fn%% *}',
    'COMP_LINE=$2; COMP_POINT=${#COMP_LINE}; shift 2',
    'COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))',
    'COMPREPLY=()',
    '"$fn" lvsctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" || exit 92',
    '(( ${#COMPREPLY[@]} )) && printf "%s\\n" "${COMPREPLY[@]}"',
    'exit 0',
  ].join('\n');
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', driver, 'bash', script, line, ...words], {
    cwd: opts.dir ?? cwd,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `bash completion of ${JSON.stringify(line)} failed: ${r.stderr}`);
  assert.equal(r.stderr, '', `bash completion of ${JSON.stringify(line)} wrote on stderr`);
  return r.stdout.split('\n').filter(Boolean).sort();
}

/** The zsh side: a ZDOTDIR whose .zshrc runs compinit with the script on $fpath (or sources it),
 * and replaces compadd with a function that records every match and then lets the real one add
 * it; after the completion the shell exits. */
const zshrc = `PS1='> '
unsetopt BEEP
if [[ -n $LVSCTL_SOURCE ]]; then
  autoload -Uz compinit && compinit -u -D
  source $LVSCTL_SOURCE
else
  fpath=($LVSCTL_FPATH $fpath)
  autoload -Uz compinit && compinit -u -D
fi
compadd() {
  # Calls that only compute matches (-O, -A, -D) add nothing: not recorded.
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd "$@"; return; fi
  local -a __hits
  builtin compadd -A __hits "$@"
  (( $#__hits )) && print -rl -- $__hits >> $LVSCTL_CAPTURE
  builtin compadd "$@"
}
comppostfuncs=(exit)
bindkey '^I' complete-word
`;
// Runs an interactive zsh (without /etc/zsh/zshrc: -d) on a pseudo-terminal, types the line and
// TAB, reads until it exits.
const zptyDriver = `zmodload zsh/zpty || exit 90
zpty z "cd \${(q)1} && exec zsh -d -i"
zpty -w -n z "$2"$'\\t'
while zpty -r z out; do :; done
zpty -d z
`;

let zshRun = 0;
/** What zsh offers for `line` with `script` installed (as _lvsctl on $fpath, or sourced). */
function zshComplete(script: string, line: string, how: 'fpath' | 'source' = 'fpath'): string[] {
  const dir = join(tmp, `zsh-${++zshRun}`);
  mkdirSync(join(dir, 'fpath'), { recursive: true });
  mkdirSync(join(dir, 'home'));
  writeFileSync(join(dir, 'fpath', '_lvsctl'), script);
  writeFileSync(join(dir, 'home', '.zshrc'), zshrc);
  const driver = write('zpty-driver.zsh', zptyDriver);
  const capture = join(dir, 'capture');
  writeFileSync(capture, '');
  const env = {
    ...process.env,
    ZDOTDIR: join(dir, 'home'),
    LVSCTL_FPATH: join(dir, 'fpath'),
    LVSCTL_SOURCE: how === 'source' ? join(dir, 'fpath', '_lvsctl') : '',
    LVSCTL_CAPTURE: capture,
    TERM: 'dumb',
  };
  const r = spawnSync('zsh', ['-f', driver, cwd, line], { encoding: 'utf8', env, timeout: 20_000 });
  assert.equal(
    r.status,
    0,
    `zsh for ${JSON.stringify(line)}: status ${r.status} ${r.error?.message ?? ''} ${r.stderr}`,
  );
  return [...new Set(readFileSync(capture, 'utf8').split('\n').filter(Boolean))].sort();
}

const sorted = (...w: string[]) => [...w].sort();

describe('completion: bash', () => {
  const script = write('lvsctl.bash', completionScript(program(), 'bash'));
  const p = program();
  const commandNames = [...p.commands.map((c) => c.name()), 'help'];

  it(
    'is valid bash (bash -n) and passes shellcheck',
    { skip: !have('shellcheck') && 'shellcheck is not installed' },
    () => {
      const n = spawnSync('bash', ['-n', script], { encoding: 'utf8' });
      assert.equal(n.status, 0, n.stderr);
      const sc = spawnSync('shellcheck', ['-s', 'bash', script], { encoding: 'utf8' });
      assert.equal(sc.status, 0, sc.stdout + sc.stderr);
    },
  );

  it('completes command names', () => {
    assert.deepEqual(bashComplete(script, 'lvsctl pl'), ['plan']);
    assert.deepEqual(bashComplete(script, 'lvsctl ').sort(), sorted(...commandNames));
    assert.deepEqual(bashComplete(script, 'lvsctl st'), ['start', 'status', 'stop']);
    assert.deepEqual(bashComplete(script, 'lvsctl help '), sorted(...commandNames));
    assert.deepEqual(bashComplete(script, 'lvsctl help dr'), ['drain']);
    assert.deepEqual(bashComplete(script, 'lvsctl nosuch'), []);
  });

  it("completes an option's choices, also after --mode= and --mode=d in one word", () => {
    assert.deepEqual(bashComplete(script, 'lvsctl init --mode '), sorted('nat', 'dr', 'tun'));
    assert.deepEqual(bashComplete(script, 'lvsctl init --mode t'), ['tun']);
    assert.deepEqual(bashComplete(script, 'lvsctl init --force --mode '), sorted('nat', 'dr', 'tun'));
    assert.deepEqual(bashComplete(script, 'lvsctl init --mode='), sorted('nat', 'dr', 'tun'));
    assert.deepEqual(bashComplete(script, 'lvsctl init --mode=d'), ['dr']);
    assert.deepEqual(bashComplete(script, 'lvsctl init --mode=d', { splitEquals: false }), ['--mode=dr']);
  });

  it('completes the options of each command, long and short', () => {
    const plan = bashComplete(script, 'lvsctl plan --');
    for (const o of ['--limit', '--json', '--inventory', '--forks', '--accept-new-host-keys', '--help'])
      assert.ok(plan.includes(o), `${o} in ${plan.join(' ')}`);
    assert.ok(!plan.includes('--mode') && !plan.includes('--purge'), plan.join(' '));
    assert.ok(bashComplete(script, 'lvsctl plan -').includes('-i'));
    assert.deepEqual(bashComplete(script, 'lvsctl down --pu'), ['--purge']);
    assert.deepEqual(bashComplete(script, 'lvsctl up --no-'), ['--no-verify']);
    assert.deepEqual(bashComplete(script, 'lvsctl --'), sorted('--version', '--help'));
    // Every option of every command, as commander has them.
    for (const c of p.commands) {
      const offered = bashComplete(script, `lvsctl ${c.name()} -`);
      for (const o of c.options)
        for (const f of [o.short, o.long].filter(Boolean))
          assert.ok(offered.includes(f!), `${c.name()}: ${f} not in ${offered.join(' ')}`);
    }
  });

  it('completes file names for --inventory/-i and -o/--out, directories for <dir>', () => {
    // compgen -f, like readline with its default match-hidden-files, also offers dot files.
    const files = sorted('.hidden', 'a.yaml', 'b.yaml', 'notes.txt', 'sub');
    assert.deepEqual(bashComplete(script, 'lvsctl plan -i '), files);
    assert.deepEqual(bashComplete(script, 'lvsctl plan --inventory a'), ['a.yaml']);
    assert.deepEqual(bashComplete(script, 'lvsctl plan --inventory='), files);
    assert.deepEqual(bashComplete(script, 'lvsctl validate -vi '), files);
    assert.deepEqual(bashComplete(script, 'lvsctl init -o n'), ['notes.txt']);
    assert.deepEqual(bashComplete(script, 'lvsctl render --out '), ['sub']);
  });

  it('skips option values and arguments when it finds where the cursor is', () => {
    // "x" is the value of --limit, not an argument; "-" after it still means options.
    assert.ok(bashComplete(script, 'lvsctl up --limit x --').includes('--no-verify'));
    // A value that looks like a command name is not taken for one.
    assert.deepEqual(bashComplete(script, 'lvsctl drain --limit plan --re'), ['--remove']);
    // drain takes one host (nothing to offer for it); once given, the options are offered.
    assert.deepEqual(bashComplete(script, 'lvsctl drain '), []);
    assert.ok(bashComplete(script, 'lvsctl drain web1 ').includes('--timeout'));
    // After "--" nothing is an option.
    assert.deepEqual(bashComplete(script, 'lvsctl drain -- --'), []);
  });

  it('follows the program: an added command, option, choice, argument or subcommand appears', () => {
    const s = write('extended.bash', completionScript(extended(), 'bash'));
    assert.deepEqual(bashComplete(s, 'lvsctl zz'), ['zz-group', 'zz-probe']);
    assert.deepEqual(bashComplete(s, 'lvsctl zz-probe --colour '), ['green', 'red']);
    assert.deepEqual(bashComplete(s, 'lvsctl zz-probe '), ['alpha', 'beta']);
    assert.deepEqual(bashComplete(s, 'lvsctl zz-probe -q b'), ['beta']);
    assert.deepEqual(bashComplete(s, 'lvsctl zz-probe -c a'), ['a.yaml']);
    assert.deepEqual(bashComplete(s, 'lvsctl zz-probe --target '), ['sub']);
    assert.deepEqual(bashComplete(s, 'lvsctl zz-group '), ['help', 'inner']); // commander adds help
    assert.deepEqual(bashComplete(s, 'lvsctl zz-group inner --'), sorted('--deep', '--help'));
    assert.deepEqual(bashComplete(s, 'lvsctl help zz'), ['zz-group', 'zz-probe']);
    assert.deepEqual(bashComplete(s, 'lvsctl zz-h'), []); // hidden
  });
});

describe('completion: zsh', () => {
  const script = completionScript(program(), 'zsh');
  const commandNames = [...program().commands.map((c) => c.name()), 'help'];

  it('is valid zsh (zsh -n) and a #compdef file', { skip: zshMissing }, () => {
    assert.match(script, /^#compdef lvsctl\n/);
    const r = spawnSync('zsh', ['-n', write('_lvsctl', script)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('completes commands, choices, options and file names in a real zsh', { skip: zptyMissing }, () => {
    assert.deepEqual(zshComplete(script, 'lvsctl pl'), ['plan']);
    assert.deepEqual(zshComplete(script, 'lvsctl '), sorted(...commandNames));
    assert.deepEqual(zshComplete(script, 'lvsctl init --mode '), sorted('nat', 'dr', 'tun'));
    assert.deepEqual(zshComplete(script, 'lvsctl init --mode='), sorted('nat', 'dr', 'tun'));
    const plan = zshComplete(script, 'lvsctl plan --');
    for (const o of ['--limit', '--json', '--inventory', '--forks', '--accept-new-host-keys', '--help'])
      assert.ok(plan.includes(o), `${o} in ${plan.join(' ')}`);
    assert.ok(!plan.includes('--mode'), plan.join(' '));
    assert.deepEqual(zshComplete(script, 'lvsctl plan -i '), sorted('a.yaml', 'b.yaml', 'notes.txt', 'sub'));
    assert.deepEqual(zshComplete(script, 'lvsctl render --out '), ['sub']);
    assert.deepEqual(zshComplete(script, 'lvsctl help dr'), ['drain']);
    // Loaded with `source` instead of from $fpath.
    assert.deepEqual(zshComplete(script, 'lvsctl ini', 'source'), ['init']);
  });

  it(
    'follows the program: an added command, option, choice, argument or subcommand appears',
    { skip: zptyMissing },
    () => {
      const s = completionScript(extended(), 'zsh');
      assert.deepEqual(zshComplete(s, 'lvsctl zz'), ['zz-group', 'zz-probe']);
      assert.deepEqual(zshComplete(s, 'lvsctl zz-probe --colour '), ['green', 'red']);
      assert.deepEqual(zshComplete(s, 'lvsctl zz-probe -q '), ['alpha', 'beta']);
      assert.deepEqual(zshComplete(s, 'lvsctl zz-group inner --'), sorted('--deep', '--help'));
    },
  );
});
