import { SecretBytes } from '../crypto/secret-bytes.js';
import { decrypt, ensureAwsManagedKey, generateDataKeyWithoutPlaintext, keyArn, kmsErrors, toKmsWireError, type CallContext, type KeyRecord, type KeyService, type OnBehalfKmsCall } from '../kms/index.js';
import { Ec2KmsKeyNotFoundError, Ec2KmsKeyStateError } from './errors.js';
import { XTS_KEY_BYTES } from './sector-cipher.js';
import type { WrappedDataKey } from './volume-store.js';

/** The AWS managed key EBS uses when no other key is named. */
export const AWS_MANAGED_EBS_KEY = 'alias/aws/ebs';
/** The encryption context key EBS binds each data key to. */
export const EBS_CONTEXT_KEY = 'aws:ebs:id';

/** A KMS call made on a caller's behalf (`viaService` ec2.amazonaws.com), for the audit trail (never any key material). */
export type VolumeKmsCall = OnBehalfKmsCall<'GenerateDataKeyWithoutPlaintext' | 'Decrypt'>;

/** What VolumeKeys needs: the in-process KMS, optional on-behalf authorization and an audit hook. */
export interface VolumeKeysDeps {
  readonly keys: KeyService;
  readonly region: string;
  /** Authorizes the caller (with kms:ViaService ec2.<region>.amazonaws.com) for the KMS action. */
  readonly authorizeOnBehalf?: (call: CallContext, action: string, keyIdentifier: string, context: Record<string, string>) => Promise<void>;
  /** Told of every KMS call, allowed or refused; awaited, so an unrecorded call never proceeds. */
  readonly recordKmsCall?: (event: VolumeKmsCall) => Promise<void>;
}

/**
 * Volume data keys through KMS, as EBS does it: GenerateDataKeyWithoutPlaintext (64
 * bytes for AES-256-XTS) with the encryption context `aws:ebs:id = <volume or snapshot
 * id>` when a volume is made, Decrypt when its key is needed. KMS failures surface as
 * EC2's InvalidKMSKey.* errors. Never logs or stores plaintext keys.
 */
export class VolumeKeys {
  constructor(private readonly deps: VolumeKeysDeps) {}

  /**
   * The ARN of the key a request names (id, ARN, alias or alias ARN), or of alias/aws/ebs
   * (created on first use) when `keyId` is undefined. Raises Ec2KmsKeyNotFoundError.
   */
  async resolveKeyArn(keyId: string | undefined): Promise<string> {
    try {
      if (keyId === undefined || keyId === AWS_MANAGED_EBS_KEY) {
        return keyArn(await ensureAwsManagedKey(this.deps.keys, AWS_MANAGED_EBS_KEY));
      }
      return keyArn(await this.deps.keys.resolve(keyId));
    } catch (err) {
      throw translate(err, true);
    }
  }

  /** A new wrapped 64-byte data key under `kmsKeyArn`, bound to `contextId`. */
  async generate(call: CallContext, kmsKeyArn: string, contextId: string): Promise<WrappedDataKey> {
    const encryptionContext = { [EBS_CONTEXT_KEY]: contextId };
    return this.#kms(
      call,
      'GenerateDataKeyWithoutPlaintext',
      kmsKeyArn,
      { keyId: kmsKeyArn, encryptionContext, numberOfBytes: XTS_KEY_BYTES },
      () => generateDataKeyWithoutPlaintext(this.deps.keys, { keyId: kmsKeyArn, numberOfBytes: XTS_KEY_BYTES, encryptionContext }),
      (out) => ({ kmsKeyArn: keyArn(out.key), blob: out.ciphertextBlob, contextId }),
    );
  }

  /** Unwraps a data key through KMS Decrypt; the caller owns (and disposes) the result. */
  async unwrap(call: CallContext, dataKey: WrappedDataKey): Promise<SecretBytes> {
    const encryptionContext = { [EBS_CONTEXT_KEY]: dataKey.contextId };
    return this.#kms(
      call,
      'Decrypt',
      dataKey.kmsKeyArn,
      { encryptionContext, encryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
      () => decrypt(this.deps.keys, { ciphertextBlob: dataKey.blob, encryptionContext }),
      (out) => SecretBytes.adopt(out.plaintext),
    );
  }

  /**
   * Runs `work` (a KMS operation) as `call`: authorized first, then recorded, with the
   * material version it used when it succeeded. Returns its result as `finish` shapes it;
   * KMS failures surface as EC2's errors (translate), anything else unchanged.
   */
  async #kms<R extends KmsResult, T>(
    call: CallContext,
    operation: VolumeKmsCall['operation'],
    keyIdentifier: string,
    requestParameters: Record<string, unknown>,
    work: () => Promise<R>,
    finish: (r: R) => T,
  ): Promise<T> {
    const context = (requestParameters.encryptionContext ?? {}) as Record<string, string>;
    // kms:ViaService carries the regional name (what key policies compare); the audit
    // record's invokedBy carries the service's plain name, as CloudTrail writes it.
    const onBehalf: CallContext = { ...call, viaService: `ec2.${this.deps.region}.amazonaws.com` };
    const audited: CallContext = { ...call, viaService: 'ec2.amazonaws.com' };
    try {
      await this.deps.authorizeOnBehalf?.(onBehalf, `kms:${operation}`, keyIdentifier, context);
      const done = await work();
      const result = finish(done);
      await this.deps.recordKmsCall?.({ operation, keyIdentifier, call: audited, requestParameters, material: usedMaterial(done) });
      return result;
    } catch (err) {
      const wire = toKmsWireError(err);
      await this.deps.recordKmsCall?.({ operation, keyIdentifier, call: audited, requestParameters, errorCode: wire.code, errorMessage: wire.message });
      throw translate(err, false);
    }
  }
}

/** What the KMS operations volumes call answer: the key, and the material version that sealed or opened. */
interface KmsResult {
  readonly key: KeyRecord;
  readonly keyVersion: number;
}

/** The material version a successful call used, as the KMS operation reports it (it sealed or opened with it). */
function usedMaterial(r: KmsResult): { readonly keyId: string; readonly version: number } {
  return { keyId: r.key.keyId, version: r.keyVersion };
}

/** KMS errors as EC2 reports them; anything else passes through unchanged. */
function translate(err: unknown, naming: boolean): unknown {
  if (err instanceof kmsErrors.NotFoundError && naming) return new Ec2KmsKeyNotFoundError('The specified KMS key does not exist.', { cause: err });
  if (
    err instanceof kmsErrors.NotFoundError || err instanceof kmsErrors.DisabledError || err instanceof kmsErrors.KeyInvalidStateError ||
    err instanceof kmsErrors.AccessDeniedError || err instanceof kmsErrors.InvalidCiphertextError || err instanceof kmsErrors.IncorrectKeyError ||
    err instanceof kmsErrors.InvalidKeyUsageError
  ) {
    return new Ec2KmsKeyStateError('The KMS key provided is in an incorrect state', { cause: err });
  }
  if (err instanceof kmsErrors.ValidationError || err instanceof kmsErrors.InvalidArnError) {
    return new Ec2KmsKeyNotFoundError('The specified KMS key does not exist.', { cause: err });
  }
  return err;
}
