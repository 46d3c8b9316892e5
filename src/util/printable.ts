// Text from outside (an inventory, a file name) shown in a message. Control characters (C0, DEL,
// C1), bidirectional controls, zero-width characters and line/paragraph separators are written as
// \u escapes, so a message can neither move the cursor, recolour the terminal, nor show the reader
// other text than it holds ("Trojan Source"). Long text is cut.
// eslint-disable-next-line no-control-regex -- control characters are what this finds
const UNSAFE = /[\0-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/gu;

const escape = (c: string) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`;

/** `text` with every unsafe character escaped, cut to `max` characters (plus "…"). */
export function printable(text: string, max = Infinity): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return cut.replace(UNSAFE, escape);
}

/** A value as messages quote it: JSON-quoted, unsafe characters escaped, cut to 80 characters. */
export function quoted(v: unknown, max = 80): string {
  const s = typeof v === 'string' && v.length > max ? `${v.slice(0, max)}…` : v;
  return printable(JSON.stringify(s) ?? String(s));
}

/** Text of several lines (an error report, a usage message): each line made printable, the line
 * breaks kept. */
export const printableLines = (text: string): string =>
  text
    .split('\n')
    .map((l) => printable(l))
    .join('\n');
