// A host as OpenSSH's client would reach it: `ssh -G [-F FILE] ALIAS` prints every setting after
// ssh_config's Include, Host and Match blocks, exactly as ssh(1) applies them. What it leaves
// unexpanded (IdentityFile, ProxyCommand, IdentityAgent: their ~ and %-tokens are expanded by ssh
// at connect time) is expanded here the way ssh does (ssh.c, readconf.c; ssh_config(5) TOKENS).
// Pure: the caller runs ssh -G (engine side) and hands its output here.

export type StrictHostKeyChecking = 'yes' | 'no' | 'ask' | 'accept-new';

export interface JumpSpec {
  user?: string;
  host: string;
  port?: number;
}

export interface SshConfigHost {
  /** The name ssh was asked for (%n). */
  alias: string;
  hostname: string;
  port: number;
  user: string;
  /** Expanded. */
  identityFiles: string[];
  /** ssh's built-in list (no IdentityFile in ssh_config): files that do not exist are skipped. */
  defaultIdentityFiles: boolean;
  identitiesOnly: boolean;
  /** undefined: $SSH_AUTH_SOCK; 'none': no agent; otherwise the socket's path. */
  identityAgent?: string;
  /** ProxyJump hops, first to last. */
  proxyJump: JumpSpec[];
  /** Expanded; run by /bin/sh, its stdin and stdout are the connection. */
  proxyCommand?: string;
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  /** Seconds; undefined: none set. */
  connectTimeout?: number;
  strictHostKeyChecking: StrictHostKeyChecking;
}

/** What the %-tokens of this machine are (%d, %u, %l, %L). */
export interface LocalSide {
  home: string;
  user: string;
  /** This machine's host name (%L is its first label, %l the whole name). */
  hostname: string;
}

// OpenSSH's defaults (pathnames.h, readconf.c fill_default_options), to tell configured from built-in.
const DEFAULT_IDENTITIES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'];

export class SshConfigError extends Error {}

/** The ssh_config keywords whose values parseSshG reads, and CanonicalizeHostname (which changes
 * hostname): when no config file sets any of them, ssh -G answers the same for every host but its
 * `host` and `hostname` lines (resolve-config.ts asks it once). */
export const KEYWORDS_READ = [
  'hostname',
  'port',
  'user',
  'identityfile',
  'identitiesonly',
  'identityagent',
  'proxyjump',
  'proxycommand',
  'connecttimeout',
  'userknownhostsfile',
  'globalknownhostsfile',
  'stricthostkeychecking',
  'canonicalizehostname',
];

/** `ssh -G` output -> settings. Keys are lower case, one per line; a few repeat (identityfile). */
export function parseSshG(alias: string, text: string, local: LocalSide): SshConfigHost {
  const all = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const k = m[1]!.toLowerCase();
    all.set(k, [...(all.get(k) ?? []), m[2]!]);
  }
  const one = (k: string) => all.get(k)?.[0];
  const hostname = one('hostname');
  const port = Number(one('port'));
  const user = one('user');
  if (!hostname || !user || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new SshConfigError(`ssh -G ${alias} printed no hostname, user or port`);
  const tokens: Record<string, string> = {
    '%': '%',
    h: hostname,
    p: String(port),
    r: user,
    n: alias,
    d: local.home,
    u: local.user,
    l: local.hostname,
    L: local.hostname.split('.')[0]!,
  };
  const expand = (s: string, what: string) => expandTokens(tildeHome(s, local.home), tokens, what);
  const files = all.get('identityfile') ?? [];
  const defaults =
    files.length === DEFAULT_IDENTITIES.length && files.every((f, i) => f === `~/.ssh/${DEFAULT_IDENTITIES[i]}`);
  const agent = one('identityagent');
  const jump = one('proxyjump');
  const command = one('proxycommand');
  const timeout = one('connecttimeout');
  return {
    alias,
    hostname,
    port,
    user,
    identityFiles: files.map((f) => expand(f, 'IdentityFile')),
    defaultIdentityFiles: defaults,
    identitiesOnly: one('identitiesonly') === 'yes',
    ...(agent !== undefined && agent !== 'SSH_AUTH_SOCK' && { identityAgent: agentPath(agent, expand) }),
    proxyJump: jump && jump !== 'none' ? parseProxyJump(jump) : [],
    ...(command && command !== 'none' && { proxyCommand: expandTokens(command, tokens, 'ProxyCommand') }),
    userKnownHostsFiles: words(one('userknownhostsfile')).map((f) => expand(f, 'UserKnownHostsFile')),
    globalKnownHostsFiles: words(one('globalknownhostsfile')).map((f) => expand(f, 'GlobalKnownHostsFile')),
    ...(timeout && timeout !== 'none' && { connectTimeout: Number(timeout) }),
    strictHostKeyChecking: strict(one('stricthostkeychecking')),
  };
}

/** IdentityAgent: none, a path with ~ and %-tokens, or ${VAR} (an environment variable's value). */
function agentPath(v: string, expand: (s: string, what: string) => string): string {
  if (v === 'none') return v;
  const env = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(v);
  if (env) return env[1] === 'SSH_AUTH_SOCK' ? '' : (process.env[env[1]!] ?? '');
  return expand(v, 'IdentityAgent');
}

const words = (s: string | undefined) => (s ? s.split(/\s+/).filter(Boolean) : []);

// ssh -G prints yes as true and no (or off) as false.
const STRICT: Record<string, StrictHostKeyChecking> = {
  true: 'yes',
  yes: 'yes',
  false: 'no',
  no: 'no',
  off: 'no',
  'accept-new': 'accept-new',
  ask: 'ask',
};
const strict = (v: string | undefined): StrictHostKeyChecking => STRICT[v ?? ''] ?? 'ask'; // ask: OpenSSH's default

/** `[user@]host[:port]` hops, comma-separated; `ssh://[user@]host[:port]` too; IPv6 in brackets. */
export function parseProxyJump(v: string): JumpSpec[] {
  return v.split(',').map((hop) => {
    const s = hop.trim().replace(/^ssh:\/\//, '');
    const at = s.lastIndexOf('@');
    const user = at >= 0 ? s.slice(0, at) : undefined;
    const rest = at >= 0 ? s.slice(at + 1) : s;
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest) ?? /^([^:]+)(?::(\d+))?$/.exec(rest);
    if (!m || !m[1]) throw new SshConfigError(`ProxyJump: cannot read the hop '${hop}'`);
    return { ...(user && { user }), host: m[1], ...(m[2] && { port: Number(m[2]) }) };
  });
}

/** `~/x` and `~` are the home directory (ssh's tilde_expand_filename; `~user` is not supported). */
function tildeHome(s: string, home: string): string {
  if (s === '~') return home;
  if (s.startsWith('~/')) return `${home}${s.slice(1)}`;
  if (s.startsWith('~')) throw new SshConfigError(`'${s}': ~user paths are not supported; write the path out`);
  return s;
}

/** %-tokens; one ssh does not know for this option is an error, as in ssh. */
export function expandTokens(s: string, tokens: Record<string, string>, what: string): string {
  return s.replace(/%(.?)/g, (_m, t: string) => {
    const v = tokens[t];
    if (v === undefined) throw new SshConfigError(`${what} '${s}': the token %${t} is not supported here`);
    return v;
  });
}
