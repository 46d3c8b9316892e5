// Shell completion scripts for bash and zsh, generated from the commander program itself: every
// command, option, option value and argument the program defines is completed, nothing is listed by
// hand. Values complete from an option's or argument's choices; file names for --inventory and
// --out and for values named <file> or <path>; directory names for values named <dir>.
import type { Argument, Command, Option } from 'commander';

/** How a word that is a value (of an option or a positional argument) is completed. */
type Completion =
  | { kind: 'none' } // anything: nothing to offer
  | { kind: 'file' }
  | { kind: 'dir' }
  | { kind: 'choices'; values: readonly string[] }
  | { kind: 'commands' }; // a subcommand of the parent (commander's implicit `help [command]`)

interface OptionSpec {
  /** The short and long spellings, e.g. ['-i', '--inventory']. */
  flags: string[];
  description: string;
  /** undefined: a flag that takes no value. */
  value?: { completion: Completion; optional: boolean; name: string };
  variadic: boolean;
}

interface ArgumentSpec {
  name: string;
  description: string;
  required: boolean;
  variadic: boolean;
  completion: Completion;
}

interface CommandSpec {
  /** The canonical names from the program down, [] for the program itself. */
  path: string[];
  /** Its name and aliases. */
  names: string[];
  description: string;
  options: OptionSpec[];
  args: ArgumentSpec[];
  subcommands: CommandSpec[];
}

/** Options whose value is a file whatever their placeholder says. */
const FILE_OPTIONS = new Set(['inventory', 'out']);

function placeholderCompletion(name: string): Completion | undefined {
  if (/^(dir|directory|folder)$/i.test(name)) return { kind: 'dir' };
  if (/^(file|path|filename)$/i.test(name)) return { kind: 'file' };
  return undefined;
}

function optionSpec(o: Option): OptionSpec {
  const flags = [o.short, o.long].filter((f): f is string => !!f);
  const spec: OptionSpec = { flags, description: o.description, variadic: o.variadic };
  if (!o.required && !o.optional) return spec;
  const name = /[<[]([^>\]]*?)(?:\.\.\.)?[>\]]/.exec(o.flags)?.[1] ?? 'value';
  let completion: Completion = { kind: 'none' };
  const byName = placeholderCompletion(name);
  if (o.argChoices?.length) completion = { kind: 'choices', values: o.argChoices };
  else if (byName) completion = byName;
  else if (o.long && FILE_OPTIONS.has(o.long.replace(/^--/, ''))) completion = { kind: 'file' };
  spec.value = { completion, optional: o.optional, name };
  return spec;
}

function argumentSpec(a: Argument, implicitHelp: boolean): ArgumentSpec {
  let completion: Completion = { kind: 'none' };
  if (a.argChoices?.length) completion = { kind: 'choices', values: a.argChoices };
  else if (implicitHelp) completion = { kind: 'commands' };
  else completion = placeholderCompletion(a.name()) ?? completion;
  return { name: a.name(), description: a.description, required: a.required, variadic: a.variadic, completion };
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0] ?? '';
}

/** The command tree as completion sees it: what `--help` shows (hidden commands and options left
 * out; the help option and commander's implicit help command included). */
function walk(cmd: Command, path: string[], implicitHelp = false): CommandSpec {
  const help = cmd.createHelp();
  const subcommands = help
    .visibleCommands(cmd)
    .map((sub) => walk(sub, [...path, sub.name()], !cmd.commands.includes(sub)));
  return {
    path,
    names: [cmd.name(), ...cmd.aliases()],
    description: firstLine(cmd.summary() || cmd.description()),
    options: help.visibleOptions(cmd).map(optionSpec),
    args: subcommands.length ? [] : cmd.registeredArguments.map((a) => argumentSpec(a, implicitHelp)),
    subcommands,
  };
}

function allCommands(c: CommandSpec): CommandSpec[] {
  return [c, ...c.subcommands.flatMap(allCommands)];
}

/** A word quoted for sh/bash/zsh: single quotes, so nothing in it is expanded. */
function sq(s: string): string {
  return /^[A-Za-z0-9_./=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A case pattern matching exactly this text. */
function casePattern(s: string): string {
  return s === '' ? "''" : sq(s);
}

const NAME = 'lvsctl';

// ---------------------------------------------------------------- bash

function bashValue(c: Completion, optional: boolean): string {
  const kind = `${optional ? 'opt-' : ''}${c.kind}`;
  return c.kind === 'choices'
    ? `__lvsctl_kind=${kind} __lvsctl_values=(${c.values.map(sq).join(' ')})`
    : `__lvsctl_kind=${kind} __lvsctl_values=()`;
}

function bashScript(root: CommandSpec): string {
  const commands = allCommands(root);
  const key = (c: CommandSpec) => c.path.join(' ');
  const lines: string[] = [];
  const out = (...l: string[]) => lines.push(...l);

  out(
    `# bash completion for ${NAME}, generated from its command definitions.`,
    `# Load it with \`source FILE\` (from ~/.bashrc, say), or put it in a bash-completion directory as`,
    `# "${NAME}". Needs bash 4; the bash-completion package is not needed.`,
    '',
    '# The subcommands (and their aliases) of command $1 ("" is the program itself).',
    '__lvsctl_subcommands() {',
    '  case $1 in',
  );
  for (const c of commands)
    if (c.subcommands.length)
      out(
        `    ${casePattern(key(c))}) __lvsctl_values=(${c.subcommands.flatMap((s) => s.names.map(sq)).join(' ')}) ;;`,
      );
  out('    *) __lvsctl_values=() ;;', '  esac', '}', '');

  out('# The canonical name of subcommand $2 of command $1; fails when there is none.', '__lvsctl_resolve() {');
  out('  case $1/$2 in');
  for (const c of commands)
    for (const s of c.subcommands)
      out(`    ${s.names.map((n) => casePattern(`${key(c)}/${n}`)).join('|')}) __lvsctl_name=${sq(s.names[0]!)} ;;`);
  out('    *) return 1 ;;', '  esac', '}', '');

  out('# The options of command $1.', '__lvsctl_options() {', '  case $1 in');
  for (const c of commands)
    out(`    ${casePattern(key(c))}) __lvsctl_values=(${c.options.flatMap((o) => o.flags.map(sq)).join(' ')}) ;;`);
  out('    *) __lvsctl_values=() ;;', '  esac', '}', '');

  out(
    '# What option $2 of command $1 takes: __lvsctl_kind is flag (no value), or how its value completes:',
    '# file, dir, choices (in __lvsctl_values) or none (nothing to offer); "opt-" in front: the value is optional.',
    '# Fails for an unknown option.',
    '__lvsctl_option() {',
    '  case $1/$2 in',
  );
  for (const c of commands)
    for (const o of c.options) {
      const pattern = o.flags.map((f) => casePattern(`${key(c)}/${f}`)).join('|');
      out(`    ${pattern}) ${o.value ? bashValue(o.value.completion, o.value.optional) : '__lvsctl_kind=flag'} ;;`);
    }
  out('    *) return 1 ;;', '  esac', '}', '');

  out('# How positional argument $2 (from 0) of command $1 is completed (as __lvsctl_option).');
  out('__lvsctl_argument() {', '  case $1/$2 in');
  for (const c of commands)
    c.args.forEach((a, i) => {
      const pattern = a.variadic ? `${casePattern(`${key(c)}/`)}*` : casePattern(`${key(c)}/${i}`);
      out(`    ${pattern}) ${bashValue(a.completion, false)} ;;`);
    });
  out('    *) return 1 ;;', '  esac', '}', '');

  out(String.raw`# Fills COMPREPLY with the values of kind $1 (see __lvsctl_option) that start with $2, for command $3.
__lvsctl_values_for() {
  local kind=${'$'}{1#opt-} cur=$2 path=$3 v
  case $kind in
    file) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
    dir) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
    choices) for v in "${'$'}{__lvsctl_values[@]}"; do [[ $v == "$cur"* ]] && COMPREPLY+=("$v"); done ;;
    commands)
      local parent=${'$'}{path% *}
      [[ $parent == "$path" ]] && parent=
      __lvsctl_subcommands "$parent"
      for v in "${'$'}{__lvsctl_values[@]}"; do [[ $v == "$cur"* ]] && COMPREPLY+=("$v"); done ;;
  esac
}

_lvsctl() {
  local cur=${'$'}{COMP_WORDS[COMP_CWORD]} path='' word next i j nargs=0 ended=0 __lvsctl_kind __lvsctl_name
  local -a __lvsctl_values
  COMPREPLY=()
  # Walk the words before the cursor: subcommands, options with the values they take, arguments.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${'$'}{COMP_WORDS[i]}
    next=${'$'}{COMP_WORDS[i + 1]-}
    if ((!ended)) && [[ $word == -- ]]; then
      ended=1
    elif ((!ended)) && [[ $word == --?* || $word == -? ]]; then
      [[ $word == *=* ]] && continue # --option=value in one word
      __lvsctl_option "$path" "$word" || continue
      if [[ $next == = ]]; then # --option=value, split at "=" by COMP_WORDBREAKS
        if ((i + 1 == COMP_CWORD)); then __lvsctl_values_for "$__lvsctl_kind" '' "$path"; return 0; fi
        if ((i + 2 == COMP_CWORD)); then __lvsctl_values_for "$__lvsctl_kind" "$cur" "$path"; return 0; fi
        ((i += 2))
        continue
      fi
      [[ $__lvsctl_kind == flag || $__lvsctl_kind == opt-* ]] && continue
      if ((i + 1 == COMP_CWORD)); then __lvsctl_values_for "$__lvsctl_kind" "$cur" "$path"; return 0; fi
      ((i++))
    elif ((!ended)) && [[ $word == -?* ]]; then
      # Short options together (-vj), the last may take the next word as its value; or -ifile.
      for ((j = 1; j < ${'$'}{#word}; j++)); do
        __lvsctl_option "$path" "-${'$'}{word:j:1}" || break
        [[ $__lvsctl_kind == flag ]] && continue
        [[ $__lvsctl_kind != opt-* ]] && ((j + 1 == ${'$'}{#word})) && {
          if ((i + 1 == COMP_CWORD)); then __lvsctl_values_for "$__lvsctl_kind" "$cur" "$path"; return 0; fi
          ((i++))
        }
        break
      done
    elif ((nargs == 0)) && __lvsctl_resolve "$path" "$word"; then
      path=${'$'}{path:+$path }$__lvsctl_name
    else
      ((nargs++))
    fi
  done
  # The word under the cursor.
  if ((!ended)) && [[ $cur == --?*=* ]]; then
    __lvsctl_option "$path" "${'$'}{cur%%=*}" || return 0
    __lvsctl_values_for "$__lvsctl_kind" "${'$'}{cur#*=}" "$path"
    for i in "${'$'}{!COMPREPLY[@]}"; do COMPREPLY[i]=${'$'}{cur%%=*}=${'$'}{COMPREPLY[i]}; done
    return 0
  fi
  if ((!ended)) && [[ $cur == -* ]]; then
    __lvsctl_options "$path"
    for word in "${'$'}{__lvsctl_values[@]}"; do [[ $word == "$cur"* ]] && COMPREPLY+=("$word"); done
    return 0
  fi
  __lvsctl_subcommands "$path"
  if ((nargs == 0 && ${'$'}{#__lvsctl_values[@]} > 0)); then
    for word in "${'$'}{__lvsctl_values[@]}"; do [[ $word == "$cur"* ]] && COMPREPLY+=("$word"); done
    return 0
  fi
  if __lvsctl_argument "$path" "$nargs"; then
    __lvsctl_values_for "$__lvsctl_kind" "$cur" "$path"
  elif ((!ended)) && [[ -z $cur ]]; then
    # No argument left to give: offer the options.
    __lvsctl_options "$path"
    COMPREPLY=("${'$'}{__lvsctl_values[@]}")
  fi
  return 0
}

complete -F _lvsctl ${NAME}
`);
  return lines.join('\n');
}

// ---------------------------------------------------------------- zsh

/** Text inside an _arguments [description]. */
const zDescription = (s: string) => s.replace(/\\/g, '\\\\').replace(/\[/g, '\\[').replace(/\]/g, '\\]');
/** Text between the colons of an _arguments spec (a message). */
const zMessage = (s: string) => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
/** A value in an _arguments "(a b c)" action. */
const zChoice = (s: string) => s.replace(/[\\\s():'"`$;&|<>*?[\]{}~#]/g, (c) => `\\${c}`);

function zFunction(c: CommandSpec): string {
  return `_${[NAME, ...c.path].map((p) => p.replace(/[^A-Za-z0-9_]/g, '_')).join('_')}`;
}

function zAction(c: Completion, parent: CommandSpec | undefined): string {
  switch (c.kind) {
    case 'none':
      return ' ';
    case 'file':
      return '_files';
    case 'dir':
      return '_files -/';
    case 'choices':
      return `(${c.values.map(zChoice).join(' ')})`;
    case 'commands':
      return parent ? `${zFunction(parent)}__commands` : ' ';
  }
}

function zOptionSpecs(o: OptionSpec, parent: CommandSpec | undefined): string[] {
  const exclusive = o.flags.length > 1 && !o.variadic ? `(${o.flags.join(' ')})` : '';
  const repeat = o.variadic ? '*' : '';
  return o.flags.map((f) => {
    let spec = `${exclusive}${repeat}${f}`;
    if (o.value) spec += f.startsWith('--') ? '=' : '+';
    spec += `[${zDescription(o.description)}]`;
    if (o.value)
      spec += `${o.value.optional ? '::' : ':'}${zMessage(o.value.name)}:${zAction(o.value.completion, parent)}`;
    return sq(spec);
  });
}

function zshScript(root: CommandSpec): string {
  const lines: string[] = [
    `#compdef ${NAME}`,
    `# zsh completion for ${NAME}, generated from its command definitions.`,
    `# Save it as "_${NAME}" in a directory of $fpath (before compinit runs), or \`source\` it after compinit.`,
    '',
  ];
  const parents = new Map<CommandSpec, CommandSpec | undefined>();
  for (const c of allCommands(root)) for (const s of c.subcommands) parents.set(s, c);

  for (const c of allCommands(root)) {
    const fn = zFunction(c);
    const specs = c.options.flatMap((o) => zOptionSpecs(o, parents.get(c)));
    if (c.subcommands.length) {
      lines.push(
        `${fn}__commands() {`,
        '  local -a commands',
        `  commands=(${c.subcommands
          .flatMap((s) => s.names.map((n) => sq(`${n.replace(/:/g, '\\:')}:${s.description}`)))
          .join(' ')})`,
        `  _describe -t commands ${sq(`${[NAME, ...c.path].join(' ')} command`)} commands`,
        '}',
        '',
        `${fn}() {`,
        '  local curcontext=$curcontext state state_descr line ret=1',
        '  typeset -A opt_args',
        '  _arguments -C -s -S \\',
        ...specs.map((s) => `    ${s} \\`),
        `    ': :${fn}__commands' \\`,
        `    '*:: :->argument' && ret=0`,
        '  if [[ $state == argument ]]; then',
        `    curcontext=\${curcontext%:*:*}:${[NAME, ...c.path].join('-')}-$words[1]:`,
        '    case $words[1] in',
        ...c.subcommands.map((s) => `      (${s.names.map(zChoice).join('|')}) ${zFunction(s)} && ret=0 ;;`),
        '    esac',
        '  fi',
        '  return ret',
        '}',
        '',
      );
      continue;
    }
    const argSpecs = c.args.map((a, i) => {
      const position = a.variadic ? '*' : `${i + 1}`;
      const optional = a.required ? '' : ':';
      return sq(`${position}:${optional}${zMessage(a.name)}:${zAction(a.completion, parents.get(c))}`);
    });
    lines.push(
      `${fn}() {`,
      '  _arguments -s -S \\',
      ...[...specs, ...argSpecs].map((s, i, all) => `    ${s}${i < all.length - 1 ? ' \\' : ''}`),
      '}',
      '',
    );
  }
  lines.push(
    '# Run as an autoloaded function (from $fpath) this file is the completion function; sourced, it',
    '# registers one.',
    `if [[ $funcstack[1] == _${NAME} ]]; then`,
    `  _${NAME} "$@"`,
    'else',
    `  compdef _${NAME} ${NAME}`,
    'fi',
    '',
  );
  return lines.join('\n');
}

/** A completion script for `shell`, generated from `program`'s commands, options and arguments. */
export function completionScript(program: Command, shell: 'bash' | 'zsh'): string {
  const root = walk(program, []);
  switch (shell) {
    case 'bash':
      return bashScript(root);
    case 'zsh':
      return zshScript(root);
  }
}
