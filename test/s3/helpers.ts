import { createHash, randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';

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

/** The S3 error code of a rejected SDK call. */
export async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const e = err as { Code?: string; name?: string; $metadata?: { httpStatusCode?: number } };
    return `${e.$metadata?.httpStatusCode ?? '?'} ${e.Code ?? e.name ?? '?'}`;
  }
  throw new Error('expected the call to fail');
}
