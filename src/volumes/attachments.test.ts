import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretBytes } from '../crypto/secret-bytes.js';
import { Attachments } from './attachments.js';
import { EncryptedVolume } from './encrypted-volume.js';

describe('Attachments (the NBD export registry of attached volumes)', () => {
  it('serves an export only to the TLS-PSK identity of its attachment, and forgets the PSK on removal', async () => {
    const dir = { path: mkdtempSync(join(tmpdir(), 'cl-attach-')), cleanup: function (this: void) { rmSync(dir.path, { recursive: true, force: true }); } };
    try {
      const a = new Attachments();
      const volA = await EncryptedVolume.create(join(dir.path, 'a.vol'), 4096 * 4, SecretBytes.random(64));
      const volB = await EncryptedVolume.create(join(dir.path, 'b.vol'), 4096 * 4, SecretBytes.random(64));
      const base = { instanceId: 'i-0123456789abcdef0', device: '/dev/sdf', attachedAt: new Date() };
      const pa = a.add({ ...base, volumeId: 'vol-aaaaaaaaaaaaaaaaa' }, volA);
      const pb = a.add({ ...base, volumeId: 'vol-bbbbbbbbbbbbbbbbb' }, volB);
      assert.notEqual(pa.pskHex, pb.pskHex);
      assert.equal(Buffer.from(a.pskFor(pa.pskIdentity) ?? []).toString('hex'), pa.pskHex);
      assert.equal(a.pskFor('vol-ccccccccccccccccc'), undefined);
      assert.equal(a.lookup('vol-aaaaaaaaaaaaaaaaa', { tls: true, pskIdentity: pa.pskIdentity }), volA);
      assert.equal(a.lookup('vol-aaaaaaaaaaaaaaaaa', { tls: true, pskIdentity: pb.pskIdentity }), undefined, "another attachment's PSK");
      assert.equal(a.lookup('vol-aaaaaaaaaaaaaaaaa', { tls: true }), undefined, 'no PSK');
      assert.equal(a.lookup('vol-aaaaaaaaaaaaaaaaa'), undefined, 'no peer');
      assert.deepEqual(a.list({ tls: true, pskIdentity: pb.pskIdentity }), ['vol-bbbbbbbbbbbbbbbbb']);
      assert.equal(await a.remove('vol-aaaaaaaaaaaaaaaaa'), true);
      assert.equal(a.pskFor(pa.pskIdentity), undefined);
      assert.equal(a.lookup('vol-aaaaaaaaaaaaaaaaa', { tls: true, pskIdentity: pa.pskIdentity }), undefined);
      await assert.rejects(volA.read(0, 1), { name: 'VolumeClosedError' });
      assert.equal(await a.remove('vol-aaaaaaaaaaaaaaaaa'), false);
      await a.closeAll();
      await assert.rejects(volB.read(0, 1), { name: 'VolumeClosedError' });
    } finally {
      dir.cleanup();
    }
  });
});
