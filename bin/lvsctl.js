#!/usr/bin/env node
// Thin launcher. `npm install` (prepare) or `npm run build` compiles src/ with tsc to dist/src, then
// bundles the CLI into dist/lvsctl: a command reads a few files instead of hundreds, and each
// command's own code is a chunk loaded only when it runs. Node 22 and later also keep V8's compiled
// code between runs (module.enableCompileCache); Node 20 has no such cache.
import module from 'node:module';

module.enableCompileCache?.();
const { main } = await import('../dist/lvsctl/main.js');
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
