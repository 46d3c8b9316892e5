// Where the package's own files are (templates/, package.json), found by walking up from this module.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('lvsctl: cannot find the package root');
    dir = up;
  }
  return dir;
}

export const packageRoot = findRoot();
export const templatesDir = join(packageRoot, 'templates');
