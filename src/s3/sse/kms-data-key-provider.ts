import { SecretBytes } from '../../crypto/index.js';
import { decrypt, ensureAwsManagedKey, generateDataKey, keyArn, readBlobHeader, toKmsWireError, type CallContext, type KeyRecord, type KeyService, type OnBehalfKmsCall } from '../../kms/index.js';
import { AWS_MANAGED_S3_KEY, type DataKey, type DataKeyProvider, type KmsContext } from './data-key-provider.js';

/**
 * The key id behind `alias/aws/s3`, per key service, once known. An `alias/aws/*` alias can
 * be neither updated nor deleted (KMS refuses both), so the id never changes: caching it
 * spares every SSE-S3 and default SSE-KMS write an alias lookup and a key resolution. Only
 * the id is kept: the key's state is still checked by each GenerateDataKey.
 */
const awsManagedS3KeyIds = new WeakMap<KeyService, string>();

async function awsManagedS3KeyId(keys: KeyService): Promise<string> {
  const known = awsManagedS3KeyIds.get(keys);
  if (known !== undefined) return known;
  const { keyId } = await ensureAwsManagedKey(keys, AWS_MANAGED_S3_KEY);
  awsManagedS3KeyIds.set(keys, keyId);
  return keyId;
}

/** A KMS call S3 made on a caller's behalf (`viaService` s3.amazonaws.com), for the audit trail (never any key material). */
export type S3KmsCall = OnBehalfKmsCall<'GenerateDataKey' | 'Decrypt'>;

/** How S3 acts in KMS for a caller: authorization (KmsAccess.authorizeOnBehalf) and an audit hook. */
export interface KmsOnBehalf {
  /** The region in kms:ViaService (`s3.<region>.amazonaws.com`). */
  readonly region: string;
  /** Raises KMS's AccessDeniedError (or NotFoundError) when the caller may not; never performs the operation. */
  authorize(call: CallContext, action: string, keyIdentifier: string, context: KmsContext): Promise<void>;
  /** Told of every call, allowed or refused; awaited, so an unrecorded call never proceeds. */
  record?(event: S3KmsCall): Promise<void>;
}

/**
 * DataKeyProvider backed by the in-process KMS. `alias/aws/s3` is created on first use,
 * as AWS does. Unbound (S3 acting as itself, for SSE-S3) it authorizes nothing; bound to
 * a caller with `forCaller`, every call is first authorized as that caller with
 * kms:ViaService set, as AWS KMS does for SSE-KMS, and audited as a KMS event invoked by
 * S3. Raises the KMS part's errors unchanged; plaintext keys are handed over as
 * SecretBytes (the caller disposes) and never logged.
 */
export class KmsDataKeyProvider implements DataKeyProvider {
  #cacheScope: string | undefined;

  constructor(
    private readonly keys: KeyService,
    private readonly caller?: { readonly call: CallContext; readonly onBehalf: KmsOnBehalf },
  ) {}

  // Built on first use: the handler makes a provider for every request, and only bucket keys read it.
  get cacheScope(): string | undefined {
    if (this.caller === undefined) return undefined;
    const c = this.caller.call;
    this.#cacheScope ??= JSON.stringify([c.principal.arn, c.sourceIp, c.secureTransport, c.tlsVersion ?? '', c.vpcEndpointId ?? '']);
    return this.#cacheScope;
  }

  /** A provider that acts for `call` (see the class comment). */
  forCaller(call: CallContext, onBehalf: KmsOnBehalf): KmsDataKeyProvider {
    return new KmsDataKeyProvider(this.keys, { call, onBehalf });
  }

  async generateDataKey(keyId: string, context: KmsContext): Promise<DataKey> {
    const id = keyId === AWS_MANAGED_S3_KEY ? await awsManagedS3KeyId(this.keys) : keyId;
    // Keys in canonical (sorted) order: the audit encoder then skips sorting them, once per call.
    const params = { encryptionContext: { ...context }, keyId, keySpec: 'AES_256' };
    return this.#onBehalf(
      'GenerateDataKey',
      () => id,
      context,
      params,
      () => generateDataKey(this.keys, { keyId: id, keySpec: 'AES_256', encryptionContext: { ...context } }),
      (r) => ({ keyArn: keyArn(r.key), plaintext: SecretBytes.adopt(r.plaintext), blob: r.ciphertextBlob }),
    );
  }

  async decrypt(blob: Buffer, context: KmsContext): Promise<{ readonly keyArn: string; readonly plaintext: SecretBytes }> {
    const params = { encryptionAlgorithm: 'SYMMETRIC_DEFAULT', encryptionContext: { ...context } };
    return this.#onBehalf(
      'Decrypt',
      () => readBlobHeader(blob).keyId,
      context,
      params,
      () => decrypt(this.keys, { ciphertextBlob: blob, encryptionContext: { ...context } }),
      (r) => ({ keyArn: keyArn(r.key), plaintext: SecretBytes.adopt(r.plaintext) }),
    );
  }

  /** The ARN of a KMS key named by id, ARN or alias (for response headers); raises NotFoundError. */
  async resolveArn(keyId: string): Promise<string> {
    return keyArn(await this.keys.resolve(keyId));
  }

  /**
   * Runs `work` (a KMS operation) as the bound caller: authorized first, then recorded, with
   * the material version it used when it succeeded; unbound, `work` just runs. Returns its
   * result as `finish` shapes it; raises what authorization, `work` or the record raise. A
   * plaintext key whose record could not be committed is never handed over: it is zeroed
   * before the error is raised, not left in memory for the GC.
   */
  async #onBehalf<R extends KmsResult, T extends { readonly keyArn: string; readonly plaintext: SecretBytes }>(
    operation: S3KmsCall['operation'],
    keyOf: () => string,
    context: KmsContext,
    requestParameters: Record<string, unknown>,
    work: () => Promise<R>,
    finish: (r: R) => T,
  ): Promise<T> {
    if (this.caller === undefined) return finish(await work());
    const { call, onBehalf } = this.caller;
    // kms:ViaService carries the regional name (what key policies compare); the audit
    // record's invokedBy carries the service's plain name, as CloudTrail writes it.
    // Object.assign, not `{ ...call, viaService }`: V8 (Node 20) takes a slow path for a literal
    // that adds properties after a leading spread (≈ 0.8 µs each, twice per KMS call).
    const audited: CallContext = Object.assign({}, call, { viaService: 's3.amazonaws.com' });
    let keyIdentifier = '';
    let result: T | undefined;
    try {
      keyIdentifier = keyOf();
      await onBehalf.authorize(Object.assign({}, call, { viaService: `s3.${onBehalf.region}.amazonaws.com` }), `kms:${operation}`, keyIdentifier, context);
      const done = await work();
      result = finish(done);
      await onBehalf.record?.({ operation, keyIdentifier: result.keyArn, call: audited, requestParameters, material: usedMaterial(done) });
      return result;
    } catch (err) {
      result?.plaintext.dispose();
      const wire = toKmsWireError(err);
      await onBehalf.record?.({ operation, keyIdentifier, call: audited, requestParameters, errorCode: wire.code, errorMessage: wire.message });
      throw err;
    }
  }
}

/** What the KMS operations S3 calls answer: the key, and the material version that sealed or opened. */
interface KmsResult {
  readonly key: KeyRecord;
  readonly keyVersion: number;
}

/** The material version a successful call used, as the KMS operation reports it (it sealed or opened with it). */
function usedMaterial(r: KmsResult): { readonly keyId: string; readonly version: number } {
  return { keyId: r.key.keyId, version: r.keyVersion };
}
