import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { MalformedXmlError } from '../errors.js';
import type { CompletePart } from '../operations/multipart/complete-upload.js';
import type { PartsPage, UploadsPage } from '../operations/multipart/manage-uploads.js';
import { parseXmlDocument, S3_NS, type Owner } from './xml.js';
import { S3_XML_BUILDER_OPTIONS, xmlEntityDecoder } from './xml-entities.js';

const builder = new XMLBuilder(S3_XML_BUILDER_OPTIONS);
const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, entityDecoder: xmlEntityDecoder, isArray: (name) => name === 'Part' });

type Node = Record<string, unknown>;

function doc(root: string, body: Node): string {
  return builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, [root]: { '@_xmlns': S3_NS, ...body } }) as string;
}

/** The checksum elements of a part, by S3 element name → our lower-case algorithm name. */
const CHECKSUM_ELEMENTS: ReadonlyArray<[string, string]> = [
  ['ChecksumCRC32', 'crc32'],
  ['ChecksumCRC32C', 'crc32c'],
  ['ChecksumCRC64NVME', 'crc64nvme'],
  ['ChecksumSHA1', 'sha1'],
  ['ChecksumSHA256', 'sha256'],
];

/** InitiateMultipartUploadResult. */
export function initiateUploadXml(bucket: string, key: string, uploadId: string): string {
  return doc('InitiateMultipartUploadResult', { Bucket: bucket, Key: key, UploadId: uploadId });
}

/** CompleteMultipartUploadResult. */
export function completeUploadXml(location: string, bucket: string, key: string, etag: string): string {
  return doc('CompleteMultipartUploadResult', { Location: location, Bucket: bucket, Key: key, ETag: etag });
}

/** CopyPartResult of UploadPartCopy. */
export function copyPartXml(etag: string, lastModified: Date): string {
  return doc('CopyPartResult', { LastModified: lastModified.toISOString(), ETag: etag });
}

function checksumNodes(checksums: Readonly<Record<string, string>>): Node {
  const out: Node = {};
  for (const [element, algorithm] of CHECKSUM_ELEMENTS) if (checksums[algorithm] !== undefined) out[element] = checksums[algorithm];
  return out;
}

/** ListPartsResult. */
export function listPartsXml(page: PartsPage, marker: number, maxParts: number, owner: Owner): string {
  const who = { ID: owner.id, DisplayName: owner.displayName };
  return doc('ListPartsResult', {
    Bucket: page.upload.bucket,
    Key: page.upload.key,
    UploadId: page.upload.uploadId,
    PartNumberMarker: marker,
    NextPartNumberMarker: page.nextMarker,
    MaxParts: maxParts,
    IsTruncated: page.truncated,
    Part: page.parts.map((p) => ({ PartNumber: p.partNumber, LastModified: p.lastModified.toISOString(), ETag: p.etag, Size: p.size, ...checksumNodes(p.checksums) })),
    Initiator: who,
    Owner: who,
    StorageClass: 'STANDARD',
    ...(page.upload.checksumAlgorithm !== undefined ? { ChecksumAlgorithm: page.upload.checksumAlgorithm.toUpperCase() } : {}),
  });
}

/** How a ListMultipartUploads page is rendered. */
export interface UploadsRender {
  readonly bucket: string;
  readonly prefix: string;
  readonly delimiter?: string;
  readonly keyMarker: string;
  readonly uploadIdMarker: string;
  readonly maxUploads: number;
  readonly encodingType?: 'url';
  readonly owner: Owner;
}

/** ListMultipartUploadsResult. */
export function listUploadsXml(page: UploadsPage, r: UploadsRender): string {
  const enc = (s: string): string => (r.encodingType === 'url' ? encodeURIComponent(s).replace(/%2F/g, '/') : s);
  const who = { ID: r.owner.id, DisplayName: r.owner.displayName };
  return doc('ListMultipartUploadsResult', {
    Bucket: r.bucket,
    KeyMarker: enc(r.keyMarker),
    UploadIdMarker: r.uploadIdMarker,
    ...(page.next !== undefined ? { NextKeyMarker: enc(page.next.keyMarker), NextUploadIdMarker: page.next.uploadIdMarker ?? '' } : {}),
    Prefix: enc(r.prefix),
    ...(r.delimiter !== undefined ? { Delimiter: enc(r.delimiter) } : {}),
    MaxUploads: r.maxUploads,
    IsTruncated: page.truncated,
    ...(r.encodingType !== undefined ? { EncodingType: r.encodingType } : {}),
    Upload: page.uploads.map((u) => ({
      Key: enc(u.key),
      UploadId: u.uploadId,
      Initiator: who,
      Owner: who,
      StorageClass: 'STANDARD',
      Initiated: u.initiated.toISOString(),
      ...(u.checksumAlgorithm !== undefined ? { ChecksumAlgorithm: u.checksumAlgorithm.toUpperCase() } : {}),
    })),
    CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  });
}

function child(node: unknown, name: string): unknown {
  return node !== null && typeof node === 'object' ? (node as Node)[name] : undefined;
}

/**
 * The `<CompleteMultipartUpload>` document: its parts in document order (order and
 * existence are the operation's to check). Raises MalformedXmlError for a body that is not
 * that document, a part without a number 1–10000 or an ETag, or no parts at all.
 */
export function parseCompleteUpload(body: Buffer): CompletePart[] {
  const root = parseXmlDocument(parser, body, 'CompleteMultipartUpload');
  const parts = child(root, 'Part');
  if (!Array.isArray(parts) || parts.length === 0) throw new MalformedXmlError('');
  return parts.map((p) => {
    const number = child(p, 'PartNumber');
    const etag = child(p, 'ETag');
    if (typeof number !== 'string' || !/^\d{1,5}$/.test(number) || Number(number) < 1 || Number(number) > 10_000) throw new MalformedXmlError('');
    if (typeof etag !== 'string' || etag === '') throw new MalformedXmlError('');
    const checksums: Record<string, string> = {};
    for (const [element, algorithm] of CHECKSUM_ELEMENTS) {
      const v = child(p, element);
      if (typeof v === 'string' && v !== '') checksums[algorithm] = v;
    }
    return { partNumber: Number(number), etag, checksums };
  });
}
