// fnmatch(3)-style globs as regular expressions, for --limit host patterns and ssh_config Include
// paths: `*` and `?` are the caller's (any text, or within one path component), `[...]` is a class
// (`[!...]` negated), every other character stands for itself; an unclosed `[` is the caller's to
// answer (an error, or a literal `[`).
export interface GlobRules {
  star: string;
  one: string;
  unclosed: () => string;
}

export function globRegExp(glob: string, rules: GlobRules): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') out += rules.star;
    else if (ch === '?') out += rules.one;
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        out += rules.unclosed();
        continue;
      }
      const body = glob
        .slice(i + 1, end)
        .replace(/^!/, '^')
        .replace(/[\\\]]/g, '\\$&');
      out += `[${body}]`;
      i = end;
    } else out += ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}
