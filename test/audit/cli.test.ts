import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { LocalAuditSigner, type AuditEvent } from '../../src/audit/index.js';
import { runAuditExport } from '../../src/cli/commands/audit-export.js';
import { runAuditLookup, type AuditLookupFlags } from '../../src/cli/commands/audit-lookup.js';
import { runAuditPublicKey } from '../../src/cli/commands/audit-public-key.js';
import { runAuditVerify, type AuditVerifyFlags } from '../../src/cli/commands/audit-verify.js';
import { capture } from '../helpers/cli-capture.js';
import { filesUnder } from '../helpers/files.js';
import { startTestServer, TEST_ACCESS_KEY_ID } from '../helpers/server.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

const verify = (flags: AuditVerifyFlags) => capture((io) => runAuditVerify(flags, io));
const lookup = (flags: AuditLookupFlags) => capture((io) => runAuditLookup(flags, io));

/** Opens a copy's audit.db with the append-only triggers dropped, as an attacker with file access would. */
function tamper(dataDir: string, sql: string): void {
  const db = new Database(join(dataDir, 'audit.db'));
  db.exec('DROP TRIGGER audit_records_no_update; DROP TRIGGER audit_records_no_delete; DROP TRIGGER audit_chunk_terms_no_delete;');
  db.exec(sql);
  db.close();
}

describe('cipherlake audit (verify, public-key, lookup, export)', () => {
  let dataDir: string;
  let work: string;
  let keyId: string;
  let encryptSeq: number;

  before(async () => {
    const t = await startTestServer();
    dataDir = t.dataDir;
    work = mkdtempSync(join(tmpdir(), 'cipherlake-audit-cli-'));
    const kms = t.kms();
    keyId = (await kms.send(new CreateKeyCommand({ Description: 'cli' }))).KeyMetadata!.KeyId!;
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/cli-test', TargetKeyId: keyId }));
    await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('hello') }));
    await kms.send(new GenerateDataKeyCommand({ KeyId: 'alias/cli-test', KeySpec: 'AES_256' }));
    await assert.rejects(kms.send(new DescribeKeyCommand({ KeyId: '00000000-0000-0000-0000-000000000000' })), { name: 'NotFoundException' });
    for (let i = 0; i < 5; i++) await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    await t.stop(); // signs a final digest over everything
    const db = new Database(join(dataDir, 'audit.db'), { readonly: true });
    const row = db.prepare("SELECT seq FROM audit_records WHERE event_name = 'Encrypt'").get() as { seq: number };
    db.close();
    encryptSeq = row.seq;
  });

  after(() => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('verify says intact for an untouched store and exits 0', async () => {
    const r = await verify({ dataDir });
    assert.deepEqual(r.out, ['intact']);
    assert.equal(r.code, 0);
    assert.match(r.err.join('\n'), /signed through \d+/);
  });

  it('verify names an edited field and a deleted record, with a non-zero exit', async () => {
    const copy = join(work, 'tampered');
    cpSync(dataDir, copy, { recursive: true });
    tamper(copy, `UPDATE audit_records SET event_json = replace(event_json, '"Encrypt"', '"Decrypt"') WHERE seq = ${encryptSeq};
                  DELETE FROM audit_records WHERE seq = ${encryptSeq + 2};`);
    const r = await verify({ dataDir: copy });
    assert.equal(r.code, 1);
    assert.ok(!r.out.includes('intact'));
    assert.ok(r.out.includes(`record ${encryptSeq} was modified`), r.out.join('\n'));
    assert.ok(r.out.includes(`record ${encryptSeq + 2} was deleted`), r.out.join('\n'));
    // A range before the tampering is still intact.
    const early = await verify({ dataDir: copy, from: '1', to: String(encryptSeq - 1) });
    assert.deepEqual(early.out, ['intact']);
    assert.equal(early.code, 0);
    // Ranges by time resolve to seqs through the store's time index and its unindexed tail.
    const byTime = await verify({ dataDir: copy, from: '2000-01-01T00:00:00Z', to: '2999-01-01T00:00:00Z' });
    assert.equal(byTime.code, 1);
    assert.ok(byTime.out.includes(`record ${encryptSeq} was modified`), byTime.out.join('\n'));
    const future = await verify({ dataDir: copy, from: '2999-01-01T00:00:00Z' });
    assert.deepEqual(future.out, ['intact']);
    assert.match(future.err.join('\n'), /no records in the given range/);
  });

  it('the real process exits 0 on intact and 1 with the findings on stdout', () => {
    const copy = join(work, 'tampered-process');
    cpSync(dataDir, copy, { recursive: true });
    tamper(copy, `DELETE FROM audit_records WHERE seq = ${encryptSeq + 1};`);
    const run = (dir: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'audit', 'verify', '--data-dir', dir], { cwd: REPO, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: work } });
    const good = run(dataDir);
    assert.equal(good.status, 0, good.stderr);
    assert.equal(good.stdout, 'intact\n');
    const bad = run(copy);
    assert.equal(bad.status, 1, bad.stderr);
    assert.equal(bad.stdout, `record ${encryptSeq + 1} was deleted\n`);
  });

  it('lookup filters by event name, key (id or alias), principal and errors', async () => {
    const byName = await lookup({ dataDir, eventName: 'DescribeKey', output: 'json', max: '100' });
    const named = byName.out.map((l) => JSON.parse(l) as AuditEvent);
    assert.equal(named.length, 6);
    assert.ok(named.every((e) => e.eventName === 'DescribeKey'));
    const byKey = (await lookup({ dataDir, key: keyId, output: 'json', max: '100' })).out.map((l) => (JSON.parse(l) as AuditEvent).eventName);
    assert.ok(byKey.includes('Encrypt') && byKey.includes('CreateAlias') && !byKey.includes('ListAliases'), byKey.join(','));
    const byAlias = (await lookup({ dataDir, key: 'alias/cli-test', output: 'json' })).out.map((l) => (JSON.parse(l) as AuditEvent).eventName);
    assert.ok(byAlias.includes('GenerateDataKey'), byAlias.join(','));
    assert.ok(!byAlias.includes('Encrypt'), 'Encrypt named the key id, not the alias');
    const errors = (await lookup({ dataDir, errorsOnly: true, output: 'json' })).out.map((l) => JSON.parse(l) as AuditEvent);
    assert.deepEqual(errors.map((e) => e.errorCode), ['NotFoundException']);
    assert.deepEqual((await lookup({ dataDir, accessDeniedOnly: true, output: 'json' })).out, []);
    const mine = await lookup({ dataDir, principal: TEST_ACCESS_KEY_ID, eventSource: 'kms', output: 'json', max: '3' });
    assert.equal(mine.out.length, 3);
    assert.deepEqual(
      (await lookup({ dataDir, principal: 'AKIANOBODYNOBODY0000', output: 'json' })).out,
      [],
    );
  });

  it('lookup prints a table by default, newest first, and honours --start/--end', async () => {
    const r = await lookup({ dataDir, eventName: 'Encrypt' });
    assert.equal(r.code, 0);
    assert.match(r.out[0]!, /^EVENT TIME\s+SOURCE\s+EVENT NAME\s+PRINCIPAL\s+RESOURCE\s+ERROR\s+REQUEST ID$/);
    assert.equal(r.out.length, 2);
    assert.match(r.out[1]!, new RegExp(`\\skms\\s+Encrypt\\s+arn:aws:iam::000000000000:root\\s+arn:aws:kms:us-east-1:000000000000:key/${keyId}\\s+-\\s+[0-9a-f-]{36}$`));
    const future = await lookup({ dataDir, start: new Date(Date.now() + 3_600_000).toISOString(), output: 'json' });
    assert.deepEqual(future.out, []);
    const past = await lookup({ dataDir, end: '2001-01-01T00:00:00Z', output: 'json' });
    assert.deepEqual(past.out, []);
    await assert.rejects(lookup({ dataDir, output: 'yaml' }), /--output/);
  });

  it('export writes CloudTrail files that verify with only the public key; a changed file is named', async () => {
    const pem = await capture((io) => runAuditPublicKey({ dataDir }, io));
    assert.match(pem.out.join('\n'), /^-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----$/);
    const keyFile = join(work, 'audit.pem');
    writeFileSync(keyFile, pem.out.join('\n') + '\n');
    const out = join(work, 'export');
    const exp = await capture((io) => runAuditExport({ dataDir, dir: out }, io));
    assert.equal(exp.code, 0);
    assert.ok(exp.out.some((p) => /^AWSLogs\/000000000000\/CloudTrail\/us-east-1\/\d{4}\/\d{2}\/\d{2}\/000000000000_CloudTrail_us-east-1_.*\.json\.gz$/.test(p)), exp.out.join('\n'));
    assert.ok(exp.out.some((p) => p.includes('/CloudTrail-Digest/')));
    const ok = await verify({ export: out, publicKey: keyFile });
    assert.deepEqual(ok.out, ['intact']);
    assert.equal(ok.code, 0);

    const wrongKey = join(work, 'wrong.pem');
    writeFileSync(wrongKey, LocalAuditSigner.generate().publicKeyPem());
    const forged = await verify({ export: out, publicKey: wrongKey });
    assert.equal(forged.code, 1);
    assert.ok(forged.out.some((l) => /invalid signature/.test(l)), forged.out.join('\n'));

    const logFile = filesUnder(out).find((p) => p.includes('/CloudTrail/'))!;
    const text = gunzipSync(readFileSync(logFile)).toString('utf8');
    writeFileSync(logFile, gzipSync(Buffer.from(text.replace('"Encrypt"', '"Decrypt"'))));
    const changed = await verify({ export: out, publicKey: keyFile });
    assert.equal(changed.code, 1);
    assert.ok(changed.out.some((l) => l.includes('was modified')), changed.out.join('\n'));
    await assert.rejects(verify({ export: out }), /--public-key/);
  });

  it('refuses a directory that is not a data directory, without creating anything', async () => {
    const empty = join(work, 'not-a-data-dir');
    await assert.rejects(verify({ dataDir: empty }), /no root key/);
    await assert.rejects(lookup({ dataDir: empty }), /no audit store/);
    assert.throws(() => statSync(empty), /ENOENT/);
  });
});
