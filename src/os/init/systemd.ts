// systemd: a service is its unit, through systemctl.
import { sh } from '../../util/quote.js';
import type { InitSystem } from '../types.js';

export const systemd = {
  name: 'systemd',
  service: (name, action) => sh`systemctl ${action} ${`${name}.service`}`,
  boot: (name, enable) => sh`systemctl ${enable ? 'enable' : 'disable'} ${`${name}.service`}`,
} as const satisfies InitSystem;
