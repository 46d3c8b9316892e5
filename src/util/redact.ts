// One way to hide secrets in any text that may be shown (errors, diffs, remote output).
export const MASK = '********';

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a secret that contains another is hidden whole.
  for (const s of [...secrets].filter((x) => x.length > 0).sort((a, b) => b.length - a.length))
    out = out.split(s).join(MASK);
  return out;
}
