import { XMLBuilder } from 'fast-xml-parser';
import { InvalidArgumentError } from '../errors.js';
import type { ObjectRecord } from '../metadata-store.js';
import { listObjects, type ListPage } from '../operations/list-objects.js';
import type { S3Call } from './call.js';
import { encodingOf, maxKeysOf } from './handlers-bucket.js';
import { listingEncoder, ownerNode, S3_NS, type Owner } from './xml.js';
import { S3_XML_BUILDER_OPTIONS } from './xml-entities.js';

const builder = new XMLBuilder(S3_XML_BUILDER_OPTIONS);

/** How a version listing is rendered: its request parameters, echoed as S3 echoes them. */
interface VersionsRender {
  readonly bucket: string;
  readonly prefix: string;
  readonly keyMarker: string;
  readonly versionIdMarker: string;
  readonly delimiter?: string;
  readonly maxKeys: number;
  readonly encodingType?: 'url';
  readonly owner: Owner;
}

/**
 * ListObjectVersions. No bucket here keeps versions (PutBucketVersioning is not implemented),
 * so each object is its one version, "null" and latest, as S3 lists an unversioned bucket;
 * key-marker pages as ListObjects' marker does. Tools that empty a bucket (boto3's
 * `bucket.object_versions.delete()`, `aws s3api list-object-versions` scripts) call this.
 * Raises InvalidArgumentError (a version-id-marker without key-marker, or other than "null"),
 * NoSuchBucketError. https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
 */
export async function listObjectVersionsRoute(c: S3Call): Promise<void> {
  const keyMarker = c.query.get('key-marker') ?? '';
  const versionIdMarker = c.query.get('version-id-marker') ?? '';
  if (versionIdMarker !== '' && keyMarker === '') throw new InvalidArgumentError('A version-id marker cannot be specified without a key marker.');
  if (versionIdMarker !== '' && versionIdMarker !== 'null') throw new InvalidArgumentError('Invalid version id specified');
  const prefix = c.query.get('prefix') ?? '';
  const delimiter = c.query.get('delimiter');
  const maxKeys = maxKeysOf(c);
  const encodingType = encodingOf(c);
  const rolled = delimiter !== undefined && delimiter !== '' ? { delimiter } : {};
  const page = await listObjects(c.deps, { bucket: c.bucket, prefix, after: keyMarker, maxKeys, ...rolled });
  const render = { bucket: c.bucket, prefix, keyMarker, versionIdMarker, maxKeys, owner: c.owner, ...rolled, ...(encodingType !== undefined ? { encodingType } : {}) };
  c.send(200, {}, listVersionsXml(page, render));
}

function listVersionsXml(page: ListPage, r: VersionsRender): string {
  const enc = listingEncoder(r.encodingType);
  const versions = page.objects.map((o: ObjectRecord) => ({
    Key: enc(o.key),
    VersionId: 'null',
    IsLatest: true,
    LastModified: o.lastModified.toISOString(),
    ETag: o.etag,
    Size: o.size,
    Owner: ownerNode(r.owner),
    StorageClass: 'STANDARD',
  }));
  // Where the next page starts: the last key (its one version, "null") or common prefix listed.
  const next = page.truncated && page.lastPosition !== undefined ? { NextKeyMarker: enc(page.lastPosition), NextVersionIdMarker: 'null' } : {};
  const body = {
    '@_xmlns': S3_NS,
    Name: r.bucket,
    Prefix: enc(r.prefix),
    KeyMarker: enc(r.keyMarker),
    VersionIdMarker: r.versionIdMarker,
    ...next,
    MaxKeys: r.maxKeys,
    ...(r.delimiter !== undefined ? { Delimiter: enc(r.delimiter) } : {}),
    IsTruncated: page.truncated,
    ...(r.encodingType !== undefined ? { EncodingType: r.encodingType } : {}),
    Version: versions,
    CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  };
  return builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, ListVersionsResult: body }) as string;
}
