import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SERVER_NODE_FLAGS } from '../../src/cli/node-flags.js';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('the server runs with SERVER_NODE_FLAGS wherever it is started', () => {
  const flags = SERVER_NODE_FLAGS.join(' ');

  it('npm start and npm run cipherlake pass them to node', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    assert.equal(scripts.start, `node ${flags} dist/src/cli/index.js server`);
    assert.equal(scripts.cipherlake, `node ${flags} dist/src/cli/index.js`);
  });

  it("the bin's shebang passes them (env -S splits the line)", () => {
    assert.equal(read('src/cli/index.ts').split('\n')[0], `#!/usr/bin/env -S node ${flags}`);
  });

  it('this node accepts them', () => {
    assert.equal(execFileSync(process.execPath, [...SERVER_NODE_FLAGS, '-e', 'process.stdout.write("ok")'], { encoding: 'utf8' }), 'ok');
  });
});
