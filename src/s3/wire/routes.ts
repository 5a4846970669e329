import type { S3Call } from './call.js';
import * as b from './handlers-bucket.js';
import * as m from './handlers-multipart.js';
import * as o from './handlers-object.js';
import * as tg from './handlers-tagging.js';
import * as p from './handlers-access.js';
import * as acl from './handlers-acl.js';
import * as v from './handlers-versions.js';
import * as at from './handlers-attributes.js';
import * as cors from './handlers-cors.js';
import { postObjectRoute } from './post-object/post-object-route.js';

/** One S3 operation: its audit name, IAM action, whether it only reads, and its handler. */
export interface S3Route {
  readonly operation: string;
  readonly action: string;
  readonly readOnly: boolean;
  readonly handle: (call: S3Call) => Promise<void>;
}

/** Where a request points: the service (ListBuckets), a bucket, or an object. */
export type Level = 'service' | 'bucket' | 'object';

/**
 * Sub-resources S3 knows, in the order they take precedence. A request naming one we do
 * not implement answers NotImplemented; it never falls through to a plain GET or PUT.
 */
export const SUB_RESOURCES = [
  'uploads', 'uploadId', 'partNumber', 'delete', 'encryption', 'location', 'versioning', 'acl', 'policy', 'policyStatus',
  'cors', 'lifecycle', 'tagging', 'website', 'logging', 'notification', 'replication', 'object-lock', 'retention',
  'legal-hold', 'requestPayment', 'accelerate', 'analytics', 'inventory', 'metrics', 'ownershipControls',
  'publicAccessBlock', 'intelligent-tiering', 'torrent', 'restore', 'select', 'attributes', 'versions', 'renameObject',
] as const;
export type SubResource = (typeof SUB_RESOURCES)[number] | '';

/**
 * The IAM action of operations whose action is not `s3:<operation>`
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
 */
const IAM_ACTIONS: Readonly<Record<string, string>> = {
  ListBuckets: 's3:ListAllMyBuckets',
  HeadBucket: 's3:ListBucket',
  ListObjects: 's3:ListBucket',
  GetBucketEncryption: 's3:GetEncryptionConfiguration',
  PutBucketEncryption: 's3:PutEncryptionConfiguration',
  DeleteBucketEncryption: 's3:PutEncryptionConfiguration',
  HeadObject: 's3:GetObject',
  DeleteObjects: 's3:DeleteObject',
  CopyObject: 's3:PutObject',
  // A browser upload is a PutObject of the form's key (authorized once the form named it).
  PostObject: 's3:PutObject',
  ListMultipartUploads: 's3:ListBucketMultipartUploads',
  CreateMultipartUpload: 's3:PutObject',
  UploadPart: 's3:PutObject',
  UploadPartCopy: 's3:PutObject',
  CompleteMultipartUpload: 's3:PutObject',
  ListParts: 's3:ListMultipartUploadParts',
  PutPublicAccessBlock: 's3:PutBucketPublicAccessBlock',
  GetPublicAccessBlock: 's3:GetBucketPublicAccessBlock',
  DeletePublicAccessBlock: 's3:PutBucketPublicAccessBlock',
  DeleteBucketTagging: 's3:PutBucketTagging',
  DeleteBucketOwnershipControls: 's3:PutBucketOwnershipControls',
  ListObjectVersions: 's3:ListBucketVersions',
  PutBucketCors: 's3:PutBucketCORS',
  GetBucketCors: 's3:GetBucketCORS',
  // As S3: removing the configuration is a write of it (there is no s3:DeleteBucketCORS).
  DeleteBucketCors: 's3:PutBucketCORS',
};

const route = (operation: string, readOnly: boolean, handle: S3Route['handle']): S3Route => ({ operation, action: IAM_ACTIONS[operation] ?? `s3:${operation}`, readOnly, handle });

/** `level method sub-resource` → route, or 'NotImplemented' for what we know but do not do yet. */
export const S3_ROUTES: Readonly<Record<string, S3Route | 'NotImplemented'>> = {
  'service GET ': route('ListBuckets', true, b.listBucketsRoute),

  'bucket PUT ': route('CreateBucket', false, b.createBucketRoute),
  'bucket HEAD ': route('HeadBucket', true, b.headBucketRoute),
  'bucket DELETE ': route('DeleteBucket', false, b.deleteBucketRoute),
  'bucket GET ': route('ListObjects', true, b.listObjectsRoute),
  'bucket GET location': route('GetBucketLocation', true, b.getBucketLocationRoute),
  'bucket GET versioning': route('GetBucketVersioning', true, b.getBucketVersioningRoute),
  'bucket PUT encryption': route('PutBucketEncryption', false, b.putBucketEncryptionRoute),
  'bucket GET encryption': route('GetBucketEncryption', true, b.getBucketEncryptionRoute),
  'bucket DELETE encryption': route('DeleteBucketEncryption', false, b.deleteBucketEncryptionRoute),
  'bucket POST delete': route('DeleteObjects', false, b.deleteObjectsRoute),
  // POST Object: a browser upload (multipart/form-data with a signed policy; boto3's generate_presigned_post).
  'bucket POST ': route('PostObject', false, postObjectRoute),
  'bucket PUT policy': route('PutBucketPolicy', false, p.putBucketPolicyRoute),
  'bucket GET policy': route('GetBucketPolicy', true, p.getBucketPolicyRoute),
  'bucket DELETE policy': route('DeleteBucketPolicy', false, p.deleteBucketPolicyRoute),
  'bucket GET policyStatus': route('GetBucketPolicyStatus', true, p.getBucketPolicyStatusRoute),
  'bucket PUT publicAccessBlock': route('PutPublicAccessBlock', false, p.putPublicAccessBlockRoute),
  'bucket GET publicAccessBlock': route('GetPublicAccessBlock', true, p.getPublicAccessBlockRoute),
  'bucket DELETE publicAccessBlock': route('DeletePublicAccessBlock', false, p.deletePublicAccessBlockRoute),
  'bucket GET uploads': route('ListMultipartUploads', true, m.listUploadsRoute),
  'bucket GET acl': route('GetBucketAcl', true, acl.getBucketAclRoute),
  'bucket PUT acl': route('PutBucketAcl', false, acl.putBucketAclRoute),
  'bucket GET ownershipControls': route('GetBucketOwnershipControls', true, acl.getBucketOwnershipControlsRoute),
  'bucket PUT ownershipControls': route('PutBucketOwnershipControls', false, acl.putBucketOwnershipControlsRoute),
  'bucket DELETE ownershipControls': route('DeleteBucketOwnershipControls', false, acl.deleteBucketOwnershipControlsRoute),
  'bucket GET versions': route('ListObjectVersions', true, v.listObjectVersionsRoute),
  'bucket PUT tagging': route('PutBucketTagging', false, tg.putBucketTaggingRoute),
  'bucket GET tagging': route('GetBucketTagging', true, tg.getBucketTaggingRoute),
  'bucket DELETE tagging': route('DeleteBucketTagging', false, tg.deleteBucketTaggingRoute),
  'bucket PUT versioning': 'NotImplemented',
  'bucket PUT cors': route('PutBucketCors', false, cors.putBucketCorsRoute),
  'bucket GET cors': route('GetBucketCors', true, cors.getBucketCorsRoute),
  'bucket DELETE cors': route('DeleteBucketCors', false, cors.deleteBucketCorsRoute),

  'object PUT ': route('PutObject', false, o.putObjectRoute),
  'object GET ': route('GetObject', true, o.getObjectRoute),
  'object HEAD ': route('HeadObject', true, o.getObjectRoute),
  'object DELETE ': route('DeleteObject', false, o.deleteObjectRoute),
  'object PUT tagging': route('PutObjectTagging', false, tg.putObjectTaggingRoute),
  'object GET tagging': route('GetObjectTagging', true, tg.getObjectTaggingRoute),
  'object DELETE tagging': route('DeleteObjectTagging', false, tg.deleteObjectTaggingRoute),
  'object GET acl': route('GetObjectAcl', true, acl.getObjectAclRoute),
  'object GET attributes': route('GetObjectAttributes', true, at.getObjectAttributesRoute),
  'object PUT acl': route('PutObjectAcl', false, acl.putObjectAclRoute),
  'object POST uploads': route('CreateMultipartUpload', false, m.createUploadRoute),
  'object PUT uploadId': route('UploadPart', false, m.uploadPartRoute),
  'object POST uploadId': route('CompleteMultipartUpload', false, m.completeUploadRoute),
  'object DELETE uploadId': route('AbortMultipartUpload', false, m.abortUploadRoute),
  'object GET uploadId': route('ListParts', true, m.listPartsRoute),
  'object GET partNumber': route('GetObject', true, o.getObjectRoute),
  'object HEAD partNumber': route('HeadObject', true, o.getObjectRoute),
};

/** CopyObject is a PUT on an object that carries x-amz-copy-source. */
export const COPY_OBJECT_ROUTE = route('CopyObject', false, o.copyObjectRoute);

/** UploadPartCopy is an UploadPart that carries x-amz-copy-source. */
export const UPLOAD_PART_COPY_ROUTE = route('UploadPartCopy', false, m.uploadPartCopyRoute);

/** The highest-precedence sub-resource named in the query, or '' for none. */
export function subResourceOf(query: ReadonlyMap<string, string>): SubResource {
  // Most object requests carry no query at all: no walk over the list for them.
  if (query.size === 0) return '';
  return SUB_RESOURCES.find((s) => query.has(s)) ?? '';
}

/**
 * The route for a request: undefined when the method makes no sense there
 * (MethodNotAllowed), 'NotImplemented' for a known sub-resource we do not implement.
 */
export function findRoute(level: Level, method: string, sub: SubResource, isCopy: boolean): S3Route | 'NotImplemented' | undefined {
  if (level === 'object' && method === 'PUT' && sub === '' && isCopy) return COPY_OBJECT_ROUTE;
  if (level === 'object' && method === 'PUT' && sub === 'uploadId' && isCopy) return UPLOAD_PART_COPY_ROUTE;
  const r = S3_ROUTES[`${level} ${method} ${sub}`];
  if (r !== undefined) return r;
  return sub !== '' ? 'NotImplemented' : undefined;
}
