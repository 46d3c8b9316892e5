// Columns for people: every column but the last padded to its widest cell.
export function formatTable(rows: string[][], indent = '  '): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map(
    (r) =>
      indent +
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
  );
}

// "1 change", "3 changes" (shared with the plan's descriptions).
export { plural } from '../util/plural.js';
