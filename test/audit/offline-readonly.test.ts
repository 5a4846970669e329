import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { runAuditExport } from '../../src/cli/commands/audit-export.js';
import { runAuditPublicKey } from '../../src/cli/commands/audit-public-key.js';
import { runAuditVerify } from '../../src/cli/commands/audit-verify.js';
import { capture } from '../helpers/cli-capture.js';
import { generateDataKeys, rawKmsRequest } from '../helpers/signed-request.js';
import { storeFiles } from '../helpers/files.js';
import { serverFixture, stopAuditChaining } from '../helpers/server-process.js';

// The offline audit commands on a data directory left by kill -9: `audit verify` without
// --public-key and `audit public-key` read the audit key from metadata.db without writing it
// (a read-write connection closing last would checkpoint the killed server's WAL into
// metadata.db and delete it), and `audit export` leaves the acknowledged records still in the
// journal out of its digest-covered files and says so on stderr.


/** The requestIDs in the gzipped CloudTrail log files under `dir`. */
function exportedRequestIds(dir: string): string[] {
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json.gz') && !f.includes('Digest'));
  return files.flatMap((f) => (JSON.parse(gunzipSync(readFileSync(join(dir, f))).toString('utf8')) as { Records: Array<{ requestID: string }> }).Records.map((r) => r.requestID));
}

describe('offline audit commands after kill -9 leave metadata.db as found', () => {
  const fixture = serverFixture('cipherlake-audit-offline-readonly-');

  it('verify and public-key read the audit key read-only; export leaves unchained records out and names them', async () => {
    const dataDir = fixture.dir();
    const journalDir = join(dataDir, 'audit-journal');
    // A first run signs a digest on shutdown, so the export below has files.
    const first = await fixture.spawn({ dataDir, timeoutMs: 15_000 });
    const created = await rawKmsRequest(first.endpoint, { target: 'TrentService.CreateKey', body: '{}' });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const keyId = (created.json['KeyMetadata'] as { KeyId: string }).KeyId;
    const createId = created.headers.get('x-amzn-requestid') ?? '';
    first.child.kill('SIGTERM');
    assert.deepEqual(await first.exited, { code: 0, signal: null });

    const server = await fixture.spawn({ dataDir, timeoutMs: 15_000 });
    // A KMS key created now is in the killed server's metadata WAL (not checkpointed yet).
    const second = await rawKmsRequest(server.endpoint, { target: 'TrentService.CreateKey', body: '{}' });
    assert.equal(second.status, 200, JSON.stringify(second.json));
    // Everything so far chained, then audit.db refuses records: what the server acknowledges
    // from here on stays in its journal.
    const { db } = await stopAuditChaining(dataDir);
    const ids = await generateDataKeys(server.endpoint, keyId, 2);
    const [file] = readdirSync(journalDir);
    assert.ok(file !== undefined);
    db.close();
    server.child.kill('SIGKILL');
    assert.equal((await server.exited).signal, 'SIGKILL');

    const metadata = storeFiles(dataDir, 'metadata.db');
    assert.ok(metadata.has('metadata.db-wal') && metadata.has('metadata.db-shm'), `a metadata WAL left by the kill: ${[...metadata.keys()].join(', ')}`);
    assert.ok(metadata.get('metadata.db-wal')!.length > 0, 'the WAL holds the killed server’s writes');
    const audit = storeFiles(dataDir, 'audit.db');
    const journal = readFileSync(join(journalDir, file));

    // The key is read (and its public half checked against the private one) without a write.
    const pem = await capture((io) => runAuditPublicKey({ dataDir }, io));
    assert.equal(pem.code, 0);
    assert.match(pem.out.join('\n'), /^-----BEGIN PUBLIC KEY-----/);
    const checked = await capture((io) => runAuditVerify({ dataDir }, io));
    assert.equal(checked.code, 1, 'the unchained records are a finding');
    assert.match(checked.out.join('\n'), new RegExp(`journal ${file}: 2 acknowledged records not in audit.db`));
    assert.match(checked.err.join('\n'), / digests, signed through /, 'the chain itself was checked with the derived key');
    assert.deepEqual(storeFiles(dataDir, 'metadata.db'), metadata, 'verify and public-key left metadata.db, its WAL and shm as found');

    // Export: the signed records only; the two acknowledged GenerateDataKey records are named on stderr.
    const work = mkdtempSync(join(tmpdir(), 'cipherlake-audit-offline-readonly-export-'));
    try {
      const out = join(work, 'export');
      const exported = await capture((io) => runAuditExport({ dataDir, dir: out }, io));
      assert.equal(exported.code, 0);
      const inFiles = exportedRequestIds(out);
      assert.ok(inFiles.includes(createId), 'the signed CreateKey record is exported');
      for (const id of ids) assert.ok(!inFiles.includes(id), `unchained record ${id} is not in an export file`);
      const err = exported.err.join('\n');
      assert.match(err, /cipherlake: 2 acknowledged records in unchained audit journals .* were left out/);
      assert.match(err, new RegExp(`cipherlake: journal ${file}: 2 acknowledged records not in audit.db`));
      // What was exported verifies with only the public key.
      const keyFile = join(work, 'audit.pem');
      writeFileSync(keyFile, `${pem.out.join('\n')}\n`);
      const ok = await capture((io) => runAuditVerify({ export: out, publicKey: keyFile }, io));
      assert.deepEqual([ok.code, ok.out], [0, ['intact']]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    assert.deepEqual(storeFiles(dataDir, 'metadata.db'), metadata, 'export left metadata.db as found');
    assert.deepEqual(storeFiles(dataDir, 'audit.db'), audit, 'the commands left audit.db and its WAL as found');
    assert.deepEqual(readFileSync(join(journalDir, file)), journal, 'the commands left the journal as found');

    // Without the shm (a copy of the directory that left it out): the read-only connection still
    // reads through the WAL (SQLite makes a new shm beside it, the directory being writable) and
    // leaves metadata.db and its WAL byte for byte.
    rmSync(join(dataDir, 'metadata.db-shm'));
    const noShm = await capture((io) => runAuditPublicKey({ dataDir }, io));
    assert.deepEqual([noShm.code, noShm.out], [0, pem.out]);
    const afterNoShm = storeFiles(dataDir, 'metadata.db');
    assert.deepEqual(afterNoShm.get('metadata.db'), metadata.get('metadata.db'));
    assert.deepEqual(afterNoShm.get('metadata.db-wal'), metadata.get('metadata.db-wal'), 'the WAL was not checkpointed nor removed');

    // The read-only path still derives the key from its private half: a swapped stored public key is refused.
    const meta = new Database(join(dataDir, 'metadata.db'));
    const aliasRecord = meta.prepare("SELECT record FROM kms_aliases WHERE alias_name = 'alias/cipherlake/audit-digests'").pluck().get() as string;
    const auditKeyId = (JSON.parse(aliasRecord) as { targetKeyId: string }).targetKeyId;
    const record = JSON.parse(meta.prepare('SELECT record FROM kms_keys WHERE key_id = ?').pluck().get(auditKeyId) as string) as { versions: Array<{ publicKey: { $b64: string } }> };
    const swapped = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    record.versions[0]!.publicKey = { $b64: swapped.toString('base64') };
    meta.prepare('UPDATE kms_keys SET record = ? WHERE key_id = ?').run(JSON.stringify(record), auditKeyId);
    meta.close();
    await assert.rejects(capture((io) => runAuditPublicKey({ dataDir }, io)), /does not match its private key: metadata.db was modified/);
  });
});
