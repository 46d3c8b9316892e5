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
