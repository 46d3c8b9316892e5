// OpenSSH known_hosts, read and appended the way ssh(1) does (hostfile.c, match.c):
//   [@marker] patterns keytype base64 [comment]
// patterns: comma list of names with * and ? wildcards and !negation, `[host]:port` for ports other
// than 22, or one hashed name `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.
// @cert-authority lines name a CA, not a key: ssh2 cannot check host certificates, so a host that
// only a CA line vouches for is refused with that reason (not treated as unknown); @revoked keys are
// refused for any host.
// No npm package does this well (the only one, `known-hosts` 0.1.0, is a one-release parser without
// hashed entries or markers), and it is small, so it lives here.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileStamp } from '../util/file-stamp.js';
import { readBounded } from '../util/read-bounded.js';
import type { OfferedKey } from './errors.js';

export interface KnownHostLine {
  file: string;
  line: number; // 1-based
  marker?: 'cert-authority' | 'revoked';
  patterns: string; // as written
  type: string;
  blob: Buffer;
}

/** The name ssh looks up: `host` on port 22, `[host]:port` otherwise; lowercased like ssh does. */
export function lookupName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** Key type written inside an SSH public key blob (string length-prefixed). */
export function blobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const n = blob.readUInt32BE(0);
  if (n === 0 || n > 64 || 4 + n > blob.length) return undefined;
  return blob.subarray(4, 4 + n).toString('latin1');
}

/** `SHA256:` + unpadded base64 of the blob's SHA-256, exactly as `ssh-keygen -l` prints it. */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** The label ssh-keygen -l shows in parentheses. */
export function keyLabel(type: string): string {
  if (type === 'ssh-ed25519') return 'ED25519';
  if (type.startsWith('ecdsa-sha2-')) return 'ECDSA';
  if (type === 'ssh-rsa') return 'RSA';
  if (type === 'ssh-dss') return 'DSA';
  if (type === 'sk-ssh-ed25519@openssh.com') return 'ED25519-SK';
  if (type.startsWith('sk-ecdsa-sha2-')) return 'ECDSA-SK';
  return type.toUpperCase();
}

export function describeKey(blob: Buffer): OfferedKey {
  const type = blobType(blob) ?? 'unknown';
  return { type, label: keyLabel(type), fingerprint: fingerprint(blob) };
}

export function parseKnownHosts(text: string, file: string): KnownHostLine[] {
  const out: KnownHostLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const f = line.split(/[ \t]+/);
    let marker: KnownHostLine['marker'];
    if (f[0]!.startsWith('@')) {
      const m = f.shift()!;
      if (m === '@cert-authority') marker = 'cert-authority';
      else if (m === '@revoked') marker = 'revoked';
      else return; // unknown marker: ssh ignores the line
    }
    const [patterns, type, b64] = f;
    if (!patterns || !type || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return;
    const blob = Buffer.from(b64, 'base64');
    if (blobType(blob) !== type) return; // malformed or truncated key
    out.push({ file, line: i + 1, marker, patterns, type, blob });
  });
  return out;
}

const compiled = new Map<string, RegExp>();

/** OpenSSH match_pattern: `*` any run, `?` one character; whole-string match. */
export function wildcardMatch(s: string, pattern: string): boolean {
  if (!/[*?]/.test(pattern)) return s === pattern;
  let re = compiled.get(pattern);
  if (!re) {
    re = new RegExp(
      '^' +
        pattern
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.') +
        '$',
      's',
    );
    compiled.set(pattern, re);
  }
  return re.test(s);
}

function hashedMatch(name: string, entry: string): boolean {
  // |1|salt|hash
  const parts = entry.split('|');
  if (parts.length !== 4 || parts[0] !== '' || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2]!, 'base64');
  const want = Buffer.from(parts[3]!, 'base64');
  if (salt.length !== 20 || want.length !== 20) return false;
  const got = createHmac('sha1', salt).update(name).digest();
  return timingSafeEqual(got, want);
}

/** Does a known_hosts pattern field name `name`? A matching negated pattern vetoes the line. */
export function hostMatches(name: string, patterns: string): boolean {
  if (patterns.startsWith('|')) return hashedMatch(name, patterns);
  let positive = false;
  for (const raw of patterns.split(',')) {
    const neg = raw.startsWith('!');
    const p = (neg ? raw.slice(1) : raw).toLowerCase();
    if (!p) continue;
    if (wildcardMatch(name, p)) {
      if (neg) return false;
      positive = true;
    }
  }
  return positive;
}

/** Large fleets have large known_hosts files, but not this large: a device or FIFO is not read. */
const MAX_KNOWN_HOSTS_BYTES = 64 * 1024 * 1024;

/** Parsed files, kept while the file is unchanged: a command connects to every host of a fleet,
 * and reading and parsing a 500-line known_hosts for each was most of a connect's CPU. */
const parsed = new Map<string, { stamp: string; lines: KnownHostLine[] }>();

/** The same list of files, unchanged, gives the same array (so its index below is built once). */
const combined = new Map<string, { stamps: string; lines: KnownHostLine[] }>();

export async function loadKnownHosts(files: readonly string[]): Promise<KnownHostLine[]> {
  const key = files.join('\0');
  const stamps = files.map((f) => fileStamp(f) ?? '-').join('\0');
  const same = combined.get(key);
  if (same && same.stamps === stamps && !stamps.split('\0').includes('-')) return same.lines;
  const all: KnownHostLine[] = [];
  for (const file of files) {
    const stamp = fileStamp(file);
    if (stamp === 'absent') continue;
    const hit = stamp && parsed.get(file);
    if (hit && hit.stamp === stamp) {
      all.push(...hit.lines);
      continue;
    }
    const r = readBounded(file, MAX_KNOWN_HOSTS_BYTES);
    if (!r.ok && r.code === 'ENOENT') continue;
    if (!r.ok) throw new Error(`known_hosts file ${file}: ${r.reason}`);
    const lines = parseKnownHosts(r.data.toString('utf8'), file);
    if (stamp) parsed.set(file, { stamp, lines });
    all.push(...lines);
  }
  combined.set(key, { stamps, lines: all });
  return all;
}

/** The lines that could name a host, by plain name, and the rest (wildcards, negations, hashes)
 * that are matched one by one; built once per list of lines. */
interface LineIndex {
  byName: Map<string, number[]>;
  other: number[];
  revoked: KnownHostLine[];
}
const indexes = new WeakMap<readonly KnownHostLine[], LineIndex>();

function indexOf(lines: readonly KnownHostLine[]): LineIndex {
  let ix = indexes.get(lines);
  if (ix) return ix;
  ix = { byName: new Map(), other: [], revoked: [] };
  lines.forEach((l, i) => {
    if (l.marker === 'revoked') return void ix!.revoked.push(l);
    const names = l.patterns.split(',').filter((p) => p);
    if (l.patterns.startsWith('|') || names.some((p) => /[*?!]/.test(p))) return void ix!.other.push(i);
    for (const n of new Set(names.map((p) => p.toLowerCase()))) {
      const at = ix!.byName.get(n);
      if (at) at.push(i);
      else ix!.byName.set(n, [i]);
    }
  });
  indexes.set(lines, ix);
  return ix;
}

/** The key and @cert-authority lines that name `name`, in file order (as a scan would find them). */
function linesNaming(lines: readonly KnownHostLine[], name: string): KnownHostLine[] {
  const ix = indexOf(lines);
  const at = [...(ix.byName.get(name) ?? []), ...ix.other.filter((i) => hostMatches(name, lines[i]!.patterns))];
  return at.sort((a, b) => a - b).map((i) => lines[i]!);
}

export type HostKeyVerdict =
  | { status: 'known'; entry: KnownHostLine }
  | { status: 'revoked'; entry: KnownHostLine }
  | { status: 'changed'; entries: KnownHostLine[] }
  | { status: 'cert-authority'; entry: KnownHostLine }
  | { status: 'unknown' };

/**
 * The verdict for `blob` offered by `name`:
 *  revoked - the key is @revoked anywhere (any host), refused;
 *  known   - a line for this host has exactly this key;
 *  changed - lines for this host exist, none with this key (of any type: a host known by one key
 *            type that now offers another is treated as changed, since accepting it would let a
 *            man in the middle pick a type we have not recorded);
 *  cert-authority - no key line names this host, a @cert-authority line does (a certificate would
 *            be needed, which ssh2 cannot check);
 *  unknown - no line names this host.
 */
export function checkHostKey(lines: readonly KnownHostLine[], name: string, blob: Buffer): HostKeyVerdict {
  const revoked = indexOf(lines).revoked.find((l) => l.blob.equals(blob));
  if (revoked) return { status: 'revoked', entry: revoked };
  const naming = linesNaming(lines, name);
  const mine = naming.filter((l) => l.marker === undefined);
  const same = mine.find((l) => l.blob.equals(blob));
  if (same) return { status: 'known', entry: same };
  if (mine.length) return { status: 'changed', entries: mine };
  const ca = naming.find((l) => l.marker === 'cert-authority');
  if (ca) return { status: 'cert-authority', entry: ca };
  return { status: 'unknown' };
}

const ALL_HOST_KEY_ALGOS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
] as const;
export type HostKeyAlgo = (typeof ALL_HOST_KEY_ALGOS)[number];

/**
 * Host key algorithms to offer, the ones already recorded for this host first (as ssh does), so a
 * server with several host keys shows the one we know instead of a "changed" one.
 */
export function preferredHostKeyAlgos(lines: readonly KnownHostLine[], name: string): HostKeyAlgo[] {
  const known = new Set(
    linesNaming(lines, name)
      .filter((l) => l.marker === undefined)
      .map((l) => l.type),
  );
  const algoType = (a: HostKeyAlgo) => (a.startsWith('rsa-sha2-') ? 'ssh-rsa' : a);
  const first = ALL_HOST_KEY_ALGOS.filter((a) => known.has(algoType(a)));
  return [...first, ...ALL_HOST_KEY_ALGOS.filter((a) => !first.includes(a))];
}

const appendLocks = new Map<string, Promise<unknown>>();

/**
 * Record `blob` for `name` at the end of `file` (created 0600, its directory 0700, if missing).
 * Appends to one file are serialised in this process, and each re-reads the file first: several
 * connects to the same host record its key once, and a key recorded meanwhile is honoured
 * (a different one yields 'changed').
 */
export function appendKnownHost(file: string, name: string, blob: Buffer): Promise<HostKeyVerdict> {
  const prev = appendLocks.get(file) ?? Promise.resolve();
  const run = prev
    .catch(() => undefined)
    .then(async () => {
      const lines = await loadKnownHosts([file]);
      const verdict = checkHostKey(lines, name, blob);
      if (verdict.status !== 'unknown') return verdict;
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      let existing = '';
      try {
        existing = await readFile(file, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      const sep = existing.length > 0 && !existing.endsWith('\n') ? '\n' : '';
      const type = blobType(blob)!;
      await appendFile(file, `${sep}${name} ${type} ${blob.toString('base64')}\n`, { mode: 0o600 });
      const v: HostKeyVerdict = { status: 'known', entry: { file, line: 0, patterns: name, type, blob } };
      return v;
    });
  appendLocks.set(file, run);
  void run
    .finally(() => {
      if (appendLocks.get(file) === run) appendLocks.delete(file);
    })
    .catch(() => undefined);
  return run;
}
