// The one quoting helper for keepalived.conf. keepalived 2.2.7's reader (lib/parser.c) splits a
// line on blanks; "..." makes one word and protects '#', '!', '{' and '}' (decomment() and the
// brace splitter skip quoted text), but there is no escape for '"' itself, a trailing '\' joins
// the next line, and a word that is exactly "{" or "}" would open or close a block. So: plain
// words are written bare, anything else in double quotes, and what cannot be written is refused.
import { LvsctlError } from '../errors.js';

export class KeepalivedQuoteError extends LvsctlError {}

const BARE = /^[A-Za-z0-9_.:/+=,%@-]+$/;

export function kq(value: string | number): string {
  const s = String(value);
  if (BARE.test(s) && !s.startsWith('@')) return s; // "@name" at a line start is keepalived's conditional config
  if (s === '' || /["\x00-\x1f\x7f]/.test(s) || s.endsWith('\\') || s === '{' || s === '}')
    throw new KeepalivedQuoteError(`cannot write ${JSON.stringify(s)} into keepalived.conf (a double quote, control character, trailing backslash or lone brace)`);
  return `"${s}"`;
}
