import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sweepOrphanBodies } from './orphan-sweep.js';

describe('sweepOrphanBodies', () => {
  const root = mkdtempSync(join(tmpdir(), 'cipherlake-sweep-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  const plant = (): string => {
    const id = randomUUID();
    mkdirSync(join(root, 'data', id.slice(0, 2)), { recursive: true });
    writeFileSync(join(root, 'data', id.slice(0, 2), id), 'sealed');
    return id;
  };
  const exists = (id: string): boolean => existsSync(join(root, 'data', id.slice(0, 2), id));

  it('a missing data directory is an empty sweep', async () => {
    assert.deepEqual(await sweepOrphanBodies(join(root, 'nothing'), () => [], Date.now()), { scanned: 0, removed: 0 });
  });

  it('removes only what the filter calls unreferenced, in batches, and only files that changed before the cut-off', async () => {
    const ids = Array.from({ length: 1200 }, plant);
    const orphans = new Set(ids.filter((_, i) => i % 3 === 0));
    const asked: number[] = [];
    const filter = (batch: readonly string[]): string[] => {
      asked.push(batch.length);
      return batch.filter((id) => orphans.has(id));
    };
    // A cut-off before the files were made: a sweep running beside live PUTs removes none of them.
    assert.deepEqual(await sweepOrphanBodies(root, filter, 0), { scanned: 1200, removed: 0 });
    assert.ok(ids.every(exists));
    asked.length = 0;
    const r = await sweepOrphanBodies(root, filter, Date.now() + 1000);
    assert.deepEqual(r, { scanned: 1200, removed: orphans.size });
    assert.ok(Math.max(...asked) <= 512, 'batches of at most 512');
    for (const id of ids) assert.equal(exists(id), !orphans.has(id), id);
  });
});
