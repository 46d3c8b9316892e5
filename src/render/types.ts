// What the renderer produces: one file for one host, with everything the engine needs to put it
// there (mode, owner) and to handle it with care (secret).
import type { Secrets } from '../inventory/secrets.js';

export type HostFileKind =
  'script' | 'sysctl' | 'modules' | 'rules' | 'netfilter' | 'unit' | 'dropin' | 'initscript' | 'keepalived';

export interface HostFile {
  path: string; // absolute, on the host
  content: string;
  mode: number; // e.g. 0o755
  owner?: string; // default root:root
  secret?: boolean; // holds a secret: never print or diff its content
  kind: HostFileKind;
}

export type { Secrets };

/** Fields every template gets. */
export interface BaseContext {
  host: string;
  cluster: string;
  mode: string;
}
