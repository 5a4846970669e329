/**
 * The audited requests the audit benchmarks replay without a server (audit-pipeline.ts,
 * audit-encode.ts): a 4 KiB SSE-KMS S3 PUT (the GenerateDataKey S3 makes on the caller's
 * behalf, invokedBy s3.amazonaws.com, then the PutObject) or a KMS GenerateDataKey call, each
 * handed to an EdgeAuditor exactly as the edge hands it (kmsCallAuditor, s3Event), over 64
 * object keys of one bucket.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { randomUuid } from '../src/crypto/random-pool.js';
import type { Principal } from '../src/iam/principals.js';
import type { CallContext } from '../src/kms/kms-context.js';
import { kmsCallAuditor } from '../src/net/edge-ec2.js';
import type { EdgeAuditor, S3EdgeOutcome, S3EdgeRequest } from '../src/net/edge-router.js';
import { s3Event } from '../src/net/edge-s3-params.js';

export type AuditWorkload = 's3' | 'kms';

export const SAMPLE_ACCOUNT = '000000000000';
export const SAMPLE_REGION = 'us-east-1';
const KEY_ID = '1b0e6f3c-6f0e-4d5e-9a3b-2c1d0e9f8a7b';
const KEY_ARN = `arn:aws:kms:${SAMPLE_REGION}:${SAMPLE_ACCOUNT}:key/${KEY_ID}`;
const principal: Principal = Object.freeze({ type: 'Root', arn: `arn:aws:iam::${SAMPLE_ACCOUNT}:root`, accountId: SAMPLE_ACCOUNT, principalId: SAMPLE_ACCOUNT });
const call: CallContext = Object.freeze({ principal, accessKeyId: 'AKIABENCHBENCH000001', sourceIp: '127.0.0.1', secureTransport: false });
const onBehalf: CallContext = Object.freeze({ ...call, viaService: 's3.amazonaws.com' });

/** The records of one request: `n` numbers it (it picks the object key); resolves once `auditor` recorded them. */
export type SampleRequest = (n: number) => Promise<void>;

export function sampleRequests(workload: AuditWorkload, auditor: EdgeAuditor): SampleRequest {
  const kmsRecord = kmsCallAuditor(auditor, { now: () => new Date() });
  // s3Event reads the request's headers, the response's declared length, the signature and
  // the channel; one request and response stand for all (the record does not keep them).
  const req = new IncomingMessage(new Socket());
  req.headers = { 'content-length': '4096', host: '127.0.0.1:9000' };
  const res = new ServerResponse(req);
  return async (n) => {
    const key = `obj-${n % 64}`;
    const generateDataKey = {
      operation: 'GenerateDataKey' as const,
      keyIdentifier: KEY_ARN,
      call: workload === 's3' ? onBehalf : call,
      requestParameters: { encryptionContext: { 'aws:s3:arn': `arn:aws:s3:::audit-bench/${key}` }, keyId: 'alias/aws/s3', keySpec: 'AES_256' },
      material: { keyId: KEY_ID, version: 1 },
    };
    await kmsRecord(generateDataKey);
    if (workload === 'kms') return;
    const request: Pick<S3EdgeRequest, 'req' | 'res' | 'requestId' | 'time' | 'signature' | 'sourceIp' | 'secureTransport'> = {
      req,
      res,
      requestId: randomUuid(), // as the edge makes it (edge-router.ts)
      time: new Date(),
      sourceIp: '127.0.0.1',
      secureTransport: false,
      signature: { presigned: false } as S3EdgeRequest['signature'],
    };
    const outcome: S3EdgeOutcome = { operation: 'PutObject', readOnly: false, userAgent: 'undici', host: '127.0.0.1:9000', bucket: 'audit-bench', key, query: new Map(), call, keyIdentifier: KEY_ARN, sse: { mode: 'SSE-KMS', bucketKey: false }, status: 200 };
    // Only the fields above are read (see s3Event); the rest of a live request is not needed.
    await auditor.record(s3Event(outcome, request as S3EdgeRequest));
  };
}
