import { CipherlakeError } from '../common/errors.js';

/**
 * An S3 error raised by the S3 part; `s3/wire/error-codes.ts` maps each class to its S3
 * code and status. Messages are safe for the client: never key bytes, never plaintext.
 */
export abstract class S3Error extends CipherlakeError {
  readonly userError: boolean = true;
}

/** The bucket does not exist. */
export class NoSuchBucketError extends S3Error {}
/** The object does not exist. */
export class NoSuchKeyError extends S3Error {}
/** The version a request named does not exist (here: any but "null", the one version an object has). */
export class NoSuchVersionError extends S3Error {}
/** The multipart upload does not exist (never created, aborted or completed). */
export class NoSuchUploadError extends S3Error {}
/** CompleteMultipartUpload names a part that was not uploaded, or with another ETag. */
export class InvalidPartError extends S3Error {}
/** CompleteMultipartUpload lists parts out of ascending order. */
export class InvalidPartOrderError extends S3Error {}
/** A part other than the last is smaller than 5 MiB. */
export class EntityTooSmallError extends S3Error {}
/** GET/HEAD partNumber beyond the object's parts. */
export class InvalidPartNumberError extends S3Error {}
/** CreateBucket for a bucket the caller already owns. */
export class BucketAlreadyOwnedByYouError extends S3Error {}
/** DeleteBucket on a bucket that still holds objects. */
export class BucketNotEmptyError extends S3Error {}
/** The bucket name breaks the naming rules. */
export class InvalidBucketNameError extends S3Error {}
/** A new object's key is longer than S3's 1024 bytes of UTF-8. */
export class KeyTooLongError extends S3Error {}
/** The x-amz-meta-* headers of a write exceed S3's 2 KB. */
export class MetadataTooLargeError extends S3Error {}
/** A parameter or header has a bad value. */
export class InvalidArgumentError extends S3Error {}
/** CreateBucket's LocationConstraint names no region S3 knows. */
export class InvalidLocationConstraintError extends S3Error {}
/** CreateBucket at a regional endpoint (any region but us-east-1) names another region, or none. */
export class IllegalLocationConstraintError extends S3Error {}
/** The request as a whole is not allowed (e.g. SSE-C over plain HTTP, self-copy without change). */
export class InvalidRequestError extends S3Error {}
/** The Range header does not overlap the object. */
export class InvalidRangeError extends S3Error {}
/** If-Match / If-Unmodified-Since failed (reads), or a conditional write's If-Match / If-None-Match. */
export class PreconditionFailedError extends S3Error {
  /** The header that did not hold, sent as S3's `<Condition>` element; undefined sends none. */
  readonly condition: string | undefined;

  constructor(message: string, options?: { cause?: unknown; condition?: string }) {
    super(message, options);
    this.condition = options?.condition;
  }
}
/** If-None-Match / If-Modified-Since matched: answered 304 with no body. */
export class NotModifiedError extends S3Error {}
/** The XML body is not well-formed or not the shape the operation expects. */
export class MalformedXmlError extends S3Error {}
/** Content-MD5 or an x-amz-checksum-* value does not match the body. */
export class BadDigestError extends S3Error {}
/** Content-MD5 is not a valid base64 MD5. */
export class InvalidDigestError extends S3Error {}
/** The body's SHA-256 differs from the signed x-amz-content-sha256. */
export class ContentSha256MismatchError extends S3Error {}
/** The body is larger than allowed. */
export class EntityTooLargeError extends S3Error {}
/** The body ended before its declared length, or its aws-chunked framing is broken. */
export class IncompleteBodyError extends S3Error {}
/** An aws-chunked upload's x-amz-decoded-content-length is not a decimal byte count (S3 answers 411 for it). */
export class MissingContentLengthError extends S3Error {}
/** A known S3 feature we do not implement (yet). */
export class NotImplementedError extends S3Error {}
/** The method is not allowed on this resource. */
export class MethodNotAllowedError extends S3Error {}
/** An object tag set breaks S3's rules (count, lengths, duplicate or reserved keys). */
export class InvalidTagError extends S3Error {}
/** Access refused (anonymous request, or a policy said no). */
export class AccessDeniedError extends S3Error {}
/** PutBucketPolicy with a document S3 refuses (grammar, size, a resource outside the bucket). */
export class MalformedPolicyError extends S3Error {}
/** GetBucketPolicy (or its status) on a bucket without a policy. */
export class NoSuchBucketPolicyError extends S3Error {}
/** GetBucketCors on a bucket without a CORS configuration. */
export class NoSuchCorsConfigurationError extends S3Error {}
/**
 * A CORS preflight (OPTIONS) that no rule of the bucket allows, or on a bucket with no CORS
 * configuration (S3's AccessForbidden, "CORSResponse: ..."); the message says which. S3's
 * answer also names the method asked for and whether an object or a bucket was addressed.
 */
export class CorsForbiddenError extends S3Error {
  /** S3's `<Method>` and `<ResourceType>` (OBJECT or BUCKET) elements of the answer; empty when not known. */
  readonly details: ReadonlyArray<readonly [string, string]>;

  constructor(message: string, options?: { cause?: unknown; method?: string; resourceType?: 'OBJECT' | 'BUCKET' }) {
    super(message, options);
    const details: Array<readonly [string, string]> = [];
    if (options?.method !== undefined) details.push(['Method', options.method]);
    if (options?.resourceType !== undefined) details.push(['ResourceType', options.resourceType]);
    this.details = details;
  }
}
/** A CORS preflight without its Origin, or with a missing or unknown Access-Control-Request-Method (S3's BadRequest). */
export class BadRequestError extends S3Error {}
/** GetPublicAccessBlock on a bucket without one. */
export class NoSuchPublicAccessBlockConfigurationError extends S3Error {}
/** A Put*Acl names its ACL both in headers (x-amz-acl, x-amz-grant-*) and in a body. */
export class UnexpectedContentError extends S3Error {}
/** A Put*Acl names its ACL neither in headers nor in a body. */
export class MissingSecurityHeaderError extends S3Error {}
/** GetBucketTagging on a bucket without tags. */
export class NoSuchTagSetError extends S3Error {}
/** SSE-C: the key given does not open the object. */
export class SseCustomerKeyMismatchError extends S3Error {}
/** SSE-C: the object needs its customer key and none was given. */
export class SseCustomerKeyMissingError extends S3Error {}
/**
 * An ACL other than the bucket owner's full control, on a bucket with ACLs disabled (every
 * bucket here: S3's Bucket owner enforced, its default since 2023).
 */
export class AccessControlListNotSupportedError extends S3Error {}
/** CreateBucket with an ACL that grants anyone but the owner, which Bucket owner enforced forbids. */
export class InvalidBucketAclWithObjectOwnershipError extends S3Error {}
/** x-amz-storage-class names no storage class S3 knows (PutObject, CopyObject, CreateMultipartUpload). */
export class InvalidStorageClassError extends S3Error {}
/** An SSE algorithm S3 does not know. */
export class InvalidEncryptionAlgorithmError extends S3Error {}
/** The stored object failed authentication (tampered or corrupted); never returns its bytes. */
export class ObjectCorruptedError extends S3Error {
  override readonly userError = false;
}
/** A POST Object policy that is not a policy: bad base64 or JSON, a missing element, an unknown condition. */
export class InvalidPolicyDocumentError extends S3Error {}
/** A POST Object body that is not well-formed multipart/form-data. */
export class MalformedPostRequestError extends S3Error {}
/** A POST Object form whose fields before the file exceed S3's 20 KB; S3's answer states the bound. */
export class MaxPostPreDataLengthExceededError extends S3Error {
  /** S3's `<MaxPostPreDataLengthBytes>` element. */
  readonly details: ReadonlyArray<readonly [string, string]>;

  constructor(message: string, maxBytes: number) {
    super(message);
    this.details = [['MaxPostPreDataLengthBytes', String(maxBytes)]];
  }
}
/** A POST Object form lacks a field S3 requires (the key, a signature field, the file); S3's InvalidArgument names it. */
export class PostFieldError extends S3Error {
  /** S3's `<ArgumentName>` and `<ArgumentValue>` elements (the value never a secret: absent fields, a file count). */
  readonly details: ReadonlyArray<readonly [string, string]>;

  constructor(message: string, argument: { readonly name: string; readonly value: string }) {
    super(message);
    this.details = [['ArgumentName', argument.name], ['ArgumentValue', argument.value]];
  }
}
