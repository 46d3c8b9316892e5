// Secrets are never in the inventory: it names an environment variable or a file. They are read
// here, checked, and passed only to the code that writes the one file that needs them.
import { readBounded } from '../util/read-bounded.js';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { FieldPath } from './locate.js';
import type { Cluster } from './model.js';

export interface Secrets {
  vrrpPassword?: string;
}

export interface SecretProblem {
  path: FieldPath;
  message: string;
}

/** keepalived truncates auth_pass to 8 characters (and its config test then fails). */
export const VRRP_PASSWORD_MAX = 8;
const PASSWORD_FILE_MAX = 4096;

/** Reads the secrets a cluster needs. `missingIsProblem`: false for `validate`, which may run
 * where the secrets are not (CI); every command that renders or applies passes true. */
export function resolveSecrets(
  cluster: Cluster,
  missingIsProblem: boolean,
  env: NodeJS.ProcessEnv = process.env,
): { secrets: Secrets; problems: SecretProblem[] } {
  const secrets: Secrets = {};
  const problems: SecretProblem[] = [];
  const auth = cluster.directors.vrrp?.auth;
  if (auth) {
    const path: FieldPath = [
      'directors',
      'vrrp',
      'auth',
      auth.password_env !== undefined ? 'password_env' : 'password_file',
    ];
    let value: string | undefined;
    if (auth.password_env !== undefined) {
      value = env[auth.password_env];
      if (value === undefined && missingIsProblem)
        problems.push({ path, message: `the environment variable ${auth.password_env} is not set` });
    } else {
      const file = isAbsolute(auth.password_file!)
        ? auth.password_file!
        : resolve(dirname(resolve(cluster.file)), auth.password_file!);
      // Only a small regular file is read: /dev/zero, /dev/stdin or a FIFO would hang `validate`.
      const r = readBounded(file, PASSWORD_FILE_MAX);
      if (r.ok) value = r.data.toString('utf8').replace(/\r?\n$/, '');
      else if (missingIsProblem || r.kind !== 'unreadable')
        problems.push({
          path,
          message:
            r.kind === 'too-large'
              ? `the password file is larger than ${PASSWORD_FILE_MAX} bytes; a VRRP password is at most ${VRRP_PASSWORD_MAX} characters`
              : `cannot use the password file: ${r.reason}`,
        });
    }
    // Never quote the value itself in a message: it is a secret.
    if (value !== undefined) {
      if (value.length === 0) problems.push({ path, message: 'the VRRP password is empty' });
      else if (value.length > VRRP_PASSWORD_MAX)
        problems.push({
          path,
          message:
            `the VRRP password has ${value.length} characters; keepalived uses at most ${VRRP_PASSWORD_MAX} ` +
            '(it truncates longer ones and its config test fails)',
        });
      else if (!/^[\x21-\x7e]+$/.test(value) || /["#!\\]/.test(value))
        problems.push({
          path,
          message: 'the VRRP password may hold printable ASCII only, without spaces, quotes, backslash, # or !',
        });
      // keepalived replaces ${NAME} inside quotes too (${_PWD}, ${_RANDOM}… are predefined): the
      // directors would authenticate with something else than the password lvsctl was given.
      else if (value === '{' || value === '}')
        problems.push({
          path,
          message: 'the VRRP password may not be a lone brace (keepalived.conf would read it as a block)',
        });
      else if (value.includes('${'))
        problems.push({
          path,
          message:
            'the VRRP password may not contain "${" (keepalived.conf would replace ${NAME} with one of its definitions)',
        });
      else secrets.vrrpPassword = value;
    }
  }
  return { secrets, problems };
}
