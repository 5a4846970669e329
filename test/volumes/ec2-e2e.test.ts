import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { openSync, readSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateKeyCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { detachVolumeWithCli } from '../../src/cli/commands/volume.js';
import { startTestServer, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, type TestServer } from '../helpers/server.js';
import { ec2 } from './ec2-raw.js';
import { sha256, tempDir, tool, writeSeededImage } from './nbd-harness.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DATA = 48 * 1024 * 1024;
const MARKER = Buffer.from('CIPHERLAKE-PLAINTEXT-MARKER-7f3a');
const DAY_MS = 86_400_000;

/** Runs `cipherlake volume <args>` as a real process; resolves with stdout, rejects with stderr. */
function cli(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'volume', ...args], { cwd: REPO, env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}`))));
  });
}

/** Whether `needle` occurs in the first `length` bytes of `path`. */
function fileContains(path: string, needle: Buffer, length: number): boolean {
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(8 * 1024 * 1024);
    for (let at = 0; at < length; at += chunk.length - needle.length) {
      const n = readSync(fd, chunk, 0, chunk.length, at);
      if (chunk.subarray(0, n).includes(needle)) return true;
      if (n < chunk.length) break;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

describe('volumes end to end: KMS keys, NBD over TLS-PSK, snapshots, re-encryption, crypto-shredding', () => {
  let t: TestServer;
  let dir: { path: string; cleanup: () => void };
  let source: string;
  let sourceHash: string;
  let keyA: string;
  let keyB: string;
  let volumeId: string;
  let copyId: string;
  let restoredId: string;
  const env = { CIPHERLAKE_ROOT_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, CIPHERLAKE_ROOT_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY };
  const call = async (action: string, params: Record<string, string>) => {
    const r = await ec2(t.endpoint, action, params, t.clock.now());
    assert.equal(r.status, 200, r.text);
    return r.body;
  };

  before(async () => {
    t = await startTestServer();
    dir = tempDir('cl-vol-e2e-');
    source = join(dir.path, 'source.raw');
    sourceHash = writeSeededImage(source, 'volumes-e2e', DATA, MARKER);
    const kms = t.kms();
    keyA = (await kms.send(new CreateKeyCommand({ Description: 'volume key A' }))).KeyMetadata?.Arn ?? '';
    keyB = (await kms.send(new CreateKeyCommand({ Description: 'volume key B' }))).KeyMetadata?.Arn ?? '';
  });
  after(async () => {
    await t.close();
    dir.cleanup();
  });

  it('attaches with `cipherlake volume attach` and nbdcopy writes through the printed nbds:// URI', async () => {
    volumeId = String((await call('CreateVolume', { Size: '1', AvailabilityZone: 'us-east-1a', Encrypted: 'true', KmsKeyId: keyA })).volumeId);
    const out = await cli(['attach', volumeId, '--endpoint', t.endpoint, '--data-dir', t.dataDir], env);
    const uri = out.trim();
    assert.match(uri, new RegExp(`^nbds://${volumeId}@127\\.0\\.0\\.1:${t.server.nbd?.port ?? 0}/${volumeId}\\?tls-psk-file=`));
    const pskFile = uri.slice(uri.indexOf('tls-psk-file=') + 'tls-psk-file='.length);
    assert.equal(statSync(pskFile).mode & 0o777, 0o600);
    // Without the PSK the export is refused.
    await assert.rejects(tool('nbdinfo', [`nbd://127.0.0.1:${t.server.nbd?.port ?? 0}/${volumeId}`]));
    await tool('nbdcopy', [source, uri]);
  });

  it('the backing file holds ciphertext only', () => {
    const backing = join(t.dataDir, 'volumes', `${volumeId}.vol`);
    assert.equal(fileContains(backing, MARKER, 4096 + DATA), false);
    assert.equal(fileContains(source, MARKER, DATA), true, 'the marker search finds plaintext');
  });

  it('snapshots the attached volume, copies it under another key, restores it, and reads back identical bytes', async () => {
    const snap = await call('CreateSnapshot', { VolumeId: volumeId });
    await detachVolumeWithCli(volumeId, { endpoint: t.endpoint, dataDir: t.dataDir }, env);
    const copy = await call('CopySnapshot', { SourceSnapshotId: String(snap.snapshotId), SourceRegion: 'us-east-1', Encrypted: 'true', KmsKeyId: keyB });
    copyId = String(copy.snapshotId);
    const restored = await call('CreateVolume', { SnapshotId: copyId, AvailabilityZone: 'us-east-1a' });
    restoredId = String(restored.volumeId);
    assert.equal(restored.kmsKeyId, keyB);
    const attached = await call('AttachVolume', { VolumeId: restoredId, InstanceId: 'i-0123456789abcdef0', Device: '/dev/sdg' });
    const nbd = attached.cipherlakeNbd as { pskIdentity: string; pskKey: string };
    const pskDir = join(dir.path, 'psk');
    await tool('mkdir', ['-p', pskDir]);
    await tool('sh', ['-c', `umask 077; printf '%s:%s\\n' '${nbd.pskIdentity}' '${nbd.pskKey}' > '${join(pskDir, 'keys.psk')}'`]);
    const back = join(dir.path, 'back.raw');
    await tool('qemu-img', [
      'convert', '-O', 'raw',
      '--object', `tls-creds-psk,id=tls0,endpoint=client,dir=${pskDir},username=${nbd.pskIdentity}`,
      '--image-opts', `driver=raw,size=${DATA},file.driver=nbd,file.host=127.0.0.1,file.port=${t.server.nbd?.port ?? 0},file.export=${restoredId},file.tls-creds=tls0`,
      back,
    ]);
    const fd = openSync(back, 'r');
    const data = Buffer.alloc(DATA);
    readSync(fd, data, 0, DATA, 0);
    closeSync(fd);
    assert.equal(sha256(data), sourceHash);
    await call('DetachVolume', { VolumeId: restoredId });
  });

  it('scheduling the key for deletion and letting the window pass makes the copy and its volume unreadable', async () => {
    await t.kms().send(new ScheduleKeyDeletionCommand({ KeyId: keyB, PendingWindowInDays: 7 }));
    t.clock.advance(7 * DAY_MS + 1000);
    const attach = await ec2(t.endpoint, 'AttachVolume', { VolumeId: restoredId, InstanceId: 'i-0123456789abcdef0', Device: '/dev/sdf' }, t.clock.now());
    assert.equal(attach.code, 'InvalidKMSKey.InvalidState', attach.text);
    const restore = await ec2(t.endpoint, 'CreateVolume', { SnapshotId: copyId, AvailabilityZone: 'us-east-1a', KmsKeyId: keyA }, t.clock.now());
    assert.equal(restore.code, 'InvalidKMSKey.InvalidState', restore.text);
    const snapshot = await ec2(t.endpoint, 'CreateSnapshot', { VolumeId: restoredId }, t.clock.now());
    assert.equal(snapshot.code, 'InvalidKMSKey.InvalidState', snapshot.text);
    // The original volume, under key A, is untouched.
    await call('AttachVolume', { VolumeId: volumeId, InstanceId: 'i-0123456789abcdef0', Device: '/dev/sdf' });
    await call('DetachVolume', { VolumeId: volumeId });
  });
});
