// The one choke point for shell quoting. Every value that reaches a remote shell is either a
// literal written in our source or passes through shq(); `sh` is a tagged template that applies
// shq() to every interpolated value, so a command cannot be built with an unquoted value.

/** POSIX single-quote: safe for any string without NUL (which no shell argument can hold). */
export function shq(value: string | number): string {
  const s = String(value);
  if (s.includes('\0')) throw new Error('a shell argument cannot contain NUL');
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) && !s.startsWith('-')) return s; // readable where harmless
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A piece of shell text that is already safe (literal, or built by `sh`). */
export class Shell {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Arg = string | number | Shell | ReadonlyArray<string | number | Shell>;
const one = (v: string | number | Shell) => (v instanceof Shell ? v.text : shq(v));

/** sh`ipvsadm -a -t ${vip}:${port}`: each value quoted; arrays become several arguments. The
 * literal parts are taken raw, as a shell script would be written (`\n` stays for printf). */
export function sh(strings: TemplateStringsArray, ...values: Arg[]): Shell {
  strings = strings.raw as unknown as TemplateStringsArray;
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += Array.isArray(v) ? v.map(one).join(' ') : one(v as string | number | Shell);
    out += strings[i + 1]!;
  });
  return new Shell(out);
}

/** Join already-safe pieces into one script. */
export const lines = (parts: ReadonlyArray<Shell>): Shell => new Shell(parts.map((p) => p.text).join('\n'));
