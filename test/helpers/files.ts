import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every regular file under `dir`, at any depth, as full paths (directories are walked,
 * symlinks and other special entries skipped). Throws when `dir` cannot be read.
 */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(p));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}
