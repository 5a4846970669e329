import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketCorsCommand,
  GetBucketCorsCommand,
  PutBucketCorsCommand,
  type CORSRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { FinalizeHandler, FinalizeHandlerArguments, MetadataBearer } from '@smithy/types';
import { testServerFixture } from '../helpers/server.js';
import { errorCode } from './helpers.js';

const B = 'cors-lake';
const RULES: CORSRule[] = [
  {
    ID: 'app',
    AllowedOrigins: ['https://app.example.com', 'https://*.tools.example.com'],
    AllowedMethods: ['GET', 'PUT', 'HEAD'],
    AllowedHeaders: ['Content-Type', 'x-amz-*'],
    ExposeHeaders: ['ETag', 'x-amz-request-id'],
    MaxAgeSeconds: 600,
  },
  { AllowedOrigins: ['*'], AllowedMethods: ['GET'] },
];

/** `client` with every integrity header (Content-MD5, x-amz-checksum-*) dropped before signing. */
function withoutDigest(client: S3Client): S3Client {
  client.middlewareStack.addRelativeTo(
    (next: FinalizeHandler<object, MetadataBearer>) => async (args: FinalizeHandlerArguments<object>) => {
      const headers = (args.request as { headers?: Record<string, string> }).headers ?? {};
      for (const h of Object.keys(headers)) if (/^(content-md5|x-amz-checksum-|x-amz-sdk-checksum-)/i.test(h)) delete headers[h];
      return next(args);
    },
    { relation: 'before', toMiddleware: 'httpSigningMiddleware', name: 'dropDigest' },
  );
  return client;
}

describe('S3 bucket CORS: Put/Get/DeleteBucketCors', () => {
  const fx = testServerFixture(async ({ s3 }) => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });

  it('round trip: Get answers the rules as put; Delete answers 204 and Get then NoSuchCORSConfiguration', async () => {
    assert.equal(await errorCode(fx.s3.send(new GetBucketCorsCommand({ Bucket: B }))), '404 NoSuchCORSConfiguration');
    await fx.s3.send(new PutBucketCorsCommand({ Bucket: B, CORSConfiguration: { CORSRules: RULES } }));
    const got = await fx.s3.send(new GetBucketCorsCommand({ Bucket: B }));
    assert.deepEqual(got.CORSRules, RULES);
    const del = await fx.s3.send(new DeleteBucketCorsCommand({ Bucket: B }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    assert.equal(await errorCode(fx.s3.send(new GetBucketCorsCommand({ Bucket: B }))), '404 NoSuchCORSConfiguration');
    // Deleting what is not there is still 204, as S3.
    assert.equal((await fx.s3.send(new DeleteBucketCorsCommand({ Bucket: B }))).$metadata.httpStatusCode, 204);
  });

  it('a missing bucket is NoSuchBucket for all three', async () => {
    assert.equal(await errorCode(fx.s3.send(new PutBucketCorsCommand({ Bucket: 'no-such-cors', CORSConfiguration: { CORSRules: RULES } }))), '404 NoSuchBucket');
    assert.equal(await errorCode(fx.s3.send(new GetBucketCorsCommand({ Bucket: 'no-such-cors' }))), '404 NoSuchBucket');
    assert.equal(await errorCode(fx.s3.send(new DeleteBucketCorsCommand({ Bucket: 'no-such-cors' }))), '404 NoSuchBucket');
  });

  it('refuses what S3 refuses: unsupported method, two wildcards, wildcard ExposeHeader (InvalidRequest); no rule, over 100 rules, a rule without origin (MalformedXML)', async () => {
    const put = (rules: CORSRule[]) => errorCode(fx.s3.send(new PutBucketCorsCommand({ Bucket: B, CORSConfiguration: { CORSRules: rules } })));
    assert.equal(await put([{ AllowedOrigins: ['*'], AllowedMethods: ['GET', 'PATCH'] }]), '400 InvalidRequest');
    assert.equal(await put([{ AllowedOrigins: ['*'], AllowedMethods: ['OPTIONS'] }]), '400 InvalidRequest');
    assert.equal(await put([{ AllowedOrigins: ['https://*.example.*'], AllowedMethods: ['GET'] }]), '400 InvalidRequest');
    assert.equal(await put([{ AllowedOrigins: ['*'], AllowedMethods: ['GET'], AllowedHeaders: ['x-*-*'] }]), '400 InvalidRequest');
    assert.equal(await put([{ AllowedOrigins: ['*'], AllowedMethods: ['GET'], ExposeHeaders: ['*'] }]), '400 InvalidRequest');
    assert.equal(await put([]), '400 MalformedXML');
    assert.equal(await put(Array.from({ length: 101 }, () => ({ AllowedOrigins: ['*'], AllowedMethods: ['GET'] }))), '400 MalformedXML');
    assert.equal(await put([{ AllowedOrigins: [], AllowedMethods: ['GET'] }]), '400 MalformedXML');
    // 100 rules is the limit, not over it.
    await fx.s3.send(new PutBucketCorsCommand({ Bucket: B, CORSConfiguration: { CORSRules: Array.from({ length: 100 }, () => ({ AllowedOrigins: ['*'], AllowedMethods: ['GET'] })) } }));
    assert.equal((await fx.s3.send(new GetBucketCorsCommand({ Bucket: B }))).CORSRules?.length, 100);
    await fx.s3.send(new DeleteBucketCorsCommand({ Bucket: B }));
  });

  it('PutBucketCors without Content-MD5 or a checksum is InvalidRequest, and stores nothing', async () => {
    const bare = withoutDigest(fx.server.s3());
    assert.equal(await errorCode(bare.send(new PutBucketCorsCommand({ Bucket: B, CORSConfiguration: { CORSRules: RULES } }))), '400 InvalidRequest');
    assert.equal(await errorCode(fx.s3.send(new GetBucketCorsCommand({ Bucket: B }))), '404 NoSuchCORSConfiguration');
  });
});
