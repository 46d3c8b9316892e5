// The SSH transport: one ssh2 connection per host, reused for every command; strict host-key
// checking against OpenSSH known_hosts; key file, agent, password; a jump host; sudo; atomic
// file writes through exec (no SFTP). Private keys are read here and only used to sign: they never
// leave this machine (no agent forwarding).
import { homedir } from 'node:os';
import { constants as osConstants } from 'node:os';
import { posix } from 'node:path';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, ClientChannel, ConnectConfig, ParsedKey } from 'ssh2';
import type { ResolvedHost, SshTarget } from '../inventory/model.js';
import type { Identity } from './target.js';
import { proxyCommandStream } from './proxy-command.js';
import type { Duplex } from 'node:stream';
import { Shell, sh } from '../util/quote.js';
import { fileStamp } from '../util/file-stamp.js';
import { readBounded } from '../util/read-bounded.js';
import { planCommand, PreStartStderr } from './become.js';
import {
  BecomeError,
  CommandTimeoutError,
  ConnectError,
  HostKeyChangedError,
  HostKeyRevokedError,
  HostKeyUnknownError,
  redact,
  RemoteCommandError,
  SshError,
} from './errors.js';
import {
  appendKnownHost,
  checkHostKey,
  describeKey,
  fingerprint,
  loadKnownHosts,
  lookupName,
  preferredHostKeyAlgos,
  type KnownHostLine,
} from './known-hosts.js';
import { Semaphore } from './pool.js';
import { decodedOnce } from './key-signer.js';
import { withFaults } from './faults.js';
import { writeScript, type FileWrite, type WriteFileOptions } from './write-script.js';

const { Client, utils } = ssh2;
type Client = InstanceType<typeof Client>;

export * from './errors.js';
export { mapLimit } from './pool.js';

export interface ExecResult {
  code: number; // exit status; 128 + signal number when killed by a signal
  stdout: string;
  stderr: string;
  signal?: string; // e.g. SIGKILL, when killed by a signal
}

export interface ExecOptions {
  stdin?: string | Buffer;
  timeoutSec?: number; // default: the host's command_timeout
  become?: boolean; // default: the host's become setting
  /** Which step this command is ('write-file', 'ipvs-restore'): a name fault injection can act on. */
  step?: string;
  /** Fault injection (ssh/faults.ts): after this share of stdin, the connection breaks with `error`. */
  breakAfter?: BreakAfter;
  /** A command that waits half-way for a word from lvsctl (no `stdin` then): see Hold. */
  hold?: Hold;
}

/** A command that prints `mark` on a line of its own, then reads one line from stdin. `reached` gets
 * what it printed up to the mark and gives that line (undefined: stdin is closed, nothing sent). The
 * command's timeout does not run while it waits. The lock's release rides on the facts command this
 * way (lock/locks.ts), instead of a session of its own. */
export interface Hold {
  mark: string;
  reached(head: { stdout: string; stderr: string }): Promise<string | undefined>;
}

/** A transfer broken in the middle: `share` of stdin (0..1) is sent, then the connection dies. */
export interface BreakAfter {
  share: number;
  error: SshError;
}

export type { FileWrite, WriteFileOptions };

export interface HostConnection {
  readonly name: string;
  exec(cmd: Shell, opts?: ExecOptions): Promise<ExecResult>;
  writeFile(path: string, content: string | Buffer, opts: WriteFileOptions): Promise<void>;
  /** Several files in one command: each is received whole before any is renamed into place. */
  writeFiles(files: ReadonlyArray<FileWrite>, opts?: { breakAfter?: BreakAfter }): Promise<void>;
  /** A named point between steps ('after-facts', 'before-readback'); fault injection acts on it. */
  checkpoint(step: string): void;
  /** Breaks the connection at once: every command in flight and every later one fails with `error`. */
  abort(error: SshError): void;
  close(): void;
}

export interface ConnectOptions {
  acceptNewHostKeys: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Channels in flight on one connection; sshd's default MaxSessions is 10. */
const MAX_CHANNELS = 8;
const KEEPALIVE_MS = 15_000;

// ---------------------------------------------------------------------------------------------
// Connecting

interface Hop {
  label: string; // for messages: user@host:port
  host: string;
  port: number;
  user: string;
  auth: AnyAuthMethod[];
  authDesc: string;
}

function envValue(env: NodeJS.ProcessEnv, name: string | undefined, what: string, host: string): string | undefined {
  if (name === undefined) return undefined;
  const v = env[name];
  if (v === undefined) throw new ConnectError(host, 'config', `environment variable ${name} (${what}) is not set`);
  return v;
}

const MAX_KEY_FILE_BYTES = 1024 * 1024;

/** required: the inventory's key, any failure is an error; named: ssh_config's, a missing file is
 * skipped (as ssh does) but one that cannot be used is an error naming it; default: ssh's built-in
 * list, skipped whatever the reason. */
type KeyMode = 'required' | 'named' | 'default';

type ReadKey = { r: ReturnType<typeof readBounded>; key?: ReturnType<typeof utils.parseKey> };
/** Parsed keys by file and passphrase, while the file is unchanged: parsing per host cost CPU at
 * fleet size (an encrypted key's bcrypt rounds take tens of milliseconds each time). */
const readKeys = new Map<string, { stamp: string; passphrase?: string; got: ReadKey }>();

/** decodedOnce changes the key in place (ssh2 may give a file's keys as an array, loadKey). */
function parsed(k: ReturnType<typeof utils.parseKey>) {
  if (!(k instanceof Error)) for (const one of [k].flat()) decodedOnce(one);
  return k;
}

function readKey(file: string, passphrase: string | undefined): ReadKey {
  const stamp = fileStamp(file);
  const hit = readKeys.get(file);
  if (stamp && stamp !== 'absent' && hit?.stamp === stamp && hit.passphrase === passphrase) return hit.got;
  // A key file is a few KiB; a device, FIFO or huge file named by mistake is not read.
  const r = readBounded(file, MAX_KEY_FILE_BYTES);
  const got: ReadKey = r.ok ? { r, key: parsed(utils.parseKey(r.data, passphrase)) } : { r };
  if (stamp && stamp !== 'absent' && r.ok) readKeys.set(file, { stamp, passphrase, got });
  return got;
}

async function loadKey(
  host: string,
  file: string,
  passphrase: string | undefined,
  m: KeyMode,
  /** default keys left out because they are encrypted, for the message when nothing is left */
  encryptedSkipped?: string[],
): Promise<ParsedKey | undefined> {
  const { r, key } = readKey(file, passphrase);
  if (!r.ok) {
    if (m === 'default' || (m === 'named' && r.code === 'ENOENT')) return undefined;
    throw new ConnectError(host, 'config', `cannot use identity file ${file}: ${r.reason}`);
  }
  if (key instanceof Error) {
    const encrypted = /encrypted|passphrase|decrypt/i.test(key.message);
    if (m === 'default') {
      if (encrypted && passphrase === undefined) encryptedSkipped?.push(file);
      return undefined;
    }
    let why = 'not a private key ssh2 can read';
    if (encrypted)
      why =
        passphrase === undefined
          ? 'it is encrypted and no passphrase is set (ssh.passphrase_env)'
          : 'the passphrase does not decrypt it';
    throw new ConnectError(
      host,
      encrypted && passphrase === undefined ? 'config' : 'auth',
      `cannot use identity file ${file}: ${why}`,
    );
  }
  return Array.isArray(key) ? key[0] : key;
}

/** Auth methods in OpenSSH's order: key files, agent, password (then keyboard-interactive with it). */
async function authMethods(
  host: string,
  user: string,
  o: {
    identityFile?: string;
    identities?: Identity[];
    agent: boolean;
    agentSocket?: string;
    passwordEnv?: string;
    passphraseEnv?: string;
  },
  env: NodeJS.ProcessEnv,
): Promise<{ auth: AnyAuthMethod[]; desc: string }> {
  const auth: AnyAuthMethod[] = [];
  const desc: string[] = [];
  const passphrase = envValue(env, o.passphraseEnv, 'ssh.passphrase_env', host);
  const encrypted: string[] = [];
  if (o.identityFile) {
    auth.push({
      type: 'publickey',
      username: user,
      key: (await loadKey(host, o.identityFile, passphrase, 'required'))!,
    });
    desc.push(`key ${o.identityFile}`);
  }
  for (const id of o.identities ?? []) {
    const key = await loadKey(host, id.file, passphrase, id.named ? 'named' : 'default', encrypted);
    if (!key) continue;
    auth.push({ type: 'publickey', username: user, key });
    desc.push(`key ${id.file}`);
  }
  if (o.agent) {
    const sock = o.agentSocket ?? env.SSH_AUTH_SOCK;
    if (sock) {
      auth.push({ type: 'agent', username: user, agent: sock });
      desc.push('ssh-agent');
    } else if (!o.identityFile && !o.passwordEnv && !o.identities) {
      throw new ConnectError(host, 'config', 'ssh.agent is set but SSH_AUTH_SOCK is not');
    }
  }
  const password = envValue(env, o.passwordEnv, 'ssh.password_env', host);
  if (password !== undefined) {
    auth.push({ type: 'password', username: user, password });
    auth.push({
      type: 'keyboard-interactive',
      username: user,
      prompt: (_name, _instr, _lang, prompts, finish) => finish(prompts.map(() => password)),
    });
    desc.push(`password from ${o.passwordEnv}`);
  }
  if (!auth.length && !o.identities) {
    // Nothing configured and no ssh_config read: ssh's default identities, unencrypted ones only.
    for (const f of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
      const file = posix.join(homedir(), '.ssh', f);
      const key = await loadKey(host, file, passphrase, 'default', encrypted);
      if (key) {
        auth.push({ type: 'publickey', username: user, key });
        desc.push(`key ${file}`);
      }
    }
  }
  if (!auth.length)
    throw new ConnectError(
      host,
      'config',
      `no authentication method: no key file could be used${encrypted.length ? ` (${encrypted.join(', ')}: encrypted and no passphrase is set, ssh.passphrase_env)` : ''} and no agent is running; set ssh.identity_file, ssh.agent or ssh.password_env, or IdentityFile in ssh_config`,
    );
  return { auth, desc: desc.join(', ') };
}

const NET_UNREACHABLE = new Set([
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
]);

function classify(name: string, hop: Hop, err: Error & { code?: string; level?: string }): ConnectError {
  if (err.code === 'ECONNREFUSED') return new ConnectError(name, 'refused', `connection refused by ${hop.label}`);
  if (err.code && NET_UNREACHABLE.has(err.code))
    return new ConnectError(name, 'unreachable', `${hop.label} is unreachable (${err.code})`);
  if (err.level === 'client-authentication')
    return new ConnectError(name, 'auth', `authentication failed for ${hop.label} (tried: ${hop.authDesc})`);
  if (err.level === 'client-timeout')
    return new ConnectError(name, 'timeout', `no SSH session with ${hop.label} in time (connect timeout)`);
  return new ConnectError(name, 'handshake', `SSH handshake with ${hop.label} failed: ${err.message}`);
}

interface HostKeyPolicy {
  files: string[];
  lines: KnownHostLine[];
  accept: boolean;
}

async function verifyHostKey(name: string, hop: Hop, blob: Buffer, policy: HostKeyPolicy): Promise<void> {
  const lookup = lookupName(hop.host, hop.port);
  const key = describeKey(blob);
  let v = checkHostKey(policy.lines, lookup, blob);
  if (v.status === 'unknown' && policy.accept) {
    const file = policy.files[0];
    if (!file)
      throw new ConnectError(
        name,
        'config',
        `cannot record the host key of '${lookup}': no known_hosts file is configured`,
      );
    v = await appendKnownHost(file, lookup, blob);
  }
  switch (v.status) {
    case 'known':
      return;
    case 'revoked':
      throw new HostKeyRevokedError(name, lookup, key, `${v.entry.file}:${v.entry.line}`);
    case 'changed':
      throw new HostKeyChangedError(
        name,
        lookup,
        key,
        v.entries.map((e) => ({ file: e.file, line: e.line, type: e.type, fingerprint: fingerprint(e.blob) })),
      );
    case 'cert-authority':
      throw new ConnectError(
        name,
        'config',
        `host '${lookup}' is vouched for only by a @cert-authority line (${v.entry.file}:${v.entry.line}): host certificates are not supported by the SSH library lvsctl uses; add the host's own key (ssh-keyscan, checked out of band) to a known_hosts file`,
      );
    case 'unknown':
      throw new HostKeyUnknownError(name, lookup, key, policy.files);
  }
}

/** One SSH session to `hop`, over `sock` (a jump channel) or TCP, done by `deadline`. */
function openClient(
  name: string,
  hop: Hop,
  policy: HostKeyPolicy,
  deadline: number,
  timeoutSec: number,
  sock?: Duplex,
): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let hostKeyError: Error | undefined;
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.destroy();
      sock?.destroy();
      reject(e);
    };
    const timer = setTimeout(
      () =>
        fail(
          new ConnectError(name, 'timeout', `no SSH session with ${hop.label} within ${timeoutSec}s (connect timeout)`),
        ),
      Math.max(0, deadline - Date.now()),
    );
    client.on('ready', () => {
      if (settled) return void client.end();
      settled = true;
      clearTimeout(timer);
      resolve(client);
    });
    client.on('error', (err: Error) => fail(hostKeyError ?? classify(name, hop, err)));
    client.on('close', () =>
      fail(
        hostKeyError ?? new ConnectError(name, 'handshake', `${hop.label} closed the connection during the handshake`),
      ),
    );
    const cfg: ConnectConfig = {
      host: hop.host,
      port: hop.port,
      username: hop.user,
      sock,
      readyTimeout: 0, // our own timer bounds the whole connect, jump included
      keepaliveInterval: KEEPALIVE_MS,
      keepaliveCountMax: 3,
      authHandler: hop.auth,
      algorithms: { serverHostKey: preferredHostKeyAlgos(policy.lines, lookupName(hop.host, hop.port)) },
      // Callback form (not async: ssh2 treats any returned value as the verdict).
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
        verifyHostKey(name, hop, key, policy).then(
          () => verify(true),
          (e: Error) => {
            hostKeyError = e;
            verify(false);
          },
        );
      },
    };
    try {
      client.connect(cfg);
      // Nagle + delayed ACK cost 40 ms per handshake (NEWKEYS and SERVICE_REQUEST go as two small
      // writes); ssh(1) sets TCP_NODELAY too.
      client.setNoDelay(true);
    } catch (e) {
      fail(new ConnectError(name, 'config', `cannot start SSH to ${hop.label}: ${(e as Error).message}`));
    }
  });
}

function forwardOut(
  name: string,
  jump: Client,
  jumpLabel: string,
  host: string,
  port: number,
  deadline: number,
  timeoutSec: number,
): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new ConnectError(
            name,
            'timeout',
            `${jumpLabel} did not open a channel to ${host}:${port} within ${timeoutSec}s`,
          ),
        ),
      Math.max(0, deadline - Date.now()),
    );
    try {
      jump.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
        clearTimeout(timer);
        if (!err) return resolve(stream);
        const refused = /refused/i.test(err.message);
        reject(
          new ConnectError(
            name,
            refused ? 'refused' : 'unreachable',
            `${jumpLabel} cannot reach ${host}:${port}: ${err.message}`,
          ),
        );
      });
    } catch (e) {
      clearTimeout(timer);
      reject(new ConnectError(name, 'lost', `${jumpLabel}: ${(e as Error).message}`));
    }
  });
}

// Jump connections are shared by every target behind the same jump host (one TCP connection and
// one handshake instead of one per target), reference-counted, closed with their last user.
interface JumpEntry {
  client: Promise<Client>;
  refs: number;
}
const jumps = new Map<string, JumpEntry>();

interface JumpLease {
  client: Client;
  label: string;
  release(): void;
}

/** The hops to go through, first to last: ProxyJump's from ssh_config, or the inventory's jump. */
function hopsOf(target: SshTarget): {
  host: string;
  port: number;
  user: string;
  identityFile?: string;
  identities?: Identity[];
  agentSocket?: string;
}[] {
  if (target.jumps?.length) return target.jumps;
  return target.jump ? [target.jump] : [];
}

/** An SSH session to the last of `hops`, through the ones before it; each prefix of the chain is
 * shared by every target behind it. */
async function leaseChain(
  name: string,
  target: SshTarget,
  hops: ReturnType<typeof hopsOf>,
  policy: HostKeyPolicy,
  env: NodeJS.ProcessEnv,
  deadline: number,
): Promise<JumpLease> {
  const j = hops.at(-1)!;
  const before = hops.slice(0, -1);
  const hopId = JSON.stringify([
    ...before.map((h) => [h.user, h.host, h.port]),
    j.user,
    j.host,
    j.port,
    j.identityFile,
    j.identities,
    j.agentSocket,
    target.agent,
    target.passphraseEnv,
    target.knownHosts,
  ]);
  let entry = jumps.get(hopId);
  const label = `jump host ${j.user}@${j.host}:${j.port}`;
  if (!entry) {
    const e: JumpEntry = {
      client: (async () => {
        const { auth, desc } = await authMethods(
          name,
          j.user,
          {
            identityFile: j.identityFile,
            identities: j.identities,
            agent: target.agent,
            agentSocket: j.agentSocket,
            passphraseEnv: target.passphraseEnv,
          },
          env,
        );
        const hop: Hop = { label, host: j.host, port: j.port, user: j.user, auth, authDesc: desc };
        if (!before.length) return openClient(name, hop, policy, deadline, target.connectTimeout);
        // The hop before this one opens the channel to it (its own lease is held while this one lives).
        const prev = await leaseChain(name, target, before, policy, env, deadline);
        try {
          const sock = await forwardOut(name, prev.client, prev.label, j.host, j.port, deadline, target.connectTimeout);
          const c = await openClient(
            name,
            { ...hop, label: `${label} via ${prev.label}` },
            policy,
            deadline,
            target.connectTimeout,
            sock,
          );
          c.on('close', () => prev.release());
          return c;
        } catch (err) {
          prev.release();
          throw err;
        }
      })(),
      refs: 0,
    };
    jumps.set(hopId, e);
    e.client.then(
      (c) => {
        c.on('error', () => undefined);
        c.on('close', () => jumps.get(hopId) === e && jumps.delete(hopId));
      },
      () => jumps.get(hopId) === e && jumps.delete(hopId),
    );
    entry = e;
  }
  const e = entry;
  e.refs++;
  let client: Client;
  try {
    client = await e.client;
  } catch (err) {
    e.refs--;
    throw relabel(err, name); // the jump was opened for another target
  }
  let released = false;
  return {
    client,
    label,
    release() {
      if (released) return;
      released = true;
      if (--e.refs === 0) {
        if (jumps.get(hopId) === e) jumps.delete(hopId);
        client.end();
      }
    },
  };
}

/** Connect to one inventory host. Rejects with a typed SshError; never with a secret in it. */
export async function connect(
  name: string,
  target: SshTarget,
  become: ResolvedHost['become'],
  opts: ConnectOptions,
): Promise<HostConnection> {
  const env = opts.env ?? process.env;
  const secrets = [target.passwordEnv, target.passphraseEnv, become ? become.passwordEnv : undefined]
    .map((n) => (n === undefined ? undefined : env[n]))
    .filter((s): s is string => !!s);
  const deadline = Date.now() + target.connectTimeout * 1000;
  let lease: JumpLease | undefined;
  try {
    const sudoPassword =
      become && become.passwordEnv !== undefined
        ? envValue(env, become.passwordEnv, 'become.password_env', name)
        : undefined;
    let lines: KnownHostLine[];
    try {
      lines = await loadKnownHosts(target.knownHosts);
    } catch (e) {
      throw new ConnectError(name, 'config', `cannot read known_hosts: ${(e as Error).message}`);
    }
    const policy: HostKeyPolicy = {
      files: target.knownHosts,
      lines,
      accept: opts.acceptNewHostKeys || !!target.acceptNewHostKeys,
    };
    const { auth, desc } = await authMethods(name, target.user, target, env);
    const hop: Hop = {
      label: `${target.user}@${target.host}:${target.port}`,
      host: target.host,
      port: target.port,
      user: target.user,
      auth,
      authDesc: desc,
    };
    let sock: Duplex | undefined;
    const hops = hopsOf(target);
    if (hops.length) {
      lease = await leaseChain(name, target, hops, policy, env, deadline);
      sock = await forwardOut(
        name,
        lease.client,
        lease.label,
        target.host,
        target.port,
        deadline,
        target.connectTimeout,
      );
      hop.label += ` via ${lease.label}`;
    } else if (target.proxyCommand) {
      sock = proxyCommandStream(target.proxyCommand, env);
      hop.label += ` via ProxyCommand '${target.proxyCommand}'`;
    }
    const client = await openClient(name, hop, policy, deadline, target.connectTimeout, sock);
    return withFaults(new SshConnection(name, client, target, become, sudoPassword, secrets, lease), env);
  } catch (e) {
    lease?.release();
    throw scrub(name, e, secrets);
  }
}

/** The same typed error, told about host `name` (errors of a shared jump reach several hosts). */
function relabel(err: unknown, name: string): unknown {
  if (!(err instanceof SshError) || err.host === name) return err;
  const copy = Object.assign(Object.create(Object.getPrototypeOf(err) as object) as SshError, err, { host: name });
  copy.message = `${name}: ${err.message.slice(err.host.length + 2)}`;
  copy.stack = `${copy.constructor.name}: ${copy.message}`;
  return copy;
}

/** Any error, typed, with every secret removed from its message and stack. */
function scrub(name: string, e: unknown, secrets: string[]): SshError {
  const err =
    e instanceof SshError ? e : new ConnectError(name, 'handshake', e instanceof Error ? e.message : String(e));
  err.message = redact(err.message, secrets);
  if (err.stack) err.stack = redact(err.stack, secrets);
  return err;
}

// ---------------------------------------------------------------------------------------------
// The connection

function signalNumber(sig: string | undefined): number {
  const n = sig ? (osConstants.signals as Record<string, number>)[sig] : undefined;
  return 128 + (n ?? 127);
}

/**
 * Send a signal request on a session channel. ssh2's channel.signal() silently drops it once stdin
 * was ended (it checks `writable`), which is always the case here, so use the protocol directly.
 * sshd answers with killpg() of the command's process group, as the login user.
 */
function sendSignal(ch: ClientChannel, name: 'TERM' | 'KILL'): void {
  const c = ch as unknown as {
    outgoing?: { id: number; state: string };
    _client?: { _protocol?: { signal(id: number, sig: string): void } };
  };
  try {
    if ((c.outgoing?.state === 'open' || c.outgoing?.state === 'eof') && c._client?._protocol)
      c._client._protocol.signal(c.outgoing.id, name);
    else ch.signal(name);
  } catch {
    /* channel or connection already gone */
  }
}

class SshConnection implements HostConnection {
  private dead?: SshError; // set once the connection is closed, lost or cut
  private readonly slots = new Semaphore(MAX_CHANNELS);
  private readonly onDeath = new Set<(e: SshError) => void>();

  constructor(
    readonly name: string,
    private readonly client: Client,
    private readonly target: SshTarget,
    private readonly become: ResolvedHost['become'],
    private readonly sudoPassword: string | undefined,
    private readonly secrets: string[],
    private readonly lease: JumpLease | undefined,
  ) {
    client.on('error', (e: Error) =>
      this.die(new ConnectError(name, 'lost', `connection lost: ${redact(e.message, secrets)}`)),
    );
    client.on('close', () => this.die(new ConnectError(name, 'lost', 'connection closed')));
  }

  private die(e: SshError): void {
    if (!this.dead) this.dead = e;
    this.lease?.release();
    for (const f of [...this.onDeath]) f(this.dead);
  }

  abort(error: SshError): void {
    this.die(error);
    this.client.destroy();
  }

  checkpoint(): void {}

  close(): void {
    this.die(new ConnectError(this.name, 'lost', 'connection closed by lvsctl'));
    this.client.end();
  }

  async exec(cmd: Shell, opts: ExecOptions = {}): Promise<ExecResult> {
    if (!(cmd instanceof Shell)) throw new TypeError('exec() takes a Shell built with sh``');
    if (cmd.text.includes('\0'))
      throw new TypeError('a command cannot contain NUL (sshd rejects it and drops the connection)');
    const useSudo = (opts.become ?? this.become !== false) && this.target.user !== 'root';
    const timeoutSec = opts.timeoutSec ?? this.target.commandTimeout;
    if (this.dead) throw this.dead;
    const release = await this.slots.acquire();
    return this.run(cmd.text, opts.stdin, timeoutSec, useSudo, release, opts.breakAfter, opts.hold);
  }

  /** Kill a timed-out command's process group from another channel: TERM, then KILL. */
  private killGroup(pgid: number, useSudo: boolean): void {
    if (this.dead || !(pgid > 1)) return;
    const cmd = sh`kill -s TERM -- -${pgid} 2>/dev/null; sleep 1; kill -s KILL -- -${pgid} 2>/dev/null; :`; // POSIX form: dash rejects `kill -TERM --`
    this.run(cmd.text, undefined, 10, useSudo, () => undefined).catch(() => undefined);
  }

  /**
   * One command on its own channel. `release` frees the channel slot when the channel is really
   * closed (a timed-out command still holds its session until it is killed).
   */
  private run(
    text: string,
    stdin: string | Buffer | undefined,
    timeoutSec: number,
    useSudo: boolean,
    release: () => void,
    breakAfter?: BreakAfter,
    hold?: Hold,
  ): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      if (this.dead) {
        release();
        return reject(this.dead);
      }
      const plan = planCommand(text, useSudo && { password: this.sudoPassword !== undefined });
      const pre = new PreStartStderr(plan);
      let started = false;
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let code: number | null = null;
      let signal: string | undefined;
      let stream: ClientChannel | undefined;
      let done = false;

      const finish = (e: Error | undefined, r?: ExecResult) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.onDeath.delete(onDeath);
        if (e) reject(e);
        else resolve(r!);
      };
      const onDeath = (e: SshError) => {
        release();
        finish(e);
      };
      this.onDeath.add(onDeath);
      const onTimeout = () => {
        finish(new CommandTimeoutError(this.name, timeoutSec));
        const s = stream;
        if (!s) return;
        sendSignal(s, 'TERM'); // enough for a non-root login without sudo
        if (pre.pgid !== undefined) this.killGroup(pre.pgid, plan.sudo);
        setTimeout(() => {
          sendSignal(s, 'KILL');
          setTimeout(() => s.close(), 1000).unref();
        }, 1000).unref();
      };
      let timer = setTimeout(onTimeout, timeoutSec * 1000);
      // A held command: its stdin stays open until the word is given (or closed without one).
      let waiting = !!hold;
      let tail = ''; // the output's last bytes: the command prints nothing after the mark until it gets its word
      const watchHold = (s: ClientChannel, d: Buffer) => {
        if (!hold || !waiting) return;
        tail = (tail + d.toString('latin1')).slice(-(hold.mark.length + 2));
        if (tail !== `\n${hold.mark}\n` && tail !== `${hold.mark}\n`) return; // the latter: nothing before it
        waiting = false;
        clearTimeout(timer);
        const text = Buffer.concat(out).toString('utf8');
        const head = text.slice(0, text.length - hold.mark.length - 1);
        hold.reached({ stdout: head, stderr: Buffer.concat(err).toString('utf8') }).then(
          (word) => {
            if (done) return;
            timer = setTimeout(onTimeout, timeoutSec * 1000);
            if (word === undefined) s.end();
            else s.end(word + '\n');
          },
          () => !done && s.end(),
        );
      };
      const sendStdin = (s: ClientChannel) => {
        if (hold) return;
        if (breakAfter && stdin !== undefined && stdin.length > 1) {
          s.write(Buffer.from(stdin).subarray(0, Math.floor(stdin.length * breakAfter.share)));
          setTimeout(() => this.abort(breakAfter.error), 300);
        } else if (stdin !== undefined && stdin.length > 0) s.end(stdin);
        else s.end();
      };

      try {
        this.client.exec(plan.text, (e, s) => {
          if (e) {
            release();
            return finish(this.dead ?? new ConnectError(this.name, 'lost', `cannot open a channel: ${e.message}`));
          }
          stream = s;
          if (done) return void s.close();
          s.on('data', (d: Buffer) => {
            out.push(d);
            watchHold(s, d);
          });
          s.stderr.on('data', (d: Buffer) => {
            if (started) return void err.push(d);
            for (const ev of pre.feed(d)) {
              if (ev.kind === 'prompt') {
                if (pre.promptCount > 1) {
                  // Refused: EOF on stdin ends sudo, which is still waiting for a password.
                  s.end();
                  s.close();
                  finish(
                    new BecomeError(
                      this.name,
                      `sudo refused the password from ${this.become ? this.become.passwordEnv : ''}`,
                    ),
                  );
                  return;
                }
                s.write(this.sudoPassword + '\n');
              } else if (ev.kind === 'start') {
                started = true;
                if (ev.rest.length) err.push(ev.rest);
                if (plan.prompt) sendStdin(s);
              }
            }
          });
          s.on('exit', (c: number | null, sig?: string) => {
            code = c;
            signal = sig ?? undefined;
          });
          s.on('close', () => {
            release();
            if (!started && plan.sudo) {
              const said = redact(pre.text().trim(), this.secrets);
              return finish(
                new BecomeError(
                  this.name,
                  said || `sudo exited with ${code ?? signal ?? 'no status'} before running the command`,
                ),
              );
            }
            if (code === null && signal === undefined)
              return finish(
                this.dead ?? new ConnectError(this.name, 'lost', 'the command ended without an exit status'),
              );
            finish(undefined, {
              code: code ?? signalNumber(signal),
              stdout: Buffer.concat(out).toString('utf8'),
              stderr: Buffer.concat(started ? err : [Buffer.from(pre.text())]).toString('utf8'),
              ...(signal ? { signal } : {}),
            });
          });
          if (!plan.prompt) sendStdin(s);
        });
      } catch (e) {
        release();
        finish(this.dead ?? new ConnectError(this.name, 'lost', `cannot run a command: ${(e as Error).message}`));
      }
    });
  }

  async writeFile(path: string, content: string | Buffer, opts: WriteFileOptions): Promise<void> {
    await this.writeFiles([{ path, content, ...opts }]);
  }

  async writeFiles(files: ReadonlyArray<FileWrite>, opts: { breakAfter?: BreakAfter } = {}): Promise<void> {
    if (!files.length) return;
    const { script, data } = writeScript(files);
    const useSudo = this.become !== false && this.target.user !== 'root';
    // With sudo the script already runs under `sh -c`; without, do not depend on the login shell.
    const cmd = useSudo ? script : sh`sh -c ${script.text}`;
    const r = await this.exec(cmd, {
      stdin: data,
      step: 'write-file',
      breakAfter: opts.breakAfter,
    });
    if (r.code !== 0)
      throw new RemoteCommandError(
        this.name,
        `writing ${files.map((p) => p.path).join(', ')}`,
        r.code,
        redact(r.stderr, this.secrets),
      );
  }
}
