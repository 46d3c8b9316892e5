// The rule comparison lives with the netfilter resource (resources/netfilter.ts).
export { chainDrift, liveChains, normalRule } from '../resources/netfilter.js';
