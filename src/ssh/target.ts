// How lvsctl reaches a host: the inventory's ssh settings where it has them, then what ssh_config
// says for the host (OpenSSH's own resolution, ssh-config.ts), then lvsctl's defaults. Pure.
import type { Identity, InventorySsh } from '../inventory/model.js';
import type { SshConfigHost, StrictHostKeyChecking } from './ssh-config.js';

export type { Identity, InventorySsh };

export interface Hop {
  host: string;
  port: number;
  user: string;
  identities: Identity[];
  /** the agent's socket, or none */
  agent?: string;
}

export type HostKeys = 'strict' | 'accept-new';

export interface EffectiveTarget extends Hop {
  /** user files first (a new key is recorded in the first), then the system's */
  knownHosts: string[];
  hostKeys: HostKeys;
  /** 'ask' (OpenSSH's default, not set in ssh_config): an unknown key is refused with how to accept it */
  asked: boolean;
  /** ProxyJump hops, first to last (the inventory's jump is one) */
  jumps: Hop[];
  proxyCommand?: string;
  connectTimeout: number;
  /** Where the settings came from, for messages: ssh_config read, or why not. */
  sshConfig: 'read' | 'no OpenSSH client';
}

export class SshSettingsError extends Error {}

const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];
const DEFAULT_KNOWN_HOSTS = ['~/.ssh/known_hosts', '/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];

export interface Context {
  /** the host's address: what is resolved when ssh.host is not set */
  address: string;
  home: string;
  /** $SSH_AUTH_SOCK */
  agentSocket?: string;
  /** --accept-new-host-keys */
  acceptNew: boolean;
}

/** One hop's identities and agent: the inventory's key alone when it names one; else ssh_config's
 * IdentityFiles; the agent unless it is turned off (inventory agent: false, IdentityAgent none, or
 * IdentitiesOnly with key files, which limits ssh to those keys). */
function credentials(inv: { identityFile?: string; agent?: boolean }, cfg: SshConfigHost | undefined, ctx: Context) {
  let identities: Identity[];
  if (inv.identityFile) identities = [{ file: inv.identityFile, named: true }];
  else if (cfg) identities = cfg.identityFiles.map((file) => ({ file, named: !cfg.defaultIdentityFiles }));
  else identities = DEFAULT_IDENTITIES.map((f) => ({ file: `${ctx.home}/.ssh/${f}`, named: false }));
  let agent: string | undefined;
  if (inv.agent === true) {
    if (!ctx.agentSocket) throw new SshSettingsError('ssh.agent is set but SSH_AUTH_SOCK is not');
    agent = ctx.agentSocket;
  } else if (inv.agent === undefined) {
    const only = cfg?.identitiesOnly && identities.some((i) => i.named);
    if (cfg?.identityAgent === 'none' || only) agent = undefined;
    else agent = cfg?.identityAgent || ctx.agentSocket || undefined;
  }
  return { identities, ...(agent && { agent }) };
}

function hostKeys(cfg: SshConfigHost | undefined, ctx: Context): { hostKeys: HostKeys; asked: boolean } {
  const s: StrictHostKeyChecking = cfg?.strictHostKeyChecking ?? 'yes';
  if (ctx.acceptNew) return { hostKeys: 'accept-new', asked: false };
  if (s === 'no')
    throw new SshSettingsError(
      'StrictHostKeyChecking no (ssh_config) is not followed: lvsctl does not connect to a host whose key it cannot check; use accept-new (or --accept-new-host-keys) to record new keys',
    );
  return { hostKeys: s === 'accept-new' ? 'accept-new' : 'strict', asked: s === 'ask' };
}

/**
 * The settings to connect with. `cfg` is ssh -G's answer for the host (undefined: no OpenSSH
 * client), `jumpCfg` its answers for each ProxyJump hop, in order.
 */
export function effectiveTarget(
  inv: InventorySsh,
  cfg: SshConfigHost | undefined,
  jumpCfg: (SshConfigHost | undefined)[],
  ctx: Context,
): EffectiveTarget {
  const jumps: Hop[] = inv.jump
    ? [
        {
          host: inv.jump.host,
          port: inv.jump.port ?? 22,
          user: inv.jump.user ?? inv.user ?? 'root',
          ...credentials({ identityFile: inv.jump.identityFile ?? inv.identityFile, agent: inv.agent }, undefined, ctx),
        },
      ]
    : (cfg?.proxyJump ?? []).map((j, i) => {
        const c = jumpCfg[i];
        return {
          host: c?.hostname ?? j.host,
          port: j.port ?? c?.port ?? 22,
          user: j.user ?? c?.user ?? 'root',
          ...credentials({ agent: inv.agent }, c, ctx),
        };
      });
  return {
    host: cfg?.hostname ?? inv.host ?? ctx.address,
    port: inv.port ?? cfg?.port ?? 22,
    user: inv.user ?? cfg?.user ?? 'root',
    ...credentials(inv, cfg, ctx),
    knownHosts:
      inv.knownHosts ??
      (cfg
        ? [...cfg.userKnownHostsFiles, ...cfg.globalKnownHostsFiles]
        : DEFAULT_KNOWN_HOSTS.map((f) => f.replace(/^~/, ctx.home))),
    ...hostKeys(cfg, ctx),
    jumps,
    ...(!inv.jump && !jumps.length && cfg?.proxyCommand && { proxyCommand: cfg.proxyCommand }),
    connectTimeout: inv.connectTimeout ?? cfg?.connectTimeout ?? 20,
    sshConfig: cfg ? 'read' : 'no OpenSSH client',
  };
}
