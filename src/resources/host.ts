// The host itself, first in the facts script: its os-release, kernel, init system and package
// manager (os/index.ts picks its family and init system from these), and whether it has tar and
// util-linux's rename.ul (the apply's files arrive as one archive and several are renamed into
// place by one process: apply/session.ts). No changes of its own.
import type { HostFacts } from '../facts/parse.js';
import { INIT_SYSTEMS, PACKAGE_MANAGERS, releaseFamily } from '../os/index.js';
import { sysv } from '../os/init/sysv.js';
import { fragment, type SectionReader } from './types.js';

// $k, the kernel release, is read again by the modules fragment.
export const hostFacts = fragment(
  ['os', 'kernel', 'init', 'pkgmgr', 'tools'],
  String.raw`s os; cat_ /etc/os-release
s kernel; read -r _ _ k _ </proc/version; echo "$k"
s init; if [ -d /run/systemd/system ]; then echo systemd; else echo sysv; fi
s pkgmgr; for p in ${PACKAGE_MANAGERS.map((m) => m.name).join(' ')}; do if command -v "$p" >/dev/null 2>&1; then echo "$p"; break; fi; done
s tools; for t in tar rename.ul; do if command -v $t >/dev/null 2>&1; then echo $t; fi; done
`,
);

function osRelease(lines: string[]): HostFacts['os'] {
  const kv = new Map(
    lines
      .map((l) => /^([A-Z_]+)=(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => [m[1]!, m[2]!.replace(/^"(.*)"$/, '$1')]),
  );
  const id = kv.get('ID') ?? 'unknown';
  const idLike = (kv.get('ID_LIKE') ?? '').split(/\s+/).filter(Boolean);
  return { id, idLike, family: releaseFamily({ id, idLike }), pretty: kv.get('PRETTY_NAME') ?? id };
}

export const parseHost = (
  get: SectionReader,
): Pick<HostFacts, 'os' | 'kernel' | 'init' | 'pkgManager' | 'tar' | 'renameUl'> => ({
  os: osRelease(get('os')),
  kernel: get('kernel')[0] ?? '',
  init: INIT_SYSTEMS.find((i) => i.name === get('init')[0])?.name ?? sysv.name,
  pkgManager: PACKAGE_MANAGERS.find((m) => m.name === get('pkgmgr')[0])?.name,
  tar: get('tools').includes('tar'),
  renameUl: get('tools').includes('rename.ul'),
});
