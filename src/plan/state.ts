// The state file's model lives with the resources that record in it (resources/state.ts).
export { emptyState, formatState, foundNow, isEmptyState, parseState, type HostState } from '../resources/state.js';
