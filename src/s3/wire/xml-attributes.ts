import type { IncomingHttpHeaders } from 'node:http';
import { XMLBuilder } from 'fast-xml-parser';
import { InvalidArgumentError, InvalidRequestError } from '../errors.js';
import type { ObjectRecord, PartLayout } from '../metadata-store.js';
import { S3_NS } from './xml.js';
import { S3_XML_BUILDER_OPTIONS } from './xml-entities.js';

const builder = new XMLBuilder(S3_XML_BUILDER_OPTIONS);

/** The attributes GetObjectAttributes can return (x-amz-object-attributes). */
export type ObjectAttribute = 'ETag' | 'Checksum' | 'ObjectParts' | 'StorageClass' | 'ObjectSize';
const ATTRIBUTES: ReadonlySet<string> = new Set<ObjectAttribute>(['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize']);

/**
 * The attributes a GetObjectAttributes request asks for: x-amz-object-attributes, a
 * comma-separated list (repeated headers joined). Raises InvalidRequestError when the header
 * is missing or names nothing, InvalidArgumentError for a name S3 does not know, as S3
 * answers both. Pure.
 */
export function parseObjectAttributes(headers: IncomingHttpHeaders): ReadonlySet<ObjectAttribute> {
  const raw = headers['x-amz-object-attributes'];
  const names = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new InvalidRequestError('The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty');
  if (names.some((n) => !ATTRIBUTES.has(n))) throw new InvalidArgumentError('Invalid attribute name specified.');
  return new Set(names as ObjectAttribute[]);
}

/** Which parts an ObjectParts answer lists: those after `marker`, at most `maxParts`. */
export interface PartsWindow {
  readonly marker: number;
  readonly maxParts: number;
}

/** `crc32` → `ChecksumCRC32`: the element (and SDK field) name of a stored checksum. */
function checksumElements(checksums: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(checksums).map(([algorithm, value]) => [`Checksum${algorithm.toUpperCase()}`, value]));
}

/**
 * ObjectParts of a multipart object: the count, and a page of parts (number, size and their
 * checksums) only when the parts carry checksums, as S3 lists them; undefined for a
 * single-part object, which S3 answers without ObjectParts.
 */
function objectParts(parts: readonly PartLayout[] | undefined, window: PartsWindow): Record<string, unknown> | undefined {
  if (parts === undefined) return undefined;
  const listed = parts.some((p) => p.checksums !== undefined && Object.keys(p.checksums).length > 0);
  const after = parts.filter((p) => p.partNumber > window.marker);
  const page = after.slice(0, window.maxParts);
  const truncated = page.length < after.length;
  // TotalPartsCount is <PartsCount> on the wire (the S3 model's xmlName for it).
  const out: Record<string, unknown> = { PartsCount: parts.length, PartNumberMarker: window.marker };
  const last = page.at(-1);
  if (last !== undefined) out['NextPartNumberMarker'] = last.partNumber;
  out['MaxParts'] = window.maxParts;
  out['IsTruncated'] = String(truncated);
  if (listed && page.length > 0) out['Part'] = page.map((p) => ({ ...checksumElements(p.checksums ?? {}), PartNumber: p.partNumber, Size: p.size }));
  return out;
}

/**
 * The GetObjectAttributes result document with the requested attributes only: the ETag
 * without its quotes (as S3 writes it in this document), the checksum stored with the object
 * (ChecksumType FULL_OBJECT; absent when it has none), a multipart object's parts,
 * StorageClass STANDARD (every object here is stored one way) and the plaintext size.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html
 */
export function objectAttributesXml(o: ObjectRecord, wanted: ReadonlySet<ObjectAttribute>, window: PartsWindow): string {
  const body: Record<string, unknown> = { '@_xmlns': S3_NS };
  if (wanted.has('ETag')) body['ETag'] = o.etag.replace(/"/g, '');
  if (wanted.has('Checksum') && Object.keys(o.checksums).length > 0) body['Checksum'] = { ...checksumElements(o.checksums), ChecksumType: 'FULL_OBJECT' };
  const parts = wanted.has('ObjectParts') ? objectParts(o.parts, window) : undefined;
  if (parts !== undefined) body['ObjectParts'] = parts;
  if (wanted.has('StorageClass')) body['StorageClass'] = 'STANDARD';
  if (wanted.has('ObjectSize')) body['ObjectSize'] = o.size;
  return builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, GetObjectAttributesResponse: body }) as string;
}
