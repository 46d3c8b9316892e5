// Narrow value types for everything in an inventory. A value that passes one of these can reach a
// shell or a config file only through the quoting helpers; most cannot hold a dangerous character
// at all. Messages say what is expected, because operators read them.
import * as z from 'zod';
import { canonicalAddress } from '../identity/address.js';
import { quoted } from '../util/printable.js';

/** A rejected value as messages show it: JSON-quoted, control and bidirectional characters
 * escaped, and cut to 80 characters so a 5000-character value is not echoed whole. */
export const shown = (v: unknown): string => quoted(v);

const re = (pattern: RegExp, what: string) =>
  z.string({ error: `expected ${what}` }).regex(pattern, { error: (i) => `expected ${what}, got ${shown(i.input)}` });

// Addresses leave validation canonical (identity/address.ts): fd00:0::1 and FD00::1 are one address
// everywhere after this point, as on the hosts.
/** Why a text that looks like an address is not one, for the message. */
function addressHint(input: unknown): string {
  if (typeof input !== 'string') return '';
  if (/^[0-9a-fA-F.:]+\/\d+$/.test(input)) return ' (an address takes no /prefix here)';
  if (input.includes('%')) return ' (a zone such as %eth0 is not allowed: link-local addresses are not forwarded)';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(input) && /(^|\.)0\d/.test(input))
    return ' (leading zeros, which some tools read as octal: write each number without them)';
  return '';
}

export const Ipv4 = z
  .ipv4({ error: (i) => `expected an IPv4 address, got ${shown(i.input)}${addressHint(i.input)}` })
  .transform(canonicalAddress);
export const Ipv6 = z
  .ipv6({ error: (i) => `expected an IPv6 address, got ${shown(i.input)}${addressHint(i.input)}` })
  .transform(canonicalAddress);
export const IpAddress = z
  .union([z.ipv4(), z.ipv6()], {
    error: (i) => `expected an IPv4 or IPv6 address, got ${shown(i.input)}${addressHint(i.input)}`,
  })
  .transform(canonicalAddress);

/** Names every JavaScript object already has (Object.prototype). As a host or group name, a lookup
 * such as hosts[name] would find the inherited member instead of nothing: "constructor" as a real
 * server passed the unknown-host rule and crashed the next one, "toString" as the only director
 * validated with no director at all. They are refused as names. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

/** Inventory names: hosts, groups, services, VRRP instances. Start with a letter or digit. */
/** Inventory names (hosts, groups…): also how render recognises its host directories. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export const Name = re(
  NAME_PATTERN,
  'a name of letters, digits, "_", "." or "-" (at most 63, not starting with "-")',
).refine((s) => !RESERVED_NAMES.has(s), {
  error: (i) => `${shown(i.input)} is reserved (a member of every JavaScript object); choose another name`,
});

/** Linux interface name: at most 15 bytes, no "/", ":", whitespace (dev_valid_name). */
export const InterfaceName = re(
  /^(?!\.{1,2}$)[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/,
  'an interface name (at most 15 of A-Z a-z 0-9 _ . -)',
);

export const Port = z
  .int({ error: 'expected a port number' })
  .min(1, 'a port is at least 1')
  .max(65535, 'a port is at most 65535');

/** Where ssh connects: a DNS name or an address. Never starts with "-" (no option injection). */
export const SshHost = z.union(
  [
    z.ipv4(),
    z.ipv6(),
    z
      .string()
      .regex(
        /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
      ),
  ],
  { error: (i) => `expected a host name or an IP address, got ${shown(i.input)}` },
);

export const UserName = re(/^[a-z_][a-z0-9_-]{0,31}$/, 'a user name (lower case, digits, "_" or "-", at most 32)');

/** Environment variable that carries a secret. */
export const EnvName = re(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name');

/** A path on the control machine (key files, known_hosts, secret files); never sent to a host. */
export const LocalPath = z
  .string({ error: 'expected a file path' })
  .min(1, 'expected a file path')
  .max(4096, 'a path is at most 4096 characters')
  .refine(
    // eslint-disable-next-line no-control-regex -- control characters are what this refuses
    (s) => !/[\0-\x1f\x7f-\x9f]/.test(s),
    'a path may not contain NUL, line breaks or other control characters (they would reach the terminal in messages)',
  );

/** Whole seconds, as keepalived and ipvsadm take them. */
export const Seconds = (max = 86400) =>
  z.int({ error: 'expected whole seconds' }).min(1, 'at least 1 second').max(max, `at most ${max} seconds`);

export const Weight = z
  .int({ error: 'expected a weight (0-65535)' })
  .min(0, 'a weight is at least 0')
  .max(65535, 'a weight is at most 65535');

/** IPVS connection thresholds (-x/-y); 0 means no limit. */
export const Threshold = z.int({ error: 'expected a connection count' }).min(0).max(2147483647);

export const Fwmark = z
  .int({ error: 'expected a firewall mark' })
  .min(1, 'a firewall mark is at least 1')
  .max(4294967295);

/** The longest HTTP path: keepalived 2.2 reads config lines of at most 1024 bytes (MAXBUF) and
 * fails its config test on a longer one; the path line adds 23 bytes of indentation, keyword and quotes. */
export const HTTP_PATH_MAX = 960;

/** An HTTP path for health checks: printable ASCII, starts with "/", no quote or backslash
 * (it is written quoted into keepalived.conf), and no "${" (keepalived replaces ${_PWD},
 * ${_RANDOM}, ${_INSTANCE}… inside quotes too, and has no escape for it). Query strings such as
 * /check?a=1&b=2 are fine. */
export const HttpPath = z
  .string({ error: 'expected an HTTP path' })
  .max(
    HTTP_PATH_MAX,
    `an HTTP path is at most ${HTTP_PATH_MAX} characters (keepalived reads config lines of at most 1024 bytes)`,
  )
  .regex(/^\/[\x21-\x7e]*$/, {
    error: (i) => `expected an HTTP path starting with "/" of printable ASCII without spaces, got ${shown(i.input)}`,
  })
  .refine((s) => !/["\\]/.test(s), 'an HTTP path may not contain " or \\ (it is written quoted into keepalived.conf)')
  .refine(
    (s) => !s.includes('${'),
    'an HTTP path may not contain "${" (keepalived.conf would replace ${NAME} with one of its definitions)',
  );

export const Schedulers = [
  'rr',
  'wrr',
  'lc',
  'wlc',
  'lblc',
  'lblcr',
  'dh',
  'sh',
  'sed',
  'nq',
  'mh',
  'fo',
  'ovf',
  'twos',
] as const;
export type Scheduler = (typeof Schedulers)[number];
export const SchedulerFlags = ['sh-fallback', 'sh-port', 'mh-fallback', 'mh-port'] as const;

export const Modes = ['nat', 'dr', 'tun'] as const;
export type Mode = (typeof Modes)[number];
export const Mode = z.enum(Modes, {
  error: (i) =>
    typeof i.input === 'string' && i.input.toLowerCase() === 'fullnat'
      ? 'FULLNAT is not in mainline Linux kernels (it needs an out-of-tree IPVS patch); use nat, dr or tun'
      : `expected one of nat, dr, tun, got ${shown(i.input)}`,
});

/** A script on the hosts (notify, vrrp_script): an absolute path of plain characters. keepalived
 * splits its script line on blanks and reads quotes and backslashes in it, and checks every
 * directory of the path for ownership and permissions: no blanks, quotes, "." or ".." parts. */
export const ScriptPath = re(
  /^(\/(?!\.{1,2}(\/|$))[A-Za-z0-9_.+,=@%:-]+)+$/,
  'an absolute path to a script on the host (letters, digits and _ . + , = @ % : - between "/"; no "." or ".." parts)',
).max(1000, 'a script path is at most 1000 characters');
/** One argument of a script: a word keepalived passes as it is (no blanks, quotes, "\" or "$"). */
export const ScriptArg = re(
  /^[A-Za-z0-9_./+,=@%:-]{1,255}$/,
  'a script argument of letters, digits and _ . / + , = @ % : - (no blanks, quotes, "\\" or "$")',
);
/** A script with its arguments: a path, or { path, args }. */
export const ScriptCommand = z.union([
  ScriptPath,
  z.strictObject({ path: ScriptPath, args: z.array(ScriptArg).max(32, 'at most 32 arguments').default([]) }),
]);
/** keepalived's tracking weight: added to (or taken from) the priority while the script or interface is down. */
export const TrackWeight = z
  .int({ error: 'expected a tracking weight (-253..253)' })
  .min(-253, 'a tracking weight is at least -253')
  .max(253, 'a tracking weight is at most 253');
