import { isUtf8 } from 'node:buffer';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { MalformedXmlError } from '../errors.js';
import type { BucketEncryption, BucketRecord, ObjectRecord } from '../metadata-store.js';
import type { ListPage } from '../operations/list-objects.js';
import { S3_XML_BUILDER_OPTIONS, xmlEntityDecoder } from './xml-entities.js';

/** The S3 XML namespace every result document carries. */
export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

const builder = new XMLBuilder(S3_XML_BUILDER_OPTIONS);
// Values untrimmed: a key's leading and trailing spaces are part of the key (fields where they
// are not significant are trimmed where they are read). References resolved as XML defines.
const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  entityDecoder: xmlEntityDecoder,
  isArray: (name) => ['Object', 'Rule'].includes(name),
});

type Node = Record<string, unknown>;

function doc(root: string, body: Node, namespaced = true): string {
  return builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, [root]: namespaced ? { '@_xmlns': S3_NS, ...body } : body }) as string;
}

/** The owner S3 reports: the account. */
export interface Owner {
  readonly id: string;
  readonly displayName: string;
}

/** An `<Owner>` (or `<Initiator>`) element's content: ID and DisplayName. Pure. */
export function ownerNode(owner: Owner): Node {
  return { ID: owner.id, DisplayName: owner.displayName };
}

/**
 * How a listing writes keys, prefixes and markers: percent-encoded with '/' kept when the
 * request asked for encoding-type=url (as S3, so a key with characters XML 1.0 cannot carry
 * still reaches the client), as they are otherwise. Pure.
 */
export function listingEncoder(encodingType: 'url' | undefined): (s: string) => string {
  return encodingType === 'url' ? (s) => encodeURIComponent(s).replace(/%2F/g, '/') : (s) => s;
}

/**
 * `<Error>`, S3's error document (no namespace); `details` (elements of their own, such as a
 * refused CORS preflight's Method and ResourceType), `condition` (a 412's failed header) and
 * `region` (the region to sign for, of a request signed for another) go after the message,
 * as S3 sends them.
 */
export function errorXml(
  code: string,
  message: string,
  requestId: string,
  resource?: string,
  condition?: string,
  region?: string,
  details: ReadonlyArray<readonly [string, string]> = [],
): string {
  return doc(
    'Error',
    {
      Code: code,
      Message: message,
      ...Object.fromEntries(details),
      ...(condition !== undefined ? { Condition: condition } : {}),
      ...(region !== undefined ? { Region: region } : {}),
      ...(resource !== undefined ? { Resource: resource } : {}),
      RequestId: requestId,
    },
    false,
  );
}

/** ListBuckets result: the page's buckets with their region, the token of the next page, the prefix asked for. */
export function listBucketsXml(owner: Owner, buckets: readonly BucketRecord[], page: { readonly continuationToken?: string; readonly prefix?: string } = {}): string {
  return doc('ListAllMyBucketsResult', {
    Owner: ownerNode(owner),
    Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: b.createdAt.toISOString(), BucketRegion: b.region })) },
    ...(page.continuationToken !== undefined ? { ContinuationToken: page.continuationToken } : {}),
    ...(page.prefix !== undefined ? { Prefix: page.prefix } : {}),
  });
}

/** GetBucketLocation result: empty for us-east-1, as S3 answers. */
export function locationXml(region: string): string {
  return doc('LocationConstraint', { '#text': region === 'us-east-1' ? '' : region });
}

/** GetBucketVersioning for a bucket that never had versioning: an empty configuration. */
export function versioningXml(): string {
  return doc('VersioningConfiguration', {});
}

/** CopyObject result. */
export function copyObjectXml(etag: string, lastModified: Date): string {
  return doc('CopyObjectResult', { LastModified: lastModified.toISOString(), ETag: etag });
}

/** One key of a DeleteObjects answer, with the `<VersionId>` its `<Object>` named (echoed as S3 does). */
export interface DeleteEntry {
  readonly key: string;
  readonly versionId?: string;
}

/**
 * DeleteObjects result; `deleted` is empty in quiet mode. Each entry names its key, then the
 * VersionId the request gave for it (when it gave one), in S3's element order.
 */
export function deleteResultXml(deleted: readonly DeleteEntry[], errors: ReadonlyArray<DeleteEntry & { code: string; message: string }>, encode: (s: string) => string): string {
  return doc('DeleteResult', {
    Deleted: deleted.map((d) => ({ Key: encode(d.key), ...(d.versionId !== undefined ? { VersionId: d.versionId } : {}) })),
    Error: errors.map((e) => ({ Key: encode(e.key), ...(e.versionId !== undefined ? { VersionId: e.versionId } : {}), Code: e.code, Message: e.message })),
  });
}

/** GetBucketEncryption result; KMSMasterKeyID only when one was set (aws:kms or aws:kms:dsse). */
export function encryptionXml(enc: BucketEncryption): string {
  const byDefault: Node = { SSEAlgorithm: enc.algorithm, ...(enc.algorithm !== 'AES256' && enc.kmsKeyId !== undefined ? { KMSMasterKeyID: enc.kmsKeyId } : {}) };
  return doc('ServerSideEncryptionConfiguration', { Rule: [{ ApplyServerSideEncryptionByDefault: byDefault, BucketKeyEnabled: enc.bucketKeyEnabled }] });
}

/** How a listing is rendered: v1 (marker) or v2 (continuation token). */
export interface ListRender {
  readonly version: 1 | 2;
  readonly bucket: string;
  readonly prefix: string;
  readonly delimiter?: string;
  readonly maxKeys: number;
  readonly encodingType?: 'url';
  readonly marker?: string;
  readonly startAfter?: string;
  readonly continuationToken?: string;
  readonly nextToken?: string;
  readonly owner?: Owner;
}

/** ListObjects (v1) and ListObjectsV2 result. */
export function listObjectsXml(page: ListPage, r: ListRender): string {
  const enc = listingEncoder(r.encodingType);
  const contents = page.objects.map((o: ObjectRecord) => ({
    Key: enc(o.key),
    LastModified: o.lastModified.toISOString(),
    ETag: o.etag,
    Size: o.size,
    ...(r.owner !== undefined ? { Owner: ownerNode(r.owner) } : {}),
    StorageClass: 'STANDARD',
  }));
  const common: Node = {
    Name: r.bucket,
    Prefix: enc(r.prefix),
    ...(r.version === 1 ? { Marker: enc(r.marker ?? '') } : {}),
    ...(r.version === 2 && r.continuationToken !== undefined ? { ContinuationToken: r.continuationToken } : {}),
    ...(r.version === 2 && r.startAfter !== undefined ? { StartAfter: enc(r.startAfter) } : {}),
    ...(r.version === 2 ? { KeyCount: page.objects.length + page.commonPrefixes.length } : {}),
    MaxKeys: r.maxKeys,
    ...(r.delimiter !== undefined ? { Delimiter: enc(r.delimiter) } : {}),
    IsTruncated: page.truncated,
    ...(r.version === 1 && page.truncated && r.delimiter !== undefined && page.lastPosition !== undefined ? { NextMarker: enc(page.lastPosition) } : {}),
    ...(r.version === 2 && r.nextToken !== undefined ? { NextContinuationToken: r.nextToken } : {}),
    ...(r.encodingType !== undefined ? { EncodingType: r.encodingType } : {}),
    Contents: contents,
    CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  };
  return doc('ListBucketResult', common);
}

// A character XML 1.0's Char production excludes, written raw: a C0 control other than TAB,
// LF, CR (NUL included), U+FFFE or U+FFFF. Lone surrogates, the rest of what it excludes,
// cannot come out of the UTF-8 that isUtf8 let through; matching them would need the `u`
// flag, which makes this scan several times slower. The referenced form (`&#1;`) is refused
// where references are resolved.
const NOT_XML_CHAR = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;

/**
 * A request's XML body as text. Raises MalformedXmlError for a document with a DOCTYPE:
 * S3's schemas use none, and refusing it outright means no entity (external, or nested as
 * in "billion laughs") is ever resolved or expanded. Also for bytes that are not UTF-8: a
 * lenient decode would turn them into U+FFFD and act on a key or tag nobody sent. Also for
 * a character XML 1.0 does not allow anywhere in a document (a raw \x01 in a `<Key>`):
 * such a document is not XML, and S3 answers MalformedXML for it. TAB, LF, CR and every
 * other Unicode character (astral ones too) are allowed.
 */
export function xmlText(body: Buffer): string {
  if (!isUtf8(body)) throw new MalformedXmlError('');
  const text = body.toString('utf8');
  if (NOT_XML_CHAR.test(text) || /<!DOCTYPE/i.test(text)) throw new MalformedXmlError('');
  return text;
}

/**
 * The content of the document element of `body` as `parser` reads it (validated), which must
 * be `<name>` and alone (beside the XML declaration and whitespace). Raises MalformedXmlError
 * otherwise: S3 validates the document against its schema, so `<Foo>` in place of
 * `<CreateBucketConfiguration>` is refused, not read as an empty configuration, and so is a
 * second document element (`<Tagging>…</Tagging><Tagging/>`, or `<Foo/>` beside it).
 */
export function parseXmlDocument(xmlParser: XMLParser, body: Buffer, name: string): unknown {
  const text = xmlText(body);
  let doc: Node;
  try {
    doc = xmlParser.parse(text, true) as Node;
  } catch {
    throw new MalformedXmlError('');
  }
  // Whitespace around the document element is kept as a text node ('#text') when values are not trimmed: allowed, any other text is not.
  const stray = doc['#text'];
  if (stray !== undefined && (typeof stray !== 'string' || stray.trim() !== '')) throw new MalformedXmlError('');
  const roots = Object.keys(doc).filter((k) => k !== '?xml' && k !== '#text');
  // Two elements of the same name are one key holding an array.
  if (roots.length !== 1 || roots[0] !== name || Array.isArray(doc[name])) throw new MalformedXmlError('');
  return doc[name];
}

function parseRoot(body: Buffer, name: string): unknown {
  return parseXmlDocument(parser, body, name);
}

function child(node: unknown, name: string): unknown {
  return node !== null && typeof node === 'object' ? (node as Node)[name] : undefined;
}

/** A child element whose surrounding whitespace is not significant (an enumeration, an id, an ETag), trimmed. */
function trimmedChild(node: unknown, name: string): unknown {
  const v = child(node, name);
  return typeof v === 'string' ? v.trim() : v;
}

/** An xsd:boolean element as S3 writes it ("true" / "false"); `fallback` when absent. Raises MalformedXmlError for any other value. */
function booleanElement(value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const v = typeof value === 'string' ? value.trim() : value;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new MalformedXmlError('');
}

/**
 * CreateBucketConfiguration's LocationConstraint; undefined for an empty (or blank) body.
 * Raises MalformedXmlError, also for another document element.
 */
export function parseCreateBucket(body: Buffer): string | undefined {
  if (body.toString('latin1').trim() === '') return undefined;
  const lc = trimmedChild(parseRoot(body, 'CreateBucketConfiguration'), 'LocationConstraint');
  if (lc === undefined || lc === '') return undefined;
  if (typeof lc !== 'string') throw new MalformedXmlError('');
  return lc;
}

/**
 * The `<Delete>` document of DeleteObjects: each object's key, its `<VersionId>` when given
 * (as given, trimmed: the answer echoes it, and a version other than "null" is that key's
 * NoSuchVersion, decided by the route) and its `<ETag>` when given (that key's delete is then
 * conditional). Raises MalformedXmlError (also for 0 or over 1000 keys, or a Quiet other than true/false).
 */
export function parseDelete(body: Buffer): { objects: Array<{ key: string; versionId?: string; etag?: string }>; quiet: boolean } {
  const del = parseRoot(body, 'Delete');
  const listed = child(del, 'Object');
  if (!Array.isArray(listed) || listed.length === 0 || listed.length > 1000) throw new MalformedXmlError('');
  const objects = listed.map((o) => {
    const k = child(o, 'Key');
    if (typeof k !== 'string' || k === '') throw new MalformedXmlError('');
    // An empty <VersionId/> names no version (as if absent).
    const named = trimmedChild(o, 'VersionId');
    if (named !== undefined && typeof named !== 'string') throw new MalformedXmlError('');
    const versionId = named === '' ? undefined : named;
    // <ETag>: a conditional delete of this object (as If-Match on DeleteObject).
    const etag = trimmedChild(o, 'ETag');
    if (etag !== undefined && typeof etag !== 'string') throw new MalformedXmlError('');
    return { key: k, ...(versionId !== undefined ? { versionId } : {}), ...(etag !== undefined ? { etag } : {}) };
  });
  return { objects, quiet: booleanElement(child(del, 'Quiet'), false) };
}

/** The `<ServerSideEncryptionConfiguration>` of PutBucketEncryption. Raises MalformedXmlError. */
export function parseEncryption(body: Buffer): { algorithm: string; kmsKeyId?: string; bucketKeyEnabled: boolean } {
  const rules = child(parseRoot(body, 'ServerSideEncryptionConfiguration'), 'Rule');
  if (!Array.isArray(rules) || rules.length !== 1) throw new MalformedXmlError('');
  const byDefault = child(rules[0], 'ApplyServerSideEncryptionByDefault');
  const algorithm = trimmedChild(byDefault, 'SSEAlgorithm');
  const keyId = trimmedChild(byDefault, 'KMSMasterKeyID');
  if (typeof algorithm !== 'string' || (keyId !== undefined && typeof keyId !== 'string')) throw new MalformedXmlError('');
  return { algorithm, ...(typeof keyId === 'string' && keyId !== '' ? { kmsKeyId: keyId } : {}), bucketKeyEnabled: booleanElement(child(rules[0], 'BucketKeyEnabled'), false) };
}
