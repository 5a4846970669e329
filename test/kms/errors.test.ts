import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateRandomCommand,
  KMSClient,
  ListKeysCommand,
  ReEncryptCommand,
  ScheduleKeyDeletionCommand,
  UpdateKeyDescriptionCommand,
  type CreateKeyCommandInput,
} from '@aws-sdk/client-kms';
import { startTestServer, TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY, type TestServer } from '../helpers/server.js';
import { rawKmsRequest } from '../helpers/signed-request.js';

/** Asserts that `p` rejects with the AWS error `name` (as the SDK surfaces it) and HTTP 400. */
async function rejectsWith(p: Promise<unknown>, name: string, status = 400): Promise<Error> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => {
    caught = err;
    return true;
  });
  const e = caught as Error & { $metadata?: { httpStatusCode?: number } };
  assert.equal(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`);
  assert.equal(e.$metadata?.httpStatusCode, status);
  return e;
}

const DAY = 86_400_000;

describe('KMS error paths through @aws-sdk/client-kms', () => {
  let t: TestServer;
  let kms: KMSClient;
  let key: string; // enabled symmetric key
  let keyArn: string;
  let other: string; // a second enabled symmetric key
  let disabled: string;
  let pending: string;
  let hmacKey: string;
  let eccKey: string;
  let blob: Uint8Array; // 'secret' under `key` with context {purpose: 'test'}
  let disabledBlob: Uint8Array;
  let pendingBlob: Uint8Array;
  const ctx = { purpose: 'test' };
  const missing = '11111111-2222-3333-4444-555555555555';

  async function create(input: CreateKeyCommandInput = {}): Promise<string> {
    const out = await kms.send(new CreateKeyCommand(input));
    return out.KeyMetadata!.KeyId!;
  }

  before(async () => {
    t = await startTestServer();
    kms = t.kms();
    key = await create({ Description: 'main' });
    keyArn = `arn:aws:kms:${TEST_REGION}:000000000000:key/${key}`;
    other = await create();
    disabled = await create();
    pending = await create();
    hmacKey = await create({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    eccKey = await create({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    blob = (await kms.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('secret'), EncryptionContext: ctx }))).CiphertextBlob!;
    disabledBlob = (await kms.send(new EncryptCommand({ KeyId: disabled, Plaintext: Buffer.from('d') }))).CiphertextBlob!;
    pendingBlob = (await kms.send(new EncryptCommand({ KeyId: pending, Plaintext: Buffer.from('p') }))).CiphertextBlob!;
    await kms.send(new DisableKeyCommand({ KeyId: disabled }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: pending, PendingWindowInDays: 7 }));
  });
  after(async () => {
    await t.close();
  });

  describe('CreateKey', () => {
    const badCombos: Array<[string, string]> = [
      ['SYMMETRIC_DEFAULT', 'SIGN_VERIFY'],
      ['SYMMETRIC_DEFAULT', 'GENERATE_VERIFY_MAC'],
      ['ECC_NIST_P256', 'ENCRYPT_DECRYPT'],
      ['HMAC_256', 'ENCRYPT_DECRYPT'],
      ['HMAC_512', 'SIGN_VERIFY'],
      ['RSA_2048', 'GENERATE_VERIFY_MAC'],
    ];
    for (const [spec, usage] of badCombos) {
      it(`KeySpec ${spec} with KeyUsage ${usage} → ValidationException`, async () => {
        await rejectsWith(kms.send(new CreateKeyCommand({ KeySpec: spec as 'RSA_2048', KeyUsage: usage as 'SIGN_VERIFY' })), 'ValidationException');
      });
    }
    it('unknown KeySpec / KeyUsage → ValidationException', async () => {
      await rejectsWith(kms.send(new CreateKeyCommand({ KeySpec: 'AES_256' as 'RSA_2048' })), 'ValidationException');
      await rejectsWith(kms.send(new CreateKeyCommand({ KeyUsage: 'ENCRYPT' as 'SIGN_VERIFY' })), 'ValidationException');
    });
    it('Description over 8192 characters → ValidationException', async () => {
      await rejectsWith(kms.send(new CreateKeyCommand({ Description: 'x'.repeat(8193) })), 'ValidationException');
    });
    it('malformed Tags → ValidationException', async () => {
      await rejectsWith(kms.send(new CreateKeyCommand({ Tags: [{ TagKey: '', TagValue: 'v' }] })), 'ValidationException');
    });
  });

  describe('DescribeKey', () => {
    it('by key id and by key ARN', async () => {
      const byId = await kms.send(new DescribeKeyCommand({ KeyId: key }));
      const byArn = await kms.send(new DescribeKeyCommand({ KeyId: keyArn }));
      assert.equal(byId.KeyMetadata?.Arn, keyArn);
      assert.equal(byArn.KeyMetadata?.KeyId, key);
    });
    it('unknown id, malformed id, ARN of another region or account, unknown alias → NotFoundException', async () => {
      for (const id of [missing, 'not-a-key', `arn:aws:kms:eu-west-1:000000000000:key/${key}`, `arn:aws:kms:${TEST_REGION}:111111111111:key/${key}`, 'alias/nope']) {
        await rejectsWith(kms.send(new DescribeKeyCommand({ KeyId: id })), 'NotFoundException');
      }
    });
    it('by alias name and alias ARN; an alias ARN of another region → NotFoundException', async () => {
      await kms.send(new CreateAliasCommand({ AliasName: 'alias/errors-test', TargetKeyId: key }));
      const byName = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/errors-test' }));
      const byAliasArn = await kms.send(new DescribeKeyCommand({ KeyId: `arn:aws:kms:${TEST_REGION}:000000000000:alias/errors-test` }));
      assert.equal(byName.KeyMetadata?.KeyId, key);
      assert.equal(byAliasArn.KeyMetadata?.KeyId, key);
      await rejectsWith(kms.send(new DescribeKeyCommand({ KeyId: 'arn:aws:kms:eu-west-1:000000000000:alias/errors-test' })), 'NotFoundException');
    });
    it('missing KeyId → ValidationException', async () => {
      await rejectsWith(kms.send(new DescribeKeyCommand({} as { KeyId: string })), 'ValidationException');
    });
  });

  describe('ListKeys', () => {
    it('Limit 0 and 1001 → ValidationException; a forged Marker → InvalidMarkerException', async () => {
      await rejectsWith(kms.send(new ListKeysCommand({ Limit: 0 })), 'ValidationException');
      await rejectsWith(kms.send(new ListKeysCommand({ Limit: 1001 })), 'ValidationException');
      await rejectsWith(kms.send(new ListKeysCommand({ Marker: 'garbage!' })), 'InvalidMarkerException');
    });
  });

  describe('lifecycle', () => {
    it('EnableKey / DisableKey / UpdateKeyDescription / ScheduleKeyDeletion / CancelKeyDeletion of an unknown key → NotFoundException', async () => {
      await rejectsWith(kms.send(new EnableKeyCommand({ KeyId: missing })), 'NotFoundException');
      await rejectsWith(kms.send(new DisableKeyCommand({ KeyId: missing })), 'NotFoundException');
      await rejectsWith(kms.send(new UpdateKeyDescriptionCommand({ KeyId: missing, Description: 'x' })), 'NotFoundException');
      await rejectsWith(kms.send(new ScheduleKeyDeletionCommand({ KeyId: missing })), 'NotFoundException');
      await rejectsWith(kms.send(new CancelKeyDeletionCommand({ KeyId: missing })), 'NotFoundException');
    });
    it('a key pending deletion → KMSInvalidStateException for Enable, Disable, UpdateKeyDescription, ScheduleKeyDeletion', async () => {
      await rejectsWith(kms.send(new EnableKeyCommand({ KeyId: pending })), 'KMSInvalidStateException');
      await rejectsWith(kms.send(new DisableKeyCommand({ KeyId: pending })), 'KMSInvalidStateException');
      await rejectsWith(kms.send(new UpdateKeyDescriptionCommand({ KeyId: pending, Description: 'x' })), 'KMSInvalidStateException');
      await rejectsWith(kms.send(new ScheduleKeyDeletionCommand({ KeyId: pending, PendingWindowInDays: 7 })), 'KMSInvalidStateException');
      const d = await kms.send(new DescribeKeyCommand({ KeyId: pending }));
      assert.equal(d.KeyMetadata?.KeyState, 'PendingDeletion');
    });
    it('CancelKeyDeletion of a key not pending deletion → KMSInvalidStateException', async () => {
      await rejectsWith(kms.send(new CancelKeyDeletionCommand({ KeyId: key })), 'KMSInvalidStateException');
    });
    it('ScheduleKeyDeletion window 6 and 31 → ValidationException (key unchanged)', async () => {
      await rejectsWith(kms.send(new ScheduleKeyDeletionCommand({ KeyId: other, PendingWindowInDays: 6 })), 'ValidationException');
      await rejectsWith(kms.send(new ScheduleKeyDeletionCommand({ KeyId: other, PendingWindowInDays: 31 })), 'ValidationException');
      assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: other }))).KeyMetadata?.KeyState, 'Enabled');
    });
    it('UpdateKeyDescription without Description → ValidationException', async () => {
      await rejectsWith(kms.send(new UpdateKeyDescriptionCommand({ KeyId: key } as { KeyId: string; Description: string })), 'ValidationException');
    });
  });

  describe('Encrypt', () => {
    it('plaintext of 4097 bytes and of 0 bytes → ValidationException; 4096 is fine', async () => {
      await rejectsWith(kms.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.alloc(4097) })), 'ValidationException');
      await rejectsWith(kms.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.alloc(0) })), 'ValidationException');
      await kms.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.alloc(4096) }));
    });
    it('unknown → NotFoundException, disabled → DisabledException, pending deletion → KMSInvalidStateException', async () => {
      await rejectsWith(kms.send(new EncryptCommand({ KeyId: missing, Plaintext: Buffer.from('x') })), 'NotFoundException');
      await rejectsWith(kms.send(new EncryptCommand({ KeyId: disabled, Plaintext: Buffer.from('x') })), 'DisabledException');
      await rejectsWith(kms.send(new EncryptCommand({ KeyId: pending, Plaintext: Buffer.from('x') })), 'KMSInvalidStateException');
    });
    it('an HMAC or signing key, or an RSA algorithm on a symmetric key → InvalidKeyUsageException', async () => {
      await rejectsWith(kms.send(new EncryptCommand({ KeyId: hmacKey, Plaintext: Buffer.from('x') })), 'InvalidKeyUsageException');
      await rejectsWith(kms.send(new EncryptCommand({ KeyId: eccKey, Plaintext: Buffer.from('x') })), 'InvalidKeyUsageException');
      await rejectsWith(kms.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })), 'InvalidKeyUsageException');
    });
    // A wrong JSON type fails deserialization: SerializationException, as AWS's JSON services answer it (evidence in test/kms/wire-types.test.ts).
    it('a non-string context value → SerializationException', async () => {
      const r = await rawKmsRequest(t.endpoint, { target: 'TrentService.Encrypt', body: JSON.stringify({ KeyId: key, Plaintext: 'eA==', EncryptionContext: { a: 1 } }) });
      assert.equal(r.json.__type, 'SerializationException');
    });
  });

  describe('Decrypt', () => {
    it('round trip works (the fixtures are sound)', async () => {
      const out = await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: ctx }));
      assert.equal(Buffer.from(out.Plaintext!).toString(), 'secret');
      assert.equal(out.KeyId, keyArn);
    });
    it('every tampered byte → InvalidCiphertextException', async () => {
      for (let i = 0; i < blob.length; i++) {
        const bad = Buffer.from(blob);
        bad[i]! ^= 0x01;
        const e = await rejectsWith(kms.send(new DecryptCommand({ CiphertextBlob: bad, EncryptionContext: ctx })), 'InvalidCiphertextException');
        // The server sends an empty message (no word on which check failed); the SDK shows that as UnknownError.
        assert.ok(e.message === '' || e.message === 'UnknownError', e.message);
      }
    });
    it('truncated, extended and garbage blobs → InvalidCiphertextException', async () => {
      for (const bad of [Buffer.from(blob).subarray(0, blob.length - 1), Buffer.concat([blob, Buffer.of(0)]), Buffer.from('not a blob at all'), Buffer.alloc(200, 1)]) {
        await rejectsWith(kms.send(new DecryptCommand({ CiphertextBlob: bad, EncryptionContext: ctx })), 'InvalidCiphertextException');
      }
    });
    it('wrong, missing or extra encryption context → InvalidCiphertextException', async () => {
      for (const c of [undefined, {}, { purpose: 'tesT' }, { ...ctx, extra: 'x' }, { Purpose: 'test' }]) {
        await rejectsWith(kms.send(new DecryptCommand({ CiphertextBlob: blob, ...(c ? { EncryptionContext: c } : {}) })), 'InvalidCiphertextException');
      }
    });
    it('a KeyId naming another key → IncorrectKeyException; an unknown KeyId → NotFoundException', async () => {
      await rejectsWith(kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: ctx, KeyId: other })), 'IncorrectKeyException');
      await rejectsWith(kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: ctx, KeyId: missing })), 'NotFoundException');
      const ok = await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: ctx, KeyId: keyArn }));
      assert.equal(Buffer.from(ok.Plaintext!).toString(), 'secret');
    });
    it('a blob of a disabled key → DisabledException; of a key pending deletion → KMSInvalidStateException', async () => {
      await rejectsWith(kms.send(new DecryptCommand({ CiphertextBlob: disabledBlob })), 'DisabledException');
      await rejectsWith(kms.send(new DecryptCommand({ CiphertextBlob: pendingBlob })), 'KMSInvalidStateException');
    });
    it('CiphertextBlob over 6144 bytes → ValidationException', async () => {
      await rejectsWith(kms.send(new DecryptCommand({ CiphertextBlob: Buffer.alloc(6145, 1) })), 'ValidationException');
    });
  });

  describe('ReEncrypt', () => {
    it('re-encrypts to another key (fixture sanity)', async () => {
      const out = await kms.send(new ReEncryptCommand({ CiphertextBlob: blob, SourceEncryptionContext: ctx, DestinationKeyId: other }));
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: out.CiphertextBlob! }));
      assert.equal(Buffer.from(dec.Plaintext!).toString(), 'secret');
    });
    it('wrong source context or tampered blob → InvalidCiphertextException', async () => {
      await rejectsWith(kms.send(new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: other })), 'InvalidCiphertextException');
      const bad = Buffer.from(blob);
      bad[bad.length - 1]! ^= 0x80;
      await rejectsWith(kms.send(new ReEncryptCommand({ CiphertextBlob: bad, SourceEncryptionContext: ctx, DestinationKeyId: other })), 'InvalidCiphertextException');
    });
    it('SourceKeyId naming another key → IncorrectKeyException', async () => {
      await rejectsWith(kms.send(new ReEncryptCommand({ CiphertextBlob: blob, SourceEncryptionContext: ctx, SourceKeyId: other, DestinationKeyId: other })), 'IncorrectKeyException');
    });
    it('destination unknown / disabled / pending deletion / HMAC → NotFound / Disabled / KMSInvalidState / InvalidKeyUsage', async () => {
      const base = { CiphertextBlob: blob, SourceEncryptionContext: ctx };
      await rejectsWith(kms.send(new ReEncryptCommand({ ...base, DestinationKeyId: missing })), 'NotFoundException');
      await rejectsWith(kms.send(new ReEncryptCommand({ ...base, DestinationKeyId: disabled })), 'DisabledException');
      await rejectsWith(kms.send(new ReEncryptCommand({ ...base, DestinationKeyId: pending })), 'KMSInvalidStateException');
      await rejectsWith(kms.send(new ReEncryptCommand({ ...base, DestinationKeyId: hmacKey })), 'InvalidKeyUsageException');
    });
    it('a source blob of a disabled key → DisabledException', async () => {
      await rejectsWith(kms.send(new ReEncryptCommand({ CiphertextBlob: disabledBlob, DestinationKeyId: other })), 'DisabledException');
    });
  });

  describe('GenerateDataKey and GenerateDataKeyWithoutPlaintext', () => {
    for (const [name, Cmd] of [
      ['GenerateDataKey', GenerateDataKeyCommand],
      ['GenerateDataKeyWithoutPlaintext', GenerateDataKeyWithoutPlaintextCommand],
    ] as const) {
      it(`${name}: NumberOfBytes 0 and 1025, both KeySpec and NumberOfBytes, neither, bad KeySpec → ValidationException`, async () => {
        await rejectsWith(kms.send(new Cmd({ KeyId: key, NumberOfBytes: 0 })), 'ValidationException');
        await rejectsWith(kms.send(new Cmd({ KeyId: key, NumberOfBytes: 1025 })), 'ValidationException');
        await rejectsWith(kms.send(new Cmd({ KeyId: key, NumberOfBytes: 32, KeySpec: 'AES_256' })), 'ValidationException');
        await rejectsWith(kms.send(new Cmd({ KeyId: key })), 'ValidationException');
        await rejectsWith(kms.send(new Cmd({ KeyId: key, KeySpec: 'AES_512' as 'AES_256' })), 'ValidationException');
      });
      it(`${name}: unknown / disabled / pending deletion / HMAC / ECC key`, async () => {
        await rejectsWith(kms.send(new Cmd({ KeyId: missing, KeySpec: 'AES_256' })), 'NotFoundException');
        await rejectsWith(kms.send(new Cmd({ KeyId: disabled, KeySpec: 'AES_256' })), 'DisabledException');
        await rejectsWith(kms.send(new Cmd({ KeyId: pending, KeySpec: 'AES_256' })), 'KMSInvalidStateException');
        await rejectsWith(kms.send(new Cmd({ KeyId: hmacKey, KeySpec: 'AES_256' })), 'InvalidKeyUsageException');
        await rejectsWith(kms.send(new Cmd({ KeyId: eccKey, KeySpec: 'AES_256' })), 'InvalidKeyUsageException');
      });
    }
    it('NumberOfBytes 1 and 1024 are accepted; the blob decrypts only with its context', async () => {
      for (const n of [1, 1024]) {
        const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: key, NumberOfBytes: n, EncryptionContext: ctx }));
        assert.equal(dk.Plaintext?.length, n);
        await rejectsWith(kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob! })), 'InvalidCiphertextException');
        const dec = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob!, EncryptionContext: ctx }));
        assert.deepEqual(Buffer.from(dec.Plaintext!), Buffer.from(dk.Plaintext!));
      }
    });
  });

  describe('GenerateRandom', () => {
    it('NumberOfBytes 0 and 1025 → ValidationException', async () => {
      await rejectsWith(kms.send(new GenerateRandomCommand({ NumberOfBytes: 0 })), 'ValidationException');
      await rejectsWith(kms.send(new GenerateRandomCommand({ NumberOfBytes: 1025 })), 'ValidationException');
      assert.equal((await kms.send(new GenerateRandomCommand({ NumberOfBytes: 1024 }))).Plaintext?.length, 1024);
    });
  });

  describe('raw signed requests', () => {
    it('a malformed JSON body → SerializationException', async () => {
      for (const body of ['{"KeyId": ', '[]', 'null', '"str"']) {
        const r = await rawKmsRequest(t.endpoint, { target: 'TrentService.DescribeKey', body });
        assert.equal(r.status, 400);
        assert.equal(r.json.__type, 'SerializationException', body);
      }
    });
    it('an unknown target → UnknownOperationException', async () => {
      for (const target of ['TrentService.Frobnicate', 'TrentService.toString', 'TrentService.__proto__', 'TrentService.', 'OtherService.CreateKey', 'CreateKey']) {
        const r = await rawKmsRequest(t.endpoint, { target, body: '{}' });
        assert.equal(r.status, 400);
        assert.equal(r.json.__type, 'UnknownOperationException', target);
        assert.equal(r.status, 400, target);
      }
    });
    it('a well-formed raw request succeeds (the helper is sound)', async () => {
      const r = await rawKmsRequest(t.endpoint, { target: 'TrentService.DescribeKey', body: JSON.stringify({ KeyId: key }) });
      assert.equal(r.status, 200);
    });
  });

  describe('blobs from another installation', () => {
    it('a blob made by a second server (its own root key) → InvalidCiphertextException', async () => {
      const t2 = await startTestServer();
      try {
        const kms2 = t2.kms();
        const k2 = (await kms2.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
        const foreign = (await kms2.send(new EncryptCommand({ KeyId: k2, Plaintext: Buffer.from('x') }))).CiphertextBlob!;
        await rejectsWith(kms.send(new DecryptCommand({ CiphertextBlob: foreign })), 'InvalidCiphertextException');
        // And our blob on their server.
        await rejectsWith(kms2.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: ctx })), 'InvalidCiphertextException');
        // A foreign blob relabelled with one of our key ids still fails (material differs).
        const relabelled = Buffer.from(foreign);
        Buffer.from(key.replace(/-/g, ''), 'hex').copy(relabelled, 1);
        await rejectsWith(kms.send(new DecryptCommand({ CiphertextBlob: relabelled })), 'InvalidCiphertextException');
      } finally {
        await t2.close();
      }
    });
  });

  describe('deletion coming due', () => {
    it('after the window the key is gone: DescribeKey → NotFoundException, Decrypt of its blob → InvalidCiphertextException', async () => {
      t.clock.advance(7 * DAY + 1000);
      // The server checks SigV4 times against its (manual) clock: sign as of that clock.
      const late = new KMSClient({
        endpoint: t.endpoint,
        region: TEST_REGION,
        credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
        maxAttempts: 1,
        systemClockOffset: t.clock.now().getTime() - Date.now(),
      });
      try {
        await rejectsWith(late.send(new DescribeKeyCommand({ KeyId: pending })), 'NotFoundException');
        await rejectsWith(late.send(new DecryptCommand({ CiphertextBlob: pendingBlob })), 'InvalidCiphertextException');
        await rejectsWith(late.send(new CancelKeyDeletionCommand({ KeyId: pending })), 'NotFoundException');
        const ok = await late.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: ctx }));
        assert.equal(Buffer.from(ok.Plaintext!).toString(), 'secret');
      } finally {
        late.destroy();
      }
    });
  });
});

describe('ListKeys paging', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    await t.close();
  });

  it('pages over 25 keys with Limit/Marker: each key once, in creation order, Truncated only before the last page', async () => {
    const kms = t.kms();
    // The server may hold keys of its own (e.g. the audit signing key) before ours.
    const preexisting = ((await kms.send(new ListKeysCommand({}))).Keys ?? []).map((k) => k.KeyId!);
    const created: string[] = [...preexisting];
    for (let i = 0; i < 25; i++) created.push((await kms.send(new CreateKeyCommand({ Description: `k${i}` }))).KeyMetadata!.KeyId!);
    assert.ok(created.length >= 25);
    for (const limit of [1, 7, created.length, 100]) {
      const seen: string[] = [];
      let marker: string | undefined;
      let pages = 0;
      for (;;) {
        const page = await kms.send(new ListKeysCommand({ Limit: limit, ...(marker !== undefined ? { Marker: marker } : {}) }));
        pages++;
        assert.ok((page.Keys ?? []).length <= limit);
        for (const k of page.Keys ?? []) {
          seen.push(k.KeyId!);
          assert.equal(k.KeyArn, `arn:aws:kms:${TEST_REGION}:000000000000:key/${k.KeyId}`);
        }
        if (!page.Truncated) {
          assert.equal(page.NextMarker, undefined);
          break;
        }
        assert.ok(page.NextMarker);
        marker = page.NextMarker;
        assert.ok(pages <= 26, 'paging terminates');
      }
      assert.deepEqual(seen, created, `limit ${limit}`);
      assert.equal(pages, Math.ceil(created.length / limit), 'no empty trailing page');
    }
  });
});
