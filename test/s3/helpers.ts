import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, type GetObjectCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { sdkRefusal } from '../helpers/sdk-outcome.js';
import type { TestServer } from '../helpers/server.js';

/** Marks every request of `client` as arriving through a trusted TLS proxy (config s3.trustedProxyHttpsHeader = x-forwarded-proto). */
export function viaTrustedProxy(client: S3Client): S3Client {
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers !== undefined) request.headers['x-forwarded-proto'] = 'https';
      return next(args);
    },
    { step: 'build', name: 'trustedProxyHeader' },
  );
  return client;
}

/** A fresh SSE-C key with the request fields the SDK takes. */
export function customerKey(): { SSECustomerAlgorithm: 'AES256'; SSECustomerKey: string; SSECustomerKeyMD5: string } {
  const key = randomBytes(32);
  return { SSECustomerAlgorithm: 'AES256', SSECustomerKey: key.toString('base64'), SSECustomerKeyMD5: createHash('md5').update(key).digest('base64') };
}

/** The status and S3 error code of a rejected SDK call (`404 NotFound`); fails the test when the call succeeds. */
export async function errorCode(p: Promise<unknown>): Promise<string> {
  const r = await sdkRefusal(p);
  return `${r.status ?? '?'} ${r.code}`;
}

/** What a GET delivered (receiveGet). */
export interface Received {
  /** The bytes received before it ended. */
  readonly bytes: Buffer;
  /** It ended in an error: an error answer (then `status`, as errorCode) or a cut body. */
  readonly failed: boolean;
  readonly status?: string;
  readonly contentRange?: string;
  readonly partsCount?: number;
}

/**
 * A GET read to its end, never raising: what a client receives of a body that may fail part
 * way (the tamper and crash tests' measure: no byte past the verified prefix).
 */
export async function receiveGet(s3: S3Client, input: GetObjectCommandInput): Promise<Received> {
  let got;
  try {
    got = await s3.send(new GetObjectCommand(input));
  } catch (err) {
    return { bytes: Buffer.alloc(0), failed: true, status: await errorCode(Promise.reject(err)) };
  }
  const chunks: Buffer[] = [];
  const meta = { ...(got.ContentRange !== undefined ? { contentRange: got.ContentRange } : {}), ...(got.PartsCount !== undefined ? { partsCount: got.PartsCount } : {}) };
  try {
    for await (const c of got.Body as Readable) chunks.push(c as Buffer);
    return { bytes: Buffer.concat(chunks), failed: false, ...meta };
  } catch {
    return { bytes: Buffer.concat(chunks), failed: true, ...meta };
  }
}

/**
 * The aws:s3:arn of each GenerateDataKey S3 made under `keyId` while `action` ran, from the
 * audit (newest first): the object's ARN for a data key of its own, the bucket's for a bucket
 * key (none while one is cached). What a stored object used, which the answer's
 * BucketKeyEnabled alone does not show.
 */
export async function dataKeyArns(t: TestServer, keyId: string, action: () => Promise<unknown>): Promise<string[]> {
  const records = async () => {
    await t.server.audit.flush();
    return (await t.server.auditStore.lookup({ eventSource: 'kms.amazonaws.com', eventName: 'GenerateDataKey', keyId, limit: 1000 })).records;
  };
  const before = (await records()).length;
  await action();
  const after = await records();
  return after.slice(0, after.length - before).map((r) => String((r.event.requestParameters as { encryptionContext?: Record<string, string> } | undefined)?.encryptionContext?.['aws:s3:arn']));
}
