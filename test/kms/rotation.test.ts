import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateKeyCommand,
  DecryptCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GetKeyRotationStatusCommand,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { readBlobHeader } from '../../src/kms/ciphertext-blob.js';
import { runKeyMaintenance } from '../../src/kms/index.js';
import { testServerFixture } from '../helpers/server.js';

const DAY_MS = 86_400_000;

describe('KMS key rotation', () => {
  const fx = testServerFixture();
  const newKey = async (input: ConstructorParameters<typeof CreateKeyCommand>[0] = {}) => (await fx.kms.send(new CreateKeyCommand(input))).KeyMetadata!;
  const encryptVersion = async (keyId: string, text = 'x') => {
    const enc = await fx.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(text) }));
    return { blob: enc.CiphertextBlob!, version: readBlobHeader(Buffer.from(enc.CiphertextBlob!)).keyVersion };
  };
  // Moves the server's clock and tells the SDK clients (they sign with their own clock) the new offset.
  const advance = (ms: number) => fx.server.advance(ms);

  it('reports rotation disabled for a new key, then enabled with period and next date', async () => {
    const key = await newKey();
    const off = await fx.kms.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }));
    assert.equal(off.KeyRotationEnabled, false);
    assert.equal(off.KeyId, key.KeyId);
    assert.equal(off.RotationPeriodInDays, undefined);
    await fx.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId }));
    const on = await fx.kms.send(new GetKeyRotationStatusCommand({ KeyId: key.Arn }));
    assert.equal(on.KeyRotationEnabled, true);
    assert.equal(on.RotationPeriodInDays, 365);
    assert.equal(on.NextRotationDate?.getTime(), fx.server.clock.now().getTime() + 365 * DAY_MS);
    await fx.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 90 }));
    const ninety = await fx.kms.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }));
    assert.equal(ninety.RotationPeriodInDays, 90);
    await fx.kms.send(new DisableKeyRotationCommand({ KeyId: key.KeyId }));
    const again = await fx.kms.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }));
    assert.equal(again.KeyRotationEnabled, false);
    assert.equal(again.NextRotationDate, undefined);
  });

  it('validates RotationPeriodInDays (90–2560)', async () => {
    const key = await newKey();
    await assert.rejects(fx.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 89 })), { name: 'ValidationException' });
    await assert.rejects(fx.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 2561 })), { name: 'ValidationException' });
    await fx.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 2560 }));
  });

  it('rotates automatically when the period elapses; old blobs still decrypt', async () => {
    const key = await newKey();
    await fx.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 90 }));
    const before = await encryptVersion(key.KeyId!, 'before');
    assert.equal(before.version, 1);
    advance(90 * DAY_MS - 1000);
    assert.equal((await encryptVersion(key.KeyId!)).version, 1);
    advance(1000);
    const afterRotation = await encryptVersion(key.KeyId!, 'after');
    assert.equal(afterRotation.version, 2);
    const old = await fx.kms.send(new DecryptCommand({ CiphertextBlob: before.blob }));
    assert.equal(Buffer.from(old.Plaintext!).toString(), 'before');
    const fresh = await fx.kms.send(new DecryptCommand({ CiphertextBlob: afterRotation.blob }));
    assert.equal(Buffer.from(fresh.Plaintext!).toString(), 'after');
    const status = await fx.kms.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }));
    assert.equal(status.NextRotationDate?.getTime(), fx.server.clock.now().getTime() + 90 * DAY_MS);
    const listed = await fx.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId }));
    assert.equal(listed.Rotations?.length, 1);
    assert.equal(listed.Rotations![0]!.RotationType, 'AUTOMATIC');
    assert.equal(listed.Rotations![0]!.KeyId, key.KeyId);
    assert.match(listed.Rotations![0]!.KeyMaterialId!, /^[0-9a-f]{64}$/);
    assert.equal(listed.Rotations![0]!.KeyMaterialState, 'CURRENT');
  });

  it('the maintenance sweep rotates due keys nobody uses', async () => {
    const key = await newKey();
    await fx.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 90 }));
    advance(91 * DAY_MS);
    await runKeyMaintenance(fx.server.server.keys);
    const record = await fx.server.server.keys.deps.store.getKey(key.KeyId!);
    assert.equal(record.versions.length, 2);
  });

  it('RotateKeyOnDemand adds a version without moving the automatic schedule', async () => {
    const key = await newKey();
    await fx.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 180 }));
    const scheduled = (await fx.kms.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }))).NextRotationDate!;
    const v1 = await encryptVersion(key.KeyId!, 'one');
    advance(DAY_MS);
    const r = await fx.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
    assert.equal(r.KeyId, key.KeyId);
    assert.equal((await encryptVersion(key.KeyId!)).version, 2);
    assert.equal((await fx.kms.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }))).NextRotationDate?.getTime(), scheduled.getTime());
    assert.equal(Buffer.from((await fx.kms.send(new DecryptCommand({ CiphertextBlob: v1.blob }))).Plaintext!).toString(), 'one');
    const all = await fx.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    assert.equal(all.Rotations?.length, 2);
    assert.equal(all.Rotations![0]!.RotationDate, undefined);
    assert.equal(all.Rotations![0]!.KeyMaterialState, 'NON_CURRENT');
    assert.equal(all.Rotations![1]!.RotationType, 'ON_DEMAND');
    assert.equal(all.Rotations![1]!.RotationDate?.getTime(), fx.server.clock.now().getTime());
  });

  it('limits on-demand rotations to 25 and pages ListKeyRotations', async () => {
    const key = await newKey();
    for (let i = 0; i < 25; i++) await fx.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
    await assert.rejects(fx.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId })), { name: 'LimitExceededException' });
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = await fx.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId, Limit: 10, ...(marker ? { Marker: marker } : {}) }));
      seen.push(...page.Rotations!.map((r) => r.KeyMaterialId!));
      assert.equal(page.Truncated, page.NextMarker !== undefined);
      marker = page.NextMarker;
    } while (marker !== undefined);
    assert.equal(seen.length, 25);
    assert.equal(new Set(seen).size, 25);
    await assert.rejects(fx.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId, Marker: 'garbage' })), { name: 'InvalidMarkerException' });
  });

  it('refuses rotation for asymmetric and HMAC keys', async () => {
    const rsa = await newKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
    const hmac = await newKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    for (const k of [rsa, hmac]) {
      await assert.rejects(fx.kms.send(new EnableKeyRotationCommand({ KeyId: k.KeyId })), { name: 'UnsupportedOperationException' });
      await assert.rejects(fx.kms.send(new DisableKeyRotationCommand({ KeyId: k.KeyId })), { name: 'UnsupportedOperationException' });
      await assert.rejects(fx.kms.send(new GetKeyRotationStatusCommand({ KeyId: k.KeyId })), { name: 'UnsupportedOperationException' });
      await assert.rejects(fx.kms.send(new RotateKeyOnDemandCommand({ KeyId: k.KeyId })), { name: 'UnsupportedOperationException' });
      await assert.rejects(fx.kms.send(new ListKeyRotationsCommand({ KeyId: k.KeyId })), { name: 'UnsupportedOperationException' });
    }
  });

  it('answers key state errors as AWS does', async () => {
    const key = await newKey();
    await fx.kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    await assert.rejects(fx.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId })), { name: 'DisabledException' });
    await assert.rejects(fx.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId })), { name: 'DisabledException' });
    await fx.kms.send(new EnableKeyCommand({ KeyId: key.KeyId }));
    await fx.kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
    await assert.rejects(fx.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId })), { name: 'KMSInvalidStateException' });
    await assert.rejects(fx.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId })), { name: 'KMSInvalidStateException' });
    await assert.rejects(fx.kms.send(new GetKeyRotationStatusCommand({ KeyId: '00000000-0000-4000-8000-000000000000' })), { name: 'NotFoundException' });
  });
});
