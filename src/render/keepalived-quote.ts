// The one quoting helper for keepalived.conf. keepalived 2.2.7's reader (lib/parser.c) splits a
// line on blanks; "..." makes one word and protects '#', '!', '{' and '}' (decomment() and the
// brace splitter skip quoted text), but there is no escape for '"' itself, a trailing '\' joins
// the next line, a word that is exactly "{" or "}" would open or close a block, and "${NAME}" is
// replaced everywhere, quotes or not, when NAME is defined — and keepalived 2.2 predefines
// _PWD, _INSTANCE, _RANDOM, _HASH… ("${_PWD}" reads back as the daemon's working directory; "$$"
// and "\$" do not escape it). So: plain words are written bare, anything else in double quotes,
// and what cannot be written is refused.
import { LvsctlError } from '../errors.js';

export class KeepalivedQuoteError extends LvsctlError {}

const BARE = /^[A-Za-z0-9_.:/+=,%@-]+$/;

export function kq(value: string | number): string {
  const s = String(value);
  if (BARE.test(s) && !s.startsWith('@')) return s; // "@name" at a line start is keepalived's conditional config
  // eslint-disable-next-line no-control-regex -- control characters are what needs quoting
  if (s === '' || /["\x00-\x1f\x7f]/.test(s) || s.endsWith('\\') || s === '{' || s === '}' || s.includes('${'))
    throw new KeepalivedQuoteError(
      `cannot write ${JSON.stringify(s)} into keepalived.conf (a double quote, control character, trailing backslash, lone brace or "\${")`,
    );
  return `"${s}"`;
}

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
    if (w === '' || w.includes('\0')) throw new KeepalivedQuoteError('a script argument cannot be empty or hold NUL');
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
