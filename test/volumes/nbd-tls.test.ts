import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { NbdServer, MapExportRegistry } from '../../src/volumes/nbd/index.js';
import { NbdConfigError } from '../../src/volumes/errors.js';
import { sha256, startHarness, tempDir, tool, toolExitCode, writeSeededImage } from './nbd-harness.js';
import type { Harness } from './nbd-harness.js';

const SIZE = 16 * 1024 * 1024;

describe('NBD with TLS-PSK required', () => {
  let dir: { path: string; cleanup: () => void };
  let harness: Harness;
  let source: string;
  let sourceHash: string;
  let pskDir: string;
  let pskFile: string;
  const psk = randomBytes(32);

  before(async () => {
    dir = tempDir('cl-nbd-tls-');
    source = join(dir.path, 'source.raw');
    sourceHash = writeSeededImage(source, 'nbd-tls-seed', SIZE);
    pskDir = join(dir.path, 'psk');
    mkdirSync(pskDir);
    pskFile = join(pskDir, 'keys.psk');
    writeFileSync(pskFile, `alice:${psk.toString('hex')}\n`, { mode: 0o600 });
    harness = await startHarness(dir.path, ['secure'], SIZE, {
      requireTls: true,
      tls: { pskCallback: (identity) => (identity === 'alice' ? psk : undefined) },
    });
  });
  after(async () => {
    await harness.close();
    dir.cleanup();
  });

  it('refuses plain connections', async () => {
    assert.notEqual(await toolExitCode('nbdinfo', [harness.uri('secure')]), 0);
    assert.notEqual(await toolExitCode('nbdinfo', ['--list', `nbd://127.0.0.1:${harness.port}`]), 0);
    const qemu = await tool('qemu-img', ['info', harness.uri('secure')]).catch((err: { stderr: string }) => err);
    assert.match(qemu.stderr, /TLS/);
  });

  it('qemu-img writes through a PSK session', async () => {
    await tool('qemu-img', [
      'convert', '-n', '-f', 'raw',
      '--object', `tls-creds-psk,id=tls0,endpoint=client,dir=${pskDir},username=alice`,
      '--target-image-opts', source,
      `driver=nbd,host=127.0.0.1,port=${harness.port},export=secure,tls-creds=tls0`,
    ]);
    const direct = await harness.volumes.get('secure')?.volume.read(0, SIZE);
    assert.ok(direct);
    assert.equal(sha256(direct), sourceHash);
  });

  it('nbdcopy reads back through nbds:// with the PSK file', async () => {
    const back = join(dir.path, 'back.raw');
    await tool('nbdcopy', [`nbds://alice@127.0.0.1:${harness.port}/secure?tls-psk-file=${pskFile}`, back]);
    assert.equal(sha256(readFileSync(back)), sourceHash);
  });

  it('refuses a wrong PSK and an unknown identity', async () => {
    const wrong = join(dir.path, 'wrong.psk');
    writeFileSync(wrong, `alice:${randomBytes(32).toString('hex')}\nbob:${psk.toString('hex')}\n`);
    const uri = `nbds://127.0.0.1:${harness.port}/secure?tls-psk-file=${wrong}`;
    assert.notEqual(await toolExitCode('nbdinfo', [uri.replace('nbds://', 'nbds://alice@')]), 0);
    assert.notEqual(await toolExitCode('nbdinfo', [uri.replace('nbds://', 'nbds://bob@')]), 0);
  });
});

describe('NBD with X.509 certificates', () => {
  let dir: { path: string; cleanup: () => void };
  let harness: Harness;

  before(async () => {
    dir = tempDir('cl-nbd-x509-');
    const certDir = join(dir.path, 'pki');
    mkdirSync(certDir);
    await tool('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'ca-cert.pem'),
    ]);
    harness = await startHarness(dir.path, ['x509'], 1024 * 1024, {
      requireTls: true,
      tls: { certificate: { key: readFileSync(join(certDir, 'key.pem')), cert: readFileSync(join(certDir, 'ca-cert.pem')) } },
    });
  });
  after(async () => {
    await harness.close();
    dir.cleanup();
  });

  it('serves a client that trusts the certificate', async () => {
    const { stdout } = await tool('nbdinfo', [
      `nbds://127.0.0.1:${harness.port}/x509?tls-certificates=${join(dir.path, 'pki')}`,
    ]);
    assert.match(stdout, /with TLS/);
    assert.match(stdout, /export-size: 1048576/);
  });

  it('refuses to start with requireTls but no TLS', () => {
    assert.throws(() => new NbdServer({ registry: new MapExportRegistry(), requireTls: true }), NbdConfigError);
  });
});
