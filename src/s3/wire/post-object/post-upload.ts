/**
 * The authentication step of a POST Object (browser upload): the form names the key, its
 * signed policy stands for the request's signature, and its fields stand for PutObject's
 * headers. https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-UsingHTTPPOST.html
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { parsePostCredential, verifyPostPolicySignature, type ConditionFacts, type CredentialLookup, type VerifiedRequest } from '../../../iam/index.js';
import { InvalidArgumentError, InvalidRequestError, PostFieldError } from '../../errors.js';
import { s3RequestFacts } from '../authorize.js';
import { readPostForm, type FileStream, type PostField } from './post-form.js';
import { checkPostPolicy, parsePostPolicy, type LengthRange } from './post-policy.js';

/** What the POST step needs besides the request. */
export interface PostUploadContext {
  /** The bucket the request addressed (path or virtual host). */
  readonly bucket: string;
  /** This server's region: a credential scoped to another is refused. */
  readonly region: string;
  readonly now: Date;
  /** The access keys a signed form may name; undefined refuses every signed form (InvalidAccessKeyId). */
  readonly credentials: CredentialLookup | undefined;
  /** The request's own (anonymous) authentication: what a form without a signature runs as. */
  readonly anonymous: VerifiedRequest;
  /** Told the form's key as soon as it is read, before any check: the audit record of a refused form names it. */
  readonly noteKey?: (key: string) => void;
}

/** A POST Object whose form was read up to its file, authenticated and checked against its policy. */
export interface PostUpload {
  /** The form's credential (its body unsigned), or the anonymous one for an unsigned form. */
  readonly verified: VerifiedRequest;
  readonly key: string;
  /** The fields before the file, `${filename}` expanded, by lower-cased name. */
  readonly fields: ReadonlyMap<string, PostField>;
  /** The fields as the PutObject headers they stand for (Content-*, Cache-Control, Expires, x-amz-*, `acl` as x-amz-acl). */
  readonly headers: IncomingHttpHeaders;
  /** S3's condition keys of the upload (the SSE fields, the ACL, s3:authType POST). */
  readonly facts: ConditionFacts;
  readonly file: FileStream;
  /** The policy's content-length-range, to enforce on the file. */
  readonly range: LengthRange | undefined;
  /** Stops reading the form: the request is drained and discarded (after a refusal). */
  abandon(): void;
  /** Stops reading the request for good: see PostForm.stopReading. */
  stopReading(): void;
}

/** The form fields of SigV4 authentication, in the order S3 names a missing one. */
const SIGNED_FIELDS = [
  ['x-amz-algorithm', 'X-Amz-Algorithm'],
  ['x-amz-credential', 'X-Amz-Credential'],
  ['x-amz-date', 'X-Amz-Date'],
  ['x-amz-signature', 'X-Amz-Signature'],
  ['policy', 'Policy'],
] as const;

/** Fields that authenticate the form: never PutObject headers. */
const AUTH_FIELDS = new Set(['x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-signature', 'x-amz-security-token']);
const CONTENT_FIELDS = new Set(['content-type', 'cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires', 'content-md5']);

/** The upload of each request whose form was read (the route finds it by its request). */
const uploads = new WeakMap<IncomingMessage, PostUpload>();

/**
 * Reads a POST Object's form up to its file and decides who sends it: an unsigned form runs
 * as `ctx.anonymous` (its policy, if any, is not checked: S3 takes such a form as anonymous);
 * a signed one must carry all of X-Amz-Algorithm, -Credential, -Date, -Signature and Policy
 * (InvalidArgument naming the first missing), a credential for this region (InvalidArgument),
 * a signature of the policy as sent (SignatureDoesNotMatch, InvalidAccessKeyId), and a
 * policy that parses (InvalidPolicyDocument), has not expired and covers the form
 * (AccessDenied with S3's "Invalid according to Policy" message). A SigV2 form is
 * InvalidRequest. Raises readPostForm's errors and a missing or empty `key` (InvalidArgument); on any
 * refusal the rest of the request is drained. Never authorizes: the caller decides
 * s3:PutObject on the key for the returned credential.
 */
export async function openPostUpload(req: IncomingMessage, ctx: PostUploadContext): Promise<PostUpload> {
  const form = await readPostForm(req);
  try {
    const fields = expandFilename(form.fields, form.filename);
    const key = fields.get('key')?.value;
    if (key === undefined) throw missingField('key');
    // An empty key names the bucket, not an object: S3's wording for an empty object key.
    if (key === '') throw new InvalidArgumentError('User key must have a length greater than 0.');
    ctx.noteKey?.(key);
    const verified = await authenticateForm(fields, ctx);
    const policy = fields.get('policy');
    const range = verified === ctx.anonymous || policy === undefined ? undefined : checkPostPolicy(parsePostPolicy(policy.value), fields, ctx.bucket, ctx.now);
    const headers = headersOf(fields);
    // S3's condition keys of a browser upload: its fields' (as a PUT's headers'), authType POST.
    const signedFacts = verified !== ctx.anonymous ? { 's3:signatureversion': 'AWS4-HMAC-SHA256' } : {};
    const facts: ConditionFacts = { ...s3RequestFacts({ headers }, EMPTY_QUERY, undefined), 's3:authType': 'POST', ...signedFacts };
    const upload: PostUpload = { verified, key, fields, headers, facts, file: form.file, range, abandon: form.abandon, stopReading: form.stopReading };
    uploads.set(req, upload);
    return upload;
  } catch (err) {
    form.abandon();
    throw err;
  }
}

/** The upload openPostUpload read for `req`; raises (an internal error) when there is none. */
export function postUploadOf(req: IncomingMessage): PostUpload {
  const upload = uploads.get(req);
  if (upload === undefined) throw new Error('PostObject route reached without its form');
  return upload;
}

const EMPTY_QUERY: ReadonlyMap<string, string> = new Map();

function missingField(name: string): PostFieldError {
  return new PostFieldError(`Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`, { name, value: '' });
}

/** The credential of a signed form (checked as openPostUpload says), or ctx.anonymous for an unsigned one. */
async function authenticateForm(fields: ReadonlyMap<string, PostField>, ctx: PostUploadContext): Promise<VerifiedRequest> {
  const signed = SIGNED_FIELDS.some(([name]) => name !== 'policy' && fields.has(name));
  if (!signed) {
    // SigV2 forms (AWSAccessKeyId, Signature): refused as every SigV2 request here is.
    if (fields.has('awsaccesskeyid') || fields.has('signature')) throw new InvalidRequestError('The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
    return ctx.anonymous;
  }
  for (const [name, spelt] of SIGNED_FIELDS) if (!fields.has(name)) throw missingField(spelt);
  const value = (name: string): string => fields.get(name)?.value ?? '';
  if (value('x-amz-algorithm') !== 'AWS4-HMAC-SHA256') throw new InvalidArgumentError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  const scope = parsePostCredential(value('x-amz-credential'));
  if (scope.region !== ctx.region) throw new InvalidArgumentError(`the region '${scope.region.slice(0, 64)}' is wrong; expecting '${ctx.region}'`);
  if (ctx.credentials === undefined) return verifyPostPolicySignature(formSignature(fields), { find: () => undefined }, ctx.now);
  await ctx.credentials.prepare?.(scope.accessKeyId);
  const verified = verifyPostPolicySignature(formSignature(fields), ctx.credentials, ctx.now);
  // Only the policy is signed: the file is an unsigned payload whatever the request's headers say.
  return { ...verified, payloadHash: 'UNSIGNED-PAYLOAD' };
}

function formSignature(fields: ReadonlyMap<string, PostField>): Parameters<typeof verifyPostPolicySignature>[0] {
  const token = fields.get('x-amz-security-token')?.value;
  return {
    credential: fields.get('x-amz-credential')?.value ?? '',
    amzDate: fields.get('x-amz-date')?.value ?? '',
    signature: fields.get('x-amz-signature')?.value ?? '',
    policy: fields.get('policy')?.value ?? '',
    ...(token !== undefined ? { securityToken: token } : {}),
  };
}

/**
 * The fields with `${filename}` replaced by the file's name in every value, as S3 expands
 * them before checking the policy; kept literally when the file part names no file (as S3
 * was observed to do).
 */
function expandFilename(fields: ReadonlyMap<string, PostField>, filename: string | undefined): ReadonlyMap<string, PostField> {
  if (filename === undefined) return fields;
  const out = new Map<string, PostField>();
  for (const [k, f] of fields) out.set(k, { name: f.name, value: f.value.split('${filename}').join(filename) });
  return out;
}

function headersOf(fields: ReadonlyMap<string, PostField>): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const [name, f] of fields) {
    if (name === 'acl') headers['x-amz-acl'] = headerValue(f);
    else if (CONTENT_FIELDS.has(name) || (name.startsWith('x-amz-') && !AUTH_FIELDS.has(name))) headers[name] = headerValue(f);
  }
  return headers;
}

/** What a header value may hold as node reads one: tab, visible ASCII and bytes 0x80-0xFF (read as latin1). */
const NOT_HEADER_TEXT = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * A field as the PUT header it stands for: its UTF-8 bytes read one character per byte, as
 * node reads a header's bytes (so the object answers with the bytes the form sent, as after a
 * PUT). A field a header could not carry (CR, LF, NUL, another control character) is
 * InvalidArgument: stored, it made every answer naming it fail. The value is not echoed.
 */
function headerValue(f: PostField): string {
  const value = Buffer.from(f.value, 'utf8').toString('latin1');
  if (NOT_HEADER_TEXT.test(value)) throw new InvalidArgumentError(`The form field ${f.name.slice(0, 64)} holds a character that no header value may hold.`);
  return value;
}
