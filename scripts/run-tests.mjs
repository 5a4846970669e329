#!/usr/bin/env node
// Finds every *.test.ts under src/ and test/ and runs them with node:test through tsx.
// Node 20's test runner does not expand globs itself, hence this small launcher.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
let files = [...walk('src', []), ...walk('test', [])].sort();
if (filters.length > 0) files = files.filter((f) => filters.some((p) => f.includes(p)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  // A test that hangs (a server left open after a failed `before`) must fail the run, not
  // stall CI: each test gets 3 minutes, the whole run 18.
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=180000', '--test-reporter=spec', ...files],
  { stdio: 'inherit', timeout: 18 * 60 * 1000, killSignal: 'SIGKILL', env: { ...process.env, CIPHERLAKE_LOG_LEVEL: process.env.CIPHERLAKE_LOG_LEVEL ?? 'silent' } },
);
if (result.error !== undefined) console.error(`test run stopped: ${result.error.message}`);
process.exit(result.status ?? 1);
