import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { buildClient, CommitmentPolicy, KmsKeyringNode, type KmsKeyringNodeInput } from '@aws-crypto/client-node';
import { CreateKeyCommand, KMS } from '@aws-sdk/client-kms';
import { startTestServer, TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY, type TestServer } from '../helpers/server.js';

const { encryptStream, decryptStream, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('AWS Encryption SDK for JavaScript through Cipherlake KMS', () => {
  let t: TestServer;
  let dir: string;
  let keyArn: string;
  let otherArn: string;

  let sealed: Buffer | undefined;
  const clients: KMS[] = [];

  function keyring(generatorKeyId: string): KmsKeyringNode {
    // The keyring wants the aggregated `KMS` client (method per operation) and asks for one
    // per region; every region goes to the test server.
    const client = new KMS({ endpoint: t.endpoint, region: TEST_REGION, credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY }, maxAttempts: 1 });
    clients.push(client);
    // The ESDK types its client against its own copy of the SDK's types; the object is the same SDK client.
    const clientProvider = (() => client) as unknown as NonNullable<KmsKeyringNodeInput['clientProvider']>;
    return new KmsKeyringNode({ generatorKeyId, clientProvider });
  }

  before(async () => {
    t = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), 'cipherlake-esdk-'));
    const kms = t.kms();
    keyArn = (await kms.send(new CreateKeyCommand({ Description: 'esdk' }))).KeyMetadata!.Arn!;
    otherArn = (await kms.send(new CreateKeyCommand({ Description: 'esdk other' }))).KeyMetadata!.Arn!;
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('encrypts and decrypts a 300 KiB file as streams, with an encryption context', async () => {
    const plain = randomBytes(300 * 1024 + 17);
    const plainPath = join(dir, 'data.bin');
    const encPath = join(dir, 'data.bin.encrypted');
    const outPath = join(dir, 'data.bin.decrypted');
    writeFileSync(plainPath, plain);
    const encryptionContext = { dataset: 'imagenet-shard-7', stage: 'train' };

    await pipeline(createReadStream(plainPath), encryptStream(keyring(keyArn), { encryptionContext, frameLength: 64 * 1024 }), createWriteStream(encPath));
    sealed = readFileSync(encPath);
    assert.ok(statSync(encPath).size > plain.length);
    assert.equal(sealed.indexOf(plain.subarray(0, 64)), -1, 'no plaintext in the sealed file');

    let header: { encryptionContext: Record<string, string> } | undefined;
    const dec = decryptStream(keyring(keyArn));
    dec.once('MessageHeader', (h: { encryptionContext: Record<string, string> }) => {
      header = h;
    });
    await pipeline(createReadStream(encPath), dec, createWriteStream(outPath));
    assert.equal(sha256(readFileSync(outPath)), sha256(plain));
    assert.equal(header?.encryptionContext.dataset, 'imagenet-shard-7');
    assert.equal(header?.encryptionContext.stage, 'train');
  });

  it('decrypting with a keyring for another key fails', async () => {
    assert.ok(sealed, 'the first test made a message');
    await assert.rejects(decrypt(keyring(otherArn), sealed), /unencryptedDataKey has not been set|unable to decrypt/i);
    const ok = await decrypt(keyring(keyArn), sealed);
    assert.equal(ok.plaintext.length, 300 * 1024 + 17);
  });

  it('a tampered message fails to decrypt', async () => {
    assert.ok(sealed, 'the first test made a message');
    const bad = Buffer.from(sealed);
    bad[bad.length - 200]! ^= 1;
    await assert.rejects(decrypt(keyring(keyArn), bad));
  });
});
