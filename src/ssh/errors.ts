// Typed errors of the SSH transport. Every message is built here from facts we chose to show;
// secrets (SSH password, key passphrase, sudo password) are scrubbed from anything that could
// carry remote or library text, so no error can leak them.
import { LvsctlError } from '../errors.js';

/** The CLI option that records unknown host keys (documented in every HostKeyUnknownError). */
export const ACCEPT_OPTION = '--accept-new-host-keys';

export interface OfferedKey {
  type: string; // as in known_hosts: ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa …
  label: string; // as ssh-keygen -l shows it: ED25519, ECDSA, RSA …
  fingerprint: string; // SHA256:… exactly as `ssh-keygen -lf` prints it
}

export class SshError extends LvsctlError {
  constructor(
    readonly host: string,
    /** The message without the host's name (a per-host report names the host itself). */
    readonly detail: string,
  ) {
    super(`${host}: ${detail}`);
  }
}

/** The host offered a key that no known_hosts file lists for it. Never accepted without the option. */
export class HostKeyUnknownError extends SshError {
  constructor(
    host: string,
    readonly lookup: string, // `addr` or `[addr]:port`
    readonly key: OfferedKey,
    readonly knownHostsFiles: string[],
  ) {
    super(
      host,
      `the authenticity of host '${lookup}' can't be established: it is not in ${knownHostsFiles.join(', ') || 'any known_hosts file'}.\n` +
        `${key.label} key fingerprint is ${key.fingerprint}.\n` +
        `Check that fingerprint out of band (on the host: ssh-keygen -lf /etc/ssh/ssh_host_${key.label.toLowerCase()}_key.pub), ` +
        `then run again with ${ACCEPT_OPTION} to record it in ${knownHostsFiles[0] ?? '~/.ssh/known_hosts'}.`,
    );
  }
}

/** The host's key differs from the one recorded. Always refused, also with --accept-new-host-keys. */
export class HostKeyChangedError extends SshError {
  constructor(
    host: string,
    readonly lookup: string,
    readonly key: OfferedKey,
    readonly recorded: { file: string; line: number; type: string; fingerprint: string }[],
  ) {
    const where = recorded.map((r) => `${r.file}:${r.line} (${r.type} ${r.fingerprint})`).join(', ');
    const file = recorded[0]?.file ?? '~/.ssh/known_hosts';
    super(
      host,
      `HOST KEY FOR '${lookup}' HAS CHANGED: the host offered ${key.label} ${key.fingerprint}, but ${where} records another key. ` +
        `Someone could be intercepting the connection, or the host was reinstalled. Refused (${ACCEPT_OPTION} never replaces a key). ` +
        `If the change is expected, remove the old entry with: ssh-keygen -R '${lookup}' -f ${file}`,
    );
  }
}

/** The offered key is marked @revoked in a known_hosts file. */
export class HostKeyRevokedError extends SshError {
  constructor(host: string, lookup: string, key: OfferedKey, where: string) {
    super(
      host,
      `the ${key.label} key ${key.fingerprint} offered by '${lookup}' is marked @revoked in ${where}. Refused.`,
    );
  }
}

export type ConnectFailure = 'timeout' | 'refused' | 'unreachable' | 'auth' | 'handshake' | 'lost' | 'config';

/** Could not connect (or lost the connection): `reason` says which. */
export class ConnectError extends SshError {
  constructor(
    host: string,
    readonly reason: ConnectFailure,
    message: string,
  ) {
    super(host, message);
  }
}

export class CommandTimeoutError extends SshError {
  constructor(
    host: string,
    readonly timeoutSec: number,
  ) {
    super(host, `command timed out after ${timeoutSec}s; it was sent SIGTERM, then SIGKILL`);
  }
}

/** Fault injection (ssh/faults.ts, LVSCTL_TEST_CUT=host:step) cut this host's connection. */
export class ConnectionCutError extends SshError {
  constructor(
    host: string,
    readonly step: string,
  ) {
    super(host, `connection cut at step '${step}' (LVSCTL_TEST_CUT)`);
  }
}

/** sudo did not run the command: no sudo rights, password required or refused, no tty … */
export class BecomeError extends SshError {
  constructor(host: string, message: string) {
    super(host, `become (sudo) failed: ${message}`);
  }
}

/** A command that lvsctl runs itself (e.g. the atomic write) exited non-zero. */
export class RemoteCommandError extends SshError {
  constructor(
    host: string,
    what: string,
    readonly code: number,
    readonly stderr: string,
  ) {
    super(host, `${what} failed (exit ${code})${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
  }
}

/** Replace every secret by '***' (longest first, so a secret inside another cannot survive). */
export { redact } from '../util/redact.js';
