// ssh2 signs with the key's PEM text, which OpenSSL 3 decodes again for every signature: for an
// ed25519 key that is 0.4 ms of CPU per connection, ten times the signature itself. The key is
// decoded once here, into a KeyObject that signs the same bytes (ssh2 still frames the signature).
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import type { ParsedKey } from 'ssh2';

/** ssh2's default digest per key type (keyParser.js); ssh2 names another one for rsa-sha2-*. */
const DIGEST: Record<string, string | null> = {
  'ssh-ed25519': null,
  'ecdsa-sha2-nistp256': 'sha256',
  'ecdsa-sha2-nistp384': 'sha384',
  'ecdsa-sha2-nistp521': 'sha512',
  'ssh-rsa': 'sha1',
};

/** The same key, its sign() using a key decoded once; a key of another type is left as it is. */
export function decodedOnce(key: ParsedKey): ParsedKey {
  const digest = DIGEST[key.type];
  if (digest === undefined || !key.isPrivateKey()) return key;
  let decoded: KeyObject;
  try {
    decoded = createPrivateKey(key.getPrivatePEM());
  } catch {
    return key;
  }
  key.sign = (data: Buffer | string, algo?: string) => {
    try {
      return sign(algo || digest, typeof data === 'string' ? Buffer.from(data) : data, decoded);
    } catch (e) {
      return e as Buffer; // as ssh2's own sign: an Error returned, not thrown (its caller checks)
    }
  };
  return key;
}
