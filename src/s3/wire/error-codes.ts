import { AuthenticationError, CredentialScopeRegionError, PostCredentialError, type AuthFailureKind } from '../../iam/index.js';
import { kmsErrors } from '../../kms/index.js';
import { DecryptionError } from '../../crypto/index.js';
import * as s3Errors from '../errors.js';

/** An error as S3 puts it on the wire. */
export interface S3WireError {
  readonly code: string;
  readonly status: number;
  readonly message: string;
  /** S3's `<Condition>` element of a 412: the precondition header that did not hold. */
  readonly condition?: string;
  /**
   * S3's `<Region>` element (and x-amz-bucket-region header) of a request signed for another
   * region: the region to sign for, which SDKs and the CLI read to retry there.
   */
  readonly region?: string;
  /** Elements S3 adds after the message for some errors (a refused CORS preflight's `<Method>` and `<ResourceType>`). */
  readonly details?: ReadonlyArray<readonly [string, string]>;
}

type Entry = { readonly code: string; readonly status: number; readonly message: string };
type S3ErrorClassName = Exclude<keyof typeof s3Errors, 'S3Error'>;

/**
 * The one table from S3 error class to S3 code and status. Typed with `satisfies`, so a
 * class without an entry (or a misspelt one) fails to compile. `message` is the default
 * when the raiser gave none. https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 */
export const S3_ERROR_CODES = {
  NoSuchBucketError: { code: 'NoSuchBucket', status: 404, message: 'The specified bucket does not exist' },
  NoSuchKeyError: { code: 'NoSuchKey', status: 404, message: 'The specified key does not exist.' },
  NoSuchVersionError: { code: 'NoSuchVersion', status: 404, message: 'The specified version does not exist.' },
  NoSuchUploadError: {
    code: 'NoSuchUpload',
    status: 404,
    message: 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
  },
  InvalidPartError: {
    code: 'InvalidPart',
    status: 400,
    message: "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
  },
  InvalidPartOrderError: { code: 'InvalidPartOrder', status: 400, message: 'The list of parts was not in ascending order. Parts must be ordered by part number.' },
  EntityTooSmallError: { code: 'EntityTooSmall', status: 400, message: 'Your proposed upload is smaller than the minimum allowed object size.' },
  InvalidPartNumberError: { code: 'InvalidPartNumber', status: 416, message: 'The requested partnumber is not satisfiable' },
  BucketAlreadyOwnedByYouError: { code: 'BucketAlreadyOwnedByYou', status: 409, message: 'Your previous request to create the named bucket succeeded and you already own it.' },
  BucketNotEmptyError: { code: 'BucketNotEmpty', status: 409, message: 'The bucket you tried to delete is not empty' },
  InvalidBucketNameError: { code: 'InvalidBucketName', status: 400, message: 'The specified bucket is not valid.' },
  KeyTooLongError: { code: 'KeyTooLongError', status: 400, message: 'Your key is too long' },
  MetadataTooLargeError: { code: 'MetadataTooLarge', status: 400, message: 'Your metadata headers exceed the maximum allowed metadata size.' },
  InvalidArgumentError: { code: 'InvalidArgument', status: 400, message: 'Invalid Argument' },
  InvalidLocationConstraintError: { code: 'InvalidLocationConstraint', status: 400, message: 'The specified location-constraint is not valid' },
  IllegalLocationConstraintError: { code: 'IllegalLocationConstraintException', status: 400, message: 'The location constraint is incompatible for the region specific endpoint this request was sent to.' },
  InvalidRequestError: { code: 'InvalidRequest', status: 400, message: 'Invalid Request' },
  InvalidRangeError: { code: 'InvalidRange', status: 416, message: 'The requested range is not satisfiable' },
  PreconditionFailedError: { code: 'PreconditionFailed', status: 412, message: 'At least one of the pre-conditions you specified did not hold' },
  NotModifiedError: { code: 'NotModified', status: 304, message: 'Not Modified' },
  MalformedXmlError: { code: 'MalformedXML', status: 400, message: 'The XML you provided was not well-formed or did not validate against our published schema' },
  BadDigestError: { code: 'BadDigest', status: 400, message: 'The Content-MD5 you specified did not match what we received.' },
  InvalidDigestError: { code: 'InvalidDigest', status: 400, message: 'The Content-MD5 you specified was invalid.' },
  ContentSha256MismatchError: { code: 'XAmzContentSHA256Mismatch', status: 400, message: "The provided 'x-amz-content-sha256' header does not match what was computed." },
  EntityTooLargeError: { code: 'EntityTooLarge', status: 400, message: 'Your proposed upload exceeds the maximum allowed size' },
  IncompleteBodyError: { code: 'IncompleteBody', status: 400, message: 'You did not provide the number of bytes specified by the Content-Length HTTP header.' },
  MissingContentLengthError: { code: 'MissingContentLength', status: 411, message: 'You must provide the Content-Length HTTP header.' },
  NotImplementedError: { code: 'NotImplemented', status: 501, message: 'A header you provided implies functionality that is not implemented.' },
  MethodNotAllowedError: { code: 'MethodNotAllowed', status: 405, message: 'The specified method is not allowed against this resource.' },
  InvalidTagError: { code: 'InvalidTag', status: 400, message: 'The TagKey or TagValue you have provided is invalid.' },
  AccessDeniedError: { code: 'AccessDenied', status: 403, message: 'Access Denied' },
  MalformedPolicyError: { code: 'MalformedPolicy', status: 400, message: "Policies must be valid JSON and the first byte must be '{'" },
  NoSuchBucketPolicyError: { code: 'NoSuchBucketPolicy', status: 404, message: 'The bucket policy does not exist' },
  NoSuchCorsConfigurationError: { code: 'NoSuchCORSConfiguration', status: 404, message: 'The CORS configuration does not exist' },
  CorsForbiddenError: {
    code: 'AccessForbidden',
    status: 403,
    // S3's words, its misspelling ("evalution") included: clients and scripts match on them.
    message:
      "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
  },
  BadRequestError: { code: 'BadRequest', status: 400, message: 'Insufficient information. Origin request header needed.' },
  NoSuchPublicAccessBlockConfigurationError: { code: 'NoSuchPublicAccessBlockConfiguration', status: 404, message: 'The public access block configuration was not found' },
  UnexpectedContentError: { code: 'UnexpectedContent', status: 400, message: 'This request does not support content' },
  MissingSecurityHeaderError: { code: 'MissingSecurityHeader', status: 400, message: 'Your request was missing a required header' },
  NoSuchTagSetError: { code: 'NoSuchTagSet', status: 404, message: 'The TagSet does not exist' },
  SseCustomerKeyMismatchError: { code: 'AccessDenied', status: 403, message: 'Access Denied' },
  SseCustomerKeyMissingError: {
    code: 'InvalidRequest',
    status: 400,
    message: 'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.',
  },
  AccessControlListNotSupportedError: { code: 'AccessControlListNotSupported', status: 400, message: 'The bucket does not allow ACLs' },
  InvalidBucketAclWithObjectOwnershipError: {
    code: 'InvalidBucketAclWithObjectOwnership',
    status: 400,
    message: "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
  },
  InvalidStorageClassError: { code: 'InvalidStorageClass', status: 400, message: 'The storage class you specified is not valid' },
  InvalidEncryptionAlgorithmError: { code: 'InvalidEncryptionAlgorithmError', status: 400, message: 'The encryption request you specified is not valid. Supported value: AES256.' },
  InvalidPolicyDocumentError: { code: 'InvalidPolicyDocument', status: 400, message: 'The content of the form does not meet the conditions specified in the policy document.' },
  MalformedPostRequestError: { code: 'MalformedPOSTRequest', status: 400, message: 'The body of your POST request is not well-formed multipart/form-data.' },
  // S3's own spelling (sic), as captured in its answers.
  MaxPostPreDataLengthExceededError: { code: 'MaxPostPreDataLengthExceeded', status: 400, message: 'Your POST request fields preceeding the upload file was too large.' },
  PostFieldError: { code: 'InvalidArgument', status: 400, message: 'Invalid Argument' },
  ObjectCorruptedError: { code: 'InternalError', status: 500, message: 'We encountered an internal error. Please try again.' },
} as const satisfies Record<S3ErrorClassName, Entry>;

/** SigV4 failures as S3 names them (S3 differs from KMS here: presigned expiry is AccessDenied). */
export const S3_AUTH_ERROR_CODES = {
  MissingAuthentication: { code: 'AccessDenied', status: 403 },
  IncompleteSignature: { code: 'AuthorizationHeaderMalformed', status: 400 },
  UnknownAccessKey: { code: 'InvalidAccessKeyId', status: 403 },
  SignatureMismatch: { code: 'SignatureDoesNotMatch', status: 403 },
  RequestExpired: { code: 'RequestTimeTooSkewed', status: 403 },
  ContentHashMismatch: { code: 'XAmzContentSHA256Mismatch', status: 400 },
  InvalidToken: { code: 'InvalidToken', status: 400 },
} as const satisfies Record<AuthFailureKind, { code: string; status: number }>;

const INTERNAL: S3WireError = { code: 'InternalError', status: 500, message: 'We encountered an internal error. Please try again.' };

/**
 * Maps any error to the S3 wire error. Unknown errors (and internal ones) become
 * InternalError with a generic message; the caller logs the detail. Never throws.
 */
export function toS3WireError(err: unknown): S3WireError {
  if (err instanceof AuthenticationError) return authError(err);
  if (err instanceof s3Errors.S3Error) {
    const entry = S3_ERROR_CODES[err.name as S3ErrorClassName] as Entry | undefined;
    if (entry === undefined) return INTERNAL;
    const wire = { code: entry.code, status: entry.status, message: err.message !== '' ? err.message : entry.message };
    if (hasDetails(err)) return { ...wire, details: err.details };
    return err instanceof s3Errors.PreconditionFailedError && err.condition !== undefined ? { ...wire, condition: err.condition } : wire;
  }
  if (err instanceof DecryptionError) return INTERNAL;
  return kmsError(err) ?? INTERNAL;
}

/** The errors whose answer carries elements of their own after the message (S3WireError.details), with some to send. */
function hasDetails(err: s3Errors.S3Error): err is s3Errors.CorsForbiddenError | s3Errors.PostFieldError | s3Errors.MaxPostPreDataLengthExceededError {
  return (err instanceof s3Errors.CorsForbiddenError || err instanceof s3Errors.PostFieldError || err instanceof s3Errors.MaxPostPreDataLengthExceededError) && err.details.length > 0;
}

function authError(err: AuthenticationError): S3WireError {
  if (err instanceof CredentialScopeRegionError) return wrongRegionError(err);
  // A POST form's credential or date S3 cannot read: InvalidArgument, as its answers to forms show.
  if (err instanceof PostCredentialError) return { code: 'InvalidArgument', status: 400, message: err.message };
  if (err.kind === 'RequestExpired' && err.message.startsWith('Request ')) {
    // Presigned URL expired (or not yet valid): S3 answers AccessDenied.
    return { code: 'AccessDenied', status: 403, message: err.message };
  }
  if (err.kind === 'MissingAuthentication') return { code: 'AccessDenied', status: 403, message: 'Access Denied' };
  if (err.kind === 'RequestExpired') {
    return { code: 'RequestTimeTooSkewed', status: 403, message: 'The difference between the request time and the current time is too large.' };
  }
  const entry = S3_AUTH_ERROR_CODES[err.kind];
  return { code: entry.code, status: entry.status, message: err.message };
}

/**
 * A credential scope for another region, as S3 words it: AuthorizationHeaderMalformed for
 * the Authorization header, AuthorizationQueryParametersError for a presigned URL's
 * X-Amz-Credential, both 400 and naming the expected region.
 */
function wrongRegionError(err: CredentialScopeRegionError): S3WireError {
  const wrong = `the region '${err.region}' is wrong; expecting '${err.expectedRegion}'`;
  return err.presigned
    ? { code: 'AuthorizationQueryParametersError', status: 400, message: `Error parsing the X-Amz-Credential parameter; ${wrong}`, region: err.expectedRegion }
    : { code: 'AuthorizationHeaderMalformed', status: 400, message: `The authorization header is malformed; ${wrong}`, region: err.expectedRegion };
}

/** KMS failures met while sealing or unsealing an object key, as S3 reports them. */
function kmsError(err: unknown): S3WireError | undefined {
  if (err instanceof kmsErrors.NotFoundError) return { code: 'KMS.NotFoundException', status: 400, message: err.message };
  if (err instanceof kmsErrors.DisabledError) return { code: 'KMS.DisabledException', status: 400, message: err.message };
  if (err instanceof kmsErrors.KeyInvalidStateError) return { code: 'KMS.KMSInvalidStateException', status: 400, message: err.message };
  if (err instanceof kmsErrors.InvalidKeyUsageError) return { code: 'KMS.InvalidKeyUsageException', status: 400, message: err.message };
  if (err instanceof kmsErrors.ValidationError) return { code: 'InvalidArgument', status: 400, message: err.message };
  if (err instanceof kmsErrors.AccessDeniedError) return { code: 'AccessDenied', status: 403, message: 'Access Denied' };
  return undefined;
}
