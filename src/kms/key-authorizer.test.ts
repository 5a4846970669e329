import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../common/clock.js';
import { SecretBytes } from '../crypto/secret-bytes.js';
import { AccessControl } from '../iam/access-control.js';
import { openSqlite } from '../store/sqlite/database.js';
import { SqliteKeyStore } from '../store/sqlite/key-store.js';
import { AccessDeniedError } from './errors.js';
import { createKmsAccess, type KmsAccess } from './key-authorizer.js';
import { KeyService } from './keys/key-service.js';
import type { CallContext } from './kms-context.js';
import { createKey } from './operations/create-key.js';
import { putKeyPolicy } from './operations/key-policy.js';
import { LocalRootKeyProvider } from './root-key/local-root-key.js';

const ACCOUNT = '000000000000';
const ROOT = { principal: { type: 'Root', accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, principalId: ACCOUNT }, sourceIp: '127.0.0.1', secureTransport: true } as unknown as CallContext;
const ROOT_PLAIN_HTTP = { ...ROOT, secureTransport: false } as CallContext;
const log = pino({ level: 'silent' });

/** Two KeyServices over one key store: `warm` answers from its caches, `cold` (a fresh service per call) never does. */
function setup(): { warm: KeyService; warmAccess: KmsAccess; coldAccess: () => KmsAccess } {
  const clock = new ManualClock();
  const store = new SqliteKeyStore(openSqlite(':memory:'));
  const rootKey = new LocalRootKeyProvider('file', SecretBytes.random(32));
  const service = (): KeyService => new KeyService({ store, rootKey, clock, settings: { region: 'us-east-1', accountId: ACCOUNT, materialCacheTtlMs: 60_000 } });
  const access = new AccessControl({ identity: { policiesFor: async () => [] }, clock, log });
  const warm = service();
  return { warm, warmAccess: createKmsAccess({ keys: warm, access, log }), coldAccess: () => createKmsAccess({ keys: service(), access, log }) };
}

/** 'allowed' or 'denied' (AccessDeniedError); anything else fails the test. */
async function outcome(access: KmsAccess, call: CallContext, action: string, keyId: string, viaBlob: boolean): Promise<string> {
  try {
    await (viaBlob ? access.authorize(call, action, undefined, { ciphertextKeyId: keyId }) : access.authorize(call, action, keyId));
    return 'allowed';
  } catch (err) {
    if (err instanceof AccessDeniedError) return 'denied';
    throw err;
  }
}

const ALLOW_ROOT = { Sid: 'root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' };

describe('createKmsAccess: the root short-cut and cached keys give the uncached decision', () => {
  it('a key policy Deny put after the record was cached refuses the root at once, by key id and through a blob; the cold path agrees', async () => {
    const { warm, warmAccess, coldAccess } = setup();
    const key = await createKey(warm, { keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', description: '', tags: [] }, ROOT);
    await warm.resolve(key.keyId);
    assert.notEqual(warm.resolveCached(key.keyId), undefined, 'the record is cached: the short-cut path is the one under test');
    for (const viaBlob of [false, true]) {
      assert.equal(await outcome(warmAccess, ROOT, 'kms:Decrypt', key.keyId, viaBlob), 'allowed');
    }
    // The hot path: allowed at once, no promise (handleKmsRequest then operates without an await).
    assert.equal(warmAccess.authorize(ROOT, 'kms:Decrypt', key.keyId), undefined);
    assert.equal(warmAccess.authorize(ROOT, 'kms:Decrypt', undefined, { ciphertextKeyId: key.keyId }), undefined);

    const deny = { Sid: 'no-decrypt', Effect: 'Deny', Principal: '*', Action: 'kms:Decrypt', Resource: '*' };
    await putKeyPolicy(warm, key.keyId, JSON.stringify({ Version: '2012-10-17', Statement: [ALLOW_ROOT, deny] }));
    await warm.resolve(key.keyId); // cached again, with the new policy
    // Denied: never undefined (that would mean allowed), a promise that rejects.
    const decided = warmAccess.authorize(ROOT, 'kms:Decrypt', key.keyId);
    assert.ok(decided instanceof Promise);
    await assert.rejects(decided, AccessDeniedError);
    for (const viaBlob of [false, true]) {
      for (const [action, expected] of [['kms:Decrypt', 'denied'], ['kms:Encrypt', 'allowed']] as const) {
        assert.equal(await outcome(warmAccess, ROOT, action, key.keyId, viaBlob), expected, `${action} via ${viaBlob ? 'blob' : 'key id'}`);
        assert.equal(await outcome(coldAccess(), ROOT, action, key.keyId, viaBlob), expected, `${action} via ${viaBlob ? 'blob' : 'key id'}, uncached`);
      }
    }
  });

  it('a conditional Deny refuses the root only where it applies (plain HTTP), cached or not', async () => {
    const { warm, warmAccess, coldAccess } = setup();
    const tlsOnly = { Sid: 'tls-only', Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } };
    const key = await createKey(warm, { keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', description: '', tags: [], policy: JSON.stringify({ Version: '2012-10-17', Statement: [ALLOW_ROOT, tlsOnly] }) }, ROOT);
    await warm.resolve(key.keyId);
    for (const viaBlob of [false, true]) {
      for (const access of [warmAccess, coldAccess()]) {
        assert.equal(await outcome(access, ROOT_PLAIN_HTTP, 'kms:Decrypt', key.keyId, viaBlob), 'denied');
        assert.equal(await outcome(access, ROOT, 'kms:Decrypt', key.keyId, viaBlob), 'allowed');
      }
    }
  });
});
