// A command line (program and arguments) for keepalived.conf's script keywords (misc_path), quoted
// for keepalived's script reader; the result is written through {{kq}} like every other value.
import { LvsctlError } from '../errors.js';

export class ScriptCommandError extends LvsctlError {}

/** The longest misc_path value: keepalived reads config lines of at most 1024 bytes (MAXBUF); the
 * line adds 24 bytes of indentation, keyword and quotes. */
export const SCRIPT_COMMAND_MAX = 960;

const WORD = /^[A-Za-z0-9_.:/+=,%@-]+$/;
// In a quoted word only ' and \ are special; " and $ are kept away from the line reader.
const LITERAL = /^[\x20-\x7e]$/;
const UNSAFE = new Set(["'", '\\', '"', '$']);

/** A command line (program and arguments) as the value of misc_path, for {{kq}}. keepalived 2.2
 * reads the value twice (check_misc.c: alloc_strvec_quoted_escaped on the line, then on the
 * value): each pass takes '…' and "…" quoting and \ escapes, with \ooo for any byte. So each word
 * is single-quoted with every ' \ " $, control and non-ASCII byte as \ooo (octal: exactly three
 * digits, where \x would swallow the hex digits that follow), and the value's backslashes doubled
 * for the first pass. No " or "${" reaches the line, which keepalived's reader cannot protect. */
export function scriptCommand(words: readonly string[]): string {
  const word = (w: string) => {
    if (w === '' || w.includes('\0')) throw new ScriptCommandError('a script argument cannot be empty or hold NUL');
    if (WORD.test(w)) return w;
    let out = '';
    for (const ch of w)
      out +=
        LITERAL.test(ch) && !UNSAFE.has(ch)
          ? ch
          : [...Buffer.from(ch, 'utf8')].map((b) => '\\' + b.toString(8).padStart(3, '0')).join('');
    return `'${out}'`;
  };
  return words.map(word).join(' ').replace(/\\/g, '\\\\');
}
