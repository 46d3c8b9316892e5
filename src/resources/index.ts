// The resource kinds lvsctl manages, one module each (types.ts says what a module holds), in the
// three orders that matter: the facts script's, the plan's phases, and by kind for the changes.
import type { HostFacts } from '../facts/parse.js';
import { parseScripts, scriptsFacts } from '../facts/scripts.js';
import { lockFacts, parseLockFacts } from '../lock/lease.js';
import { addresses } from './addresses.js';
import { bootlinks, bootlinksFacts } from './bootlinks.js';
import { bootUnit, bootUnitFacts } from './bootunit.js';
import { bootScripts, bootScriptsFacts } from './boot-scripts.js';
import { contentsFacts, files, filesFacts } from './files.js';
import { hostFacts, parseHost } from './host.js';
import { ipvs, ipvsFacts } from './ipvs.js';
import { keepalived, keepalivedBoot, keepalivedFacts } from './keepalived.js';
import { links, linksFacts } from './links.js';
import { modules, modulesFacts } from './modules.js';
import { netfilter, netfilterFacts } from './netfilter.js';
import { packages, packagesFacts } from './packages.js';
import { route } from './route.js';
import { state, stateFacts } from './state.js';
import { sysctl, sysctlFacts } from './sysctl.js';
import { timeouts } from './timeouts.js';
import type {
  Change,
  CommandChange,
  CommandResource,
  EngineChange,
  EngineKind,
  PlanContext,
  Resource,
  SectionReader,
} from './types.js';

/** The facts script, fragment by fragment, in the order it prints its sections. The fragments share
 * one shell, so the order matters beyond the output's: the host fragment reads $k (the kernel) for
 * modules, files computes $sums for contents and $bl/$fst (its one find) for bootlinks, and links'
 * one ip process prints addr and route too. */
export const FACTS = [
  hostFacts,
  packagesFacts,
  modulesFacts,
  sysctlFacts,
  linksFacts,
  filesFacts,
  ipvsFacts,
  netfilterFacts,
  keepalivedFacts,
  scriptsFacts,
  bootlinksFacts,
  bootUnitFacts,
  bootScriptsFacts,
  contentsFacts,
  lockFacts,
  stateFacts,
] as const;

/** The plan steps in phase order, which is the order of the plan's changes (plan/host.ts puts
 * packages first, then the other additions, then the removals, then the deletions of files and boot
 * links): files before what reloads on them (netfilter, keepalived), modules before the sysctls and
 * links that appear with them (ip_vs, ipip); the boot unit last, as it looks at the file and link
 * changes of the others. */
export const PHASES: ReadonlyArray<{ plan(ctx: PlanContext): void }> = [
  packages,
  files,
  bootlinks,
  modules,
  sysctl,
  links,
  addresses,
  route,
  ipvs,
  netfilter,
  timeouts,
  keepalived,
  keepalivedBoot,
  bootUnit,
  bootScripts, // last: it looks at what the others record as found
];

type Kind = Change['kind'];
type Of<K extends Kind> = Extract<Change, { kind: K }>;

/** Every kind of change with its module: a kind missing here, or one the engine does not carry out
 * (EngineKind) without a command, does not compile. */
const BY_KIND: {
  [K in Kind]: K extends EngineKind ? Resource<Of<K>> : CommandResource<Extract<CommandChange, { kind: K }>>;
} = {
  packages,
  state,
  file: files,
  module: modules,
  sysctl,
  link: links,
  address: addresses,
  route,
  ipvs,
  netfilter,
  timeouts,
  keepalived,
  'keepalived-boot': keepalivedBoot,
  bootlink: bootlinks,
  'boot-unit': bootUnit,
  'boot-script': bootScripts,
};

// BY_KIND pairs each kind with its own module, so the module of c's kind takes c (TypeScript checks
// method parameters both ways, which lets these typings through).
export const resourceOf = (c: Change): Resource<Change> => BY_KIND[c.kind];
export const commandResourceOf = (c: CommandChange): CommandResource<CommandChange> => BY_KIND[c.kind];

const ENGINE_KINDS: ReadonlySet<string> = new Set<EngineKind>(['state', 'file', 'ipvs']);
export const isEngineChange = (c: Change): c is EngineChange => ENGINE_KINDS.has(c.kind);

/** The host's facts from the facts script's sections: each module parses its own fields, which
 * together are every fact (the compiler does not check that; the facts and plan tests parse whole
 * outputs). */
export const parseSections = (get: SectionReader): HostFacts =>
  Object.assign(
    {},
    parseHost(get),
    parseScripts(get),
    parseLockFacts(get),
    ...Object.values(BY_KIND).map((r) => r.parse(get)),
  ) as HostFacts;
