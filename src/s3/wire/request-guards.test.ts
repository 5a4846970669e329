import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import {
  AccessControlListNotSupportedError,
  AccessDeniedError,
  InvalidArgumentError,
  InvalidBucketAclWithObjectOwnershipError,
  InvalidRequestError,
  KeyTooLongError,
  NotImplementedError,
} from '../errors.js';
import { refuseUnservable, writeConditionOf, type GuardedRequest } from './request-guards.js';

const request = (operation: string, headers: IncomingHttpHeaders = {}, query: Record<string, string> = {}, key = 'k'): GuardedRequest => ({
  operation,
  objectLevel: operation !== 'CreateBucket' && operation !== 'ListObjects',
  key,
  query: new Map(Object.entries(query)),
  headers,
  accountId: '000000000000',
});

describe('refuseUnservable', () => {
  it('lets ordinary requests through, including version "null" and the right bucket owner', () => {
    for (const r of [
      request('PutObject'),
      request('GetObject', { 'if-match': '"e"' }),
      request('GetObject', {}, { versionId: 'null' }),
      request('CopyObject', { 'x-amz-copy-source': '/b/k?versionId=null', 'x-amz-expected-bucket-owner': '000000000000' }),
      request('PutObject', {}, {}, 'k'.repeat(1024)),
      request('GetObject', {}, {}, 'k'.repeat(2000)),
      request('CreateBucket', { 'x-amz-bucket-object-lock-enabled': 'false' }),
      request('PutObject', { 'if-none-match': '*' }),
      request('CompleteMultipartUpload', { 'if-match': '"e"' }),
      request('DeleteObject', { 'if-match': '"e"' }),
      request('DeleteObjects', { 'content-md5': 'x' }),
      request('DeleteObjects', { 'x-amz-checksum-crc32': 'x', 'x-amz-sdk-checksum-algorithm': 'CRC32' }),
      request('DeleteObjects', { 'x-amz-checksum-crc64nvme': 'x' }),
      request('DeleteObjects', { 'x-amz-trailer': 'x-amz-checksum-crc32c' }),
      request('PutObject', { 'x-amz-acl': 'private' }),
      request('CopyObject', { 'x-amz-acl': 'bucket-owner-full-control' }),
      request('CreateMultipartUpload', { 'x-amz-acl': 'bucket-owner-full-control' }),
      request('CreateBucket', { 'x-amz-acl': 'private' }),
      request('CreateBucket', { 'x-amz-object-ownership': 'BucketOwnerEnforced' }),
      request('GetObject', { 'x-amz-acl': 'public-read' }),
    ]) {
      assert.doesNotThrow(() => refuseUnservable(r), JSON.stringify({ ...r, query: [...r.query] }).slice(0, 120));
    }
  });

  it('refuses what it cannot do with S3 errors', () => {
    const cases: Array<[GuardedRequest, new (m: string) => Error]> = [
      [request('PutObject', {}, {}, '€'.repeat(342)), KeyTooLongError],
      [request('CreateMultipartUpload', {}, {}, 'k'.repeat(1025)), KeyTooLongError],
      [request('DeleteObject', {}, { versionId: 'v1' }), InvalidArgumentError],
      [request('CopyObject', { 'x-amz-copy-source': '/b/k?versionId=v1' }), InvalidArgumentError],
      [request('PutObject', { 'if-none-match': '"e"' }), NotImplementedError],
      [request('CopyObject', { 'if-none-match': 'W/"e"' }), NotImplementedError],
      [request('DeleteObject', { 'if-none-match': '*' }), NotImplementedError],
      [request('PutObject', { 'x-amz-object-lock-legal-hold': 'ON' }), InvalidRequestError],
      [request('CreateBucket', { 'x-amz-bucket-object-lock-enabled': 'True' }), NotImplementedError],
      [request('GetObject', { 'x-amz-expected-bucket-owner': '111111111111' }), AccessDeniedError],
      [request('CopyObject', { 'x-amz-source-expected-bucket-owner': '111111111111' }), AccessDeniedError],
      [request('DeleteObjects'), InvalidRequestError],
      [request('DeleteObjects', { 'x-amz-sdk-checksum-algorithm': 'CRC32', 'x-amz-checksum-type': 'FULL_OBJECT' }), InvalidRequestError],
      [request('DeleteObjects', { 'x-amz-trailer': 'x-amz-meta-a' }), InvalidRequestError],
      [request('PutObject', { 'x-amz-acl': 'public-read' }), AccessControlListNotSupportedError],
      [request('CopyObject', { 'x-amz-acl': 'authenticated-read' }), AccessControlListNotSupportedError],
      [request('CreateMultipartUpload', { 'x-amz-acl': 'public-read-write' }), AccessControlListNotSupportedError],
      [request('PutObject', { 'x-amz-grant-read': 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' }), AccessControlListNotSupportedError],
      [request('PutObject', { 'x-amz-acl': 'private', 'x-amz-grant-full-control': 'id="someone"' }), AccessControlListNotSupportedError],
      [request('CreateBucket', { 'x-amz-acl': 'public-read' }), InvalidBucketAclWithObjectOwnershipError],
      [request('CreateBucket', { 'x-amz-grant-write': 'id="someone"' }), InvalidBucketAclWithObjectOwnershipError],
      [request('CreateBucket', { 'x-amz-object-ownership': 'ObjectWriter' }), NotImplementedError],
      [request('CreateBucket', { 'x-amz-object-ownership': 'BucketOwnerPreferred', 'x-amz-acl': 'public-read' }), NotImplementedError],
      [request('CreateBucket', { 'x-amz-object-ownership': 'Anyone' }), InvalidArgumentError],
    ];
    for (const [r, error] of cases) assert.throws(() => refuseUnservable(r), error, `${r.operation} ${JSON.stringify(r.headers)}`);
  });
});

describe('writeConditionOf', () => {
  it('reads If-Match and If-None-Match into a condition, and nothing without them', () => {
    assert.equal(writeConditionOf({}), undefined);
    assert.deepEqual(writeConditionOf({ 'if-none-match': '*' }), { ifNoneMatch: '*' });
    assert.deepEqual(writeConditionOf({ 'if-match': '"e"' }), { ifMatch: '"e"' });
    assert.deepEqual(writeConditionOf({ 'if-match': '"e"', 'if-none-match': '*' }), { ifMatch: '"e"', ifNoneMatch: '*' });
  });
});
