import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runAuditLookup, type AuditLookupFlags } from '../../src/cli/commands/audit-lookup.js';
import { runAuditVerify, type AuditVerifyFlags } from '../../src/cli/commands/audit-verify.js';
import { capture } from '../helpers/cli-capture.js';
import { generateDataKeys, rawKmsRequest } from '../helpers/signed-request.js';
import { storeFiles } from '../helpers/files.js';
import { serverFixture, stopAuditChaining } from '../helpers/server-process.js';

// `cipherlake audit verify|lookup` on a data directory whose server was killed with -9, before
// the next start chains its journal: acknowledged records that are not in audit.db yet are
// reported (verify: a finding, exit 1) or searched (lookup, with a notice), never passed over,
// and the read-only commands leave the journal exactly as they found it.

const verify = (flags: AuditVerifyFlags) => capture((io) => runAuditVerify(flags, io));
const lookup = (flags: AuditLookupFlags) => capture((io) => runAuditLookup(flags, io));

/** Every journal file with its bytes (the evidence a read-only command must not change). */
function journalFiles(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))]));
}


const requestIdOf = (line: string): string => (JSON.parse(line) as { requestID: string }).requestID;

/** Byte offsets of the frames of `buf` from `from` (u32 BE length | u32 CRC | payload). */
function frameOffsets(buf: Buffer, from: number): number[] {
  const offsets: number[] = [];
  for (let at = from; at + 8 <= buf.length; at += 8 + buf.readUInt32BE(at)) offsets.push(at);
  return offsets;
}

describe('audit verify and lookup on a data directory left by kill -9', () => {
  const fixture = serverFixture('cipherlake-audit-offline-journal-');

  it('report the acknowledged records still in the journal (intact or damaged) without touching it, and find them once a start chained them', async () => {
    const dataDir = fixture.dir();
    const journalDir = join(dataDir, 'audit-journal');
    const server = await fixture.spawn({ dataDir, timeoutMs: 15_000 });
    const created = await rawKmsRequest(server.endpoint, { target: 'TrentService.CreateKey', body: '{}' });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const keyId = (created.json['KeyMetadata'] as { KeyId: string }).KeyId;

    // Everything so far chained, then audit.db refuses records: what the server acknowledges
    // from here on stays in its journal.
    const { db, ingestedTo } = await stopAuditChaining(dataDir);
    const ids = await generateDataKeys(server.endpoint, keyId, 3);

    // While the server runs, its journal is its writer's to chain: a notice, not a finding.
    const live = await verify({ dataDir });
    assert.deepEqual(live.out, ['intact']);
    assert.equal(live.code, 0);
    assert.match(live.err.join('\n'), /server is using this data directory: 3 records journaled, not chained yet/);

    const [file, ...others] = readdirSync(journalDir);
    assert.ok(file !== undefined && others.length === 0, `one journal file: ${readdirSync(journalDir).join(', ')}`);
    const from = ingestedTo(file);
    // Closed before the kill, so audit.db is left as a crash leaves it (its WAL and shm files
    // still there: a read-write connection closing last would checkpoint and delete them).
    db.close();
    server.child.kill('SIGKILL');
    assert.equal((await server.exited).signal, 'SIGKILL');
    const evidence = journalFiles(journalDir);
    const store = storeFiles(dataDir, 'audit.db');
    assert.ok(store.has('audit.db-wal'), `a WAL left by the kill: ${[...store.keys()].join(', ')}`);
    const bytes = evidence.get(file)!;

    // No server: the three acknowledged records are outside the chain verify checked.
    const crashed = await verify({ dataDir });
    assert.equal(crashed.code, 1, crashed.out.join('\n'));
    assert.deepEqual(crashed.out, [`journal ${file}: 3 acknowledged records not in audit.db (bytes ${from}..${bytes.length}, frames intact); the next server start chains them`]);
    // lookup searches them with the same filters (audit.db has none of them yet), newest first.
    const found = await lookup({ dataDir, eventName: 'GenerateDataKey', output: 'json' });
    assert.equal(found.code, 0);
    assert.deepEqual(found.out.map(requestIdOf), [...ids].reverse());
    assert.deepEqual(found.err, ['cipherlake: also searched 3 acknowledged records in unchained audit journals (a server stopped before chaining them; its next start does): 3 matched, listed first']);
    const other = await lookup({ dataDir, eventName: 'Encrypt', output: 'json' });
    assert.deepEqual(other.out, []);
    assert.match(other.err.join('\n'), /also searched 3 acknowledged records .*: 0 matched/);
    const newest = await lookup({ dataDir, output: 'json', max: '4' });
    assert.deepEqual(newest.out.map(requestIdOf).slice(0, 3), [...ids].reverse());
    assert.equal(newest.out.length, 4, 'then the chained records');
    assert.deepEqual(journalFiles(journalDir), evidence, 'verify and lookup left the journal as they found it');
    assert.deepEqual(storeFiles(dataDir, 'audit.db'), store, 'verify and lookup left audit.db and its WAL as they found them');

    // A flipped byte in the last frame: the two frames before it are intact, the rest unreadable.
    const frames = frameOffsets(bytes, from);
    assert.equal(frames.length, 3);
    const last = frames[2]!;
    const damaged = Buffer.from(bytes);
    damaged[last + 9] = damaged[last + 9]! ^ 0xff;
    writeFileSync(join(journalDir, file), damaged);
    const broken = await verify({ dataDir });
    assert.equal(broken.code, 1);
    const invalid = `journal ${file}: invalid frame at byte ${last} (damage or tampering); 2 acknowledged records before it not in audit.db (bytes ${from}..${last}); bytes ${last}..${bytes.length} unreadable`;
    assert.deepEqual(broken.out, [invalid]);
    const partly = await lookup({ dataDir, eventName: 'GenerateDataKey', output: 'json' });
    assert.deepEqual(partly.out.map(requestIdOf), ids.slice(0, 2).reverse());
    assert.deepEqual(partly.err.slice(1), [`cipherlake: ${invalid}`]);
    writeFileSync(join(journalDir, file), bytes);
    assert.deepEqual(storeFiles(dataDir, 'audit.db'), store, 'still untouched');
    const unrefuse = new Database(join(dataDir, 'audit.db'));
    unrefuse.exec('DROP TRIGGER test_refuse_records');
    unrefuse.close();

    // The next start chains them (recovery) and removes the journal: intact, and lookup finds them.
    const restarted = await fixture.spawn({ dataDir, timeoutMs: 15_000 });
    restarted.child.kill('SIGTERM');
    assert.deepEqual(await restarted.exited, { code: 0, signal: null });
    const after = await verify({ dataDir });
    assert.deepEqual(after.out, ['intact']);
    assert.equal(after.code, 0);
    const chained = await lookup({ dataDir, eventName: 'GenerateDataKey', output: 'json' });
    assert.deepEqual(chained.out.map(requestIdOf), [...ids].reverse());
    assert.deepEqual(chained.err, []);

    // A file recovery kept as <file>.damaged (here: the damaged bytes put there by hand) is a
    // finding of verify, and named by lookup, until someone removes it.
    assert.deepEqual(readdirSync(journalDir), []);
    writeFileSync(join(journalDir, `${file}.damaged`), damaged);
    const kept = `journal ${file}.damaged: kept with an invalid frame at byte ${last} (damage or tampering); bytes ${last}..${bytes.length} were never chained`;
    const keptVerify = await verify({ dataDir });
    assert.deepEqual([keptVerify.code, keptVerify.out], [1, [kept]]);
    const keptLookup = await lookup({ dataDir, eventName: 'GenerateDataKey', output: 'json' });
    assert.deepEqual(keptLookup.out.map(requestIdOf), [...ids].reverse());
    assert.deepEqual(keptLookup.err, [`cipherlake: ${kept}`]);
  });
});
