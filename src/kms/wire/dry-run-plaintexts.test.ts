import { strict as assert } from 'node:assert';
import { createDecipheriv } from 'node:crypto';
import { describe, it, mock } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../../common/clock.js';
import { SecretBytes } from '../../crypto/secret-bytes.js';
import { openSqlite } from '../../store/sqlite/database.js';
import { SqliteKeyStore } from '../../store/sqlite/key-store.js';
import { KeyService } from '../keys/key-service.js';
import type { CallContext } from '../kms-context.js';
import { createKey } from '../operations/create-key.js';
import { LocalRootKeyProvider } from '../root-key/local-root-key.js';
import { handleKmsRequest, type KmsOutcome } from './handler.js';
import { KMS_ROUTES } from './routes.js';

// A dry run runs the operation and drops its result: the plaintexts that result holds (a data
// key, a decrypted plaintext, a data key pair's private key) are zeroed before it is dropped.
// Each case captures the very buffer the operation made, and checks it against the real call.

const ACCOUNT = '000000000000';
const ROOT = { principal: { type: 'Root', accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, principalId: ACCOUNT }, sourceIp: '127.0.0.1', secureTransport: true } as unknown as CallContext;
const log = pino({ level: 'silent' });

async function setup(): Promise<{ keys: KeyService; keyId: string }> {
  const store = new SqliteKeyStore(openSqlite(':memory:'));
  const keys = new KeyService({ store, rootKey: new LocalRootKeyProvider('file', SecretBytes.random(32)), clock: new ManualClock(), settings: { region: 'us-east-1', accountId: ACCOUNT, materialCacheTtlMs: 60_000 } });
  const { keyId } = await createKey(keys, { keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', description: '', tags: [] }, ROOT);
  return { keys, keyId };
}

/** The call, allowed by an authorizer that allows everything at once. */
async function call(keys: KeyService, operation: string, body: Record<string, unknown>): Promise<KmsOutcome> {
  return handleKmsRequest(keys, `TrentService.${operation}`, Buffer.from(JSON.stringify(body)), ROOT, () => undefined, log);
}

const isZero = (b: Buffer): boolean => b.every((x) => x === 0);
/** The body's member, decoded, from a JSON object or text body. */
const member = (o: KmsOutcome, name: string): Buffer => Buffer.from((typeof o.body === 'string' ? JSON.parse(o.body) : o.body)[name] as string, 'base64');

describe('KMS DryRun: the plaintexts the operation made are zeroed', () => {
  it('GenerateDataKey: the data key', async (t) => {
    const { keys, keyId } = await setup();
    // 57 bytes: a length nothing else on the way allocates, drawn from the random pool (allocUnsafeSlow).
    const made = t.mock.method(Buffer, 'allocUnsafeSlow');
    const dataKeys = (): Buffer[] => made.mock.calls.filter((c) => c.arguments[0] === 57).map((c) => c.result as Buffer);
    const real = await call(keys, 'GenerateDataKey', { KeyId: keyId, NumberOfBytes: 57 });
    assert.equal(real.status, 200);
    assert.deepEqual(dataKeys(), [member(real, 'Plaintext')], 'the captured buffer is the data key the call returns');
    made.mock.resetCalls();
    const dry = await call(keys, 'GenerateDataKey', { KeyId: keyId, NumberOfBytes: 57, DryRun: true });
    assert.equal(dry.error?.code, 'DryRunOperationException');
    assert.equal(dataKeys().length, 1, 'the dry run made a data key');
    assert.ok(isZero(dataKeys()[0]!), 'and zeroed it');
  });

  it('Decrypt: the plaintext', async (t) => {
    const { keys, keyId } = await setup();
    const secret = Buffer.from('a plaintext of forty-one bytes, not zero!');
    const encrypted = await call(keys, 'Encrypt', { KeyId: keyId, Plaintext: secret.toString('base64') });
    const blob = member(encrypted, 'CiphertextBlob').toString('base64');
    // The plaintext buffer is made by node:crypto's update (fallback) or, with the native
    // addon, allocated by openBlob (allocUnsafeSlow) and filled in C: both are watched.
    const decipher = Object.getPrototypeOf(createDecipheriv('aes-256-gcm', Buffer.alloc(32), Buffer.alloc(12))) as { update: (...a: unknown[]) => unknown };
    const opened = t.mock.method(decipher, 'update');
    const made = t.mock.method(Buffer, 'allocUnsafeSlow');
    const plaintexts = (): Buffer[] =>
      [...opened.mock.calls, ...made.mock.calls].map((c) => c.result as Buffer).filter((b) => b.length === secret.length);
    const real = await call(keys, 'Decrypt', { CiphertextBlob: blob });
    assert.equal(real.status, 200);
    assert.deepEqual(plaintexts(), [secret], 'the captured buffer is the plaintext the call returns');
    opened.mock.resetCalls();
    made.mock.resetCalls();
    const dry = await call(keys, 'Decrypt', { CiphertextBlob: blob, DryRun: true });
    assert.equal(dry.error?.code, 'DryRunOperationException');
    assert.equal(plaintexts().length, 1, 'the dry run decrypted');
    assert.ok(isZero(plaintexts()[0]!), 'and zeroed the plaintext');
  });

  it("GenerateDataKeyPair: the private key's copy in the result", async () => {
    const { keys, keyId } = await setup();
    // PKCS#8 DER of a P-256 private key begins so; the result's copy is made by Buffer.from.
    const prefix = Buffer.from('308187020100301306072a8648ce3d0201', 'hex');
    const from = Buffer.from.bind(Buffer) as (...a: unknown[]) => unknown;
    const copies: Buffer[] = [];
    const spy = mock.method(Buffer, 'from', (...a: unknown[]) => {
      const out = from(...a);
      if (Buffer.isBuffer(a[0]) && Buffer.isBuffer(out) && out.subarray(0, prefix.length).equals(prefix)) copies.push(out);
      return out;
    });
    try {
      const real = await call(keys, 'GenerateDataKeyPair', { KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256' });
      assert.equal(real.status, 200);
      assert.deepEqual(copies, [member(real, 'PrivateKeyPlaintext')], 'the captured buffer is the private key the call returns');
      copies.length = 0;
      const dry = await call(keys, 'GenerateDataKeyPair', { KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256', DryRun: true });
      assert.equal(dry.error?.code, 'DryRunOperationException');
      assert.equal(copies.length, 1, 'the dry run made a key pair');
      assert.ok(isZero(copies[0]!), 'and zeroed its private key');
    } finally {
      spy.mock.restore();
    }
  });

  it('a route taking DryRun that changes something (not read-only) checks through checkDryRun: its operation never runs', () => {
    const changing = Object.entries(KMS_ROUTES).filter(([, r]) => r.takesDryRun === true && !r.readOnly);
    assert.deepEqual(changing.map(([name]) => name).sort(), ['CreateGrant', 'RetireGrant', 'RevokeGrant']);
    for (const [name, r] of changing) assert.equal(typeof r.checkDryRun, 'function', name);
  });
});
