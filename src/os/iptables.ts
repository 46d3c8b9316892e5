// The iptables front-end (iptables-restore, ip6tables-restore): every family's so far.
import { sh } from '../util/quote.js';
import type { Firewall } from './types.js';

export const iptables: Firewall = {
  load: (cmd, file) => sh`${`${cmd}-restore`} --noflush < ${file}`,
};
