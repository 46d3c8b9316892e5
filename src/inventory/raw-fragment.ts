// Raw keepalived.conf fragments (a VRRP instance's `raw`, a service's `keepalived_raw`): lines the
// schema does not model, written verbatim inside their block. Trusted input (README: Safety), but
// held to what keeps them inside that block and keeps keepalived's own expansions out: keepalived
// reads `include` (another file), `$NAME` (parameters) and `@host` (per-host conditionals) anywhere,
// and a line starting with `~SEQ` repeats itself. Braces are counted as keepalived reads them: a
// brace after `#` or `!` (a comment) or inside quotes would be counted differently by keepalived
// and by this check, so it is refused rather than guessed. keepalived -t on the host checks the rest.
import * as z from 'zod';

export const RAW_MAX = 4096;

/** Why keepalived could read the fragment outside its block (or from elsewhere); undefined: fine. */
export function rawFragmentProblem(text: string): string | undefined {
  if (text.length > RAW_MAX) return `at most ${RAW_MAX} characters (this one has ${text.length})`;
  // eslint-disable-next-line no-control-regex
  const ctl = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/.exec(text);
  if (ctl) return `no control characters (found U+${ctl[0].codePointAt(0)!.toString(16).padStart(4, '0')})`;
  const exp = /[$@]/.exec(text);
  if (exp) return `no "${exp[0]}": keepalived expands ${exp[0] === '$' ? '$NAME parameters' : '@host conditionals'}`;
  if (/(^|[\s{}"])include(?=[\s{}"]|$)/m.test(text)) return 'no include: keepalived would read another file';
  if (/^\s*~/m.test(text)) return 'no line starting with "~" (keepalived repeats ~SEQ lines)';
  let depth = 0;
  for (const [i, line] of text.split('\n').entries()) {
    let quoted = false;
    for (const [j, ch] of [...line].entries()) {
      if (ch === '"') quoted = !quoted;
      else if (!quoted && (ch === '#' || ch === '!')) {
        if (/[{}]/.test([...line].slice(j).join(''))) return `line ${i + 1}: no brace in a comment`;
        break;
      } else if (ch === '{' || ch === '}') {
        if (quoted) return `line ${i + 1}: no brace inside quotes`;
        depth += ch === '{' ? 1 : -1;
        if (depth < 0) return `line ${i + 1}: a "}" closes a block the fragment did not open`;
      }
    }
    if (quoted) return `line ${i + 1}: a quote left open`;
  }
  if (depth > 0) return `braces unbalanced: ${depth} "{" not closed`;
  return undefined;
}

export const RawFragment = z.string().superRefine((text, ctx) => {
  const p = rawFragmentProblem(text);
  if (p) ctx.addIssue({ code: 'custom', message: `a raw keepalived fragment: ${p}` });
});

/** The fragment's lines, each indented into its block (blank lines and trailing space dropped). */
export const indentRaw = (text: string, indent: string): string =>
  text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim())
    .map((l) => indent + l)
    .join('\n');
