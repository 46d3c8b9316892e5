// keepalived's version, as `keepalived --version` prints it on stderr ("Keepalived v2.2.7
// (01/16,2022)"), and what lvsctl makes of it. Distributions backport fixes, so for weight 0 the
// version is a hint only: drain reads the kernel table back whatever it says (engine/drain.ts).
export interface KeepalivedVersion {
  major: number;
  minor: number;
  patch: number;
  /** As printed: "2.2.7". */
  text: string;
}

export function parseKeepalivedVersion(line: string): KeepalivedVersion | null {
  const m = /^Keepalived v(\d+)\.(\d+)(?:\.(\d+))?/.exec(line.trim());
  if (!m) return null;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  return { major, minor, patch, text: `${major}.${minor}.${patch}` };
}

const below = (v: KeepalivedVersion, major: number, minor: number, patch: number) => {
  if (v.major !== major) return v.major < major;
  return v.minor !== minor ? v.minor < minor : v.patch < patch;
};

/** Why lvsctl does not run this keepalived at all; undefined: it does. */
export function keepalivedTooOld(v: KeepalivedVersion | null): string | undefined {
  if (!v || !below(v, 2, 0, 0)) return undefined;
  return `keepalived ${v.text} is older than 2.0, which lvsctl needs (its keepalived.conf uses 2.x keywords: lvs_sched, lvs_method, lvs_sync_daemon); upgrade keepalived`;
}

/** What this version is known to do with a real server's `weight 0`. */
export type WeightZero = 'rejected' | 'programmed as 1' | 'kept';

export function weightZeroHint(v: KeepalivedVersion): WeightZero {
  if (v.major === 2 && v.minor === 0 && v.patch <= 15) return 'rejected';
  if (v.major === 2 && v.minor === 1 && v.patch <= 5) return 'programmed as 1';
  return 'kept';
}
