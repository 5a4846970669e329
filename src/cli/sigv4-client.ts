import { createHash, createHmac } from 'node:crypto';
import { canonicalRequest, deriveSigningKey, rootPrincipal, type ParsedSignature } from '../iam/index.js';

/** Credentials a CLI command signs with. */
export interface ClientCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * Sends one SigV4-signed POST of a form body to `endpoint` (the Query protocols: EC2,
 * IAM, STS), built with the same canonical-request code the server verifies with.
 * Resolves with the status and the body text; rejects only for network errors. Never
 * prints or logs the secret.
 */
export async function signedFormPost(
  endpoint: string, service: string, region: string, credentials: ClientCredentials, form: Record<string, string>, accountId = '000000000000',
): Promise<{ status: number; text: string }> {
  const url = new URL(endpoint);
  const body = new URLSearchParams(form).toString();
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const payloadHash = createHash('sha256').update(body).digest('hex');
  const headers: Array<[string, string]> = [
    ['content-type', 'application/x-www-form-urlencoded; charset=utf-8'],
    ['host', url.host],
    ['x-amz-content-sha256', payloadHash],
    ['x-amz-date', amzDate],
  ];
  const sig: ParsedSignature = {
    accessKeyId: credentials.accessKeyId, date, region, service, signedHeaders: headers.map(([k]) => k), signature: '', amzDate, presigned: false,
  };
  const path = url.pathname === '' ? '/' : url.pathname;
  const canonical = canonicalRequest({ method: 'POST', rawPath: path, rawQuery: '', headers }, sig, payloadHash);
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const key = deriveSigningKey({ ...credentials, principal: rootPrincipal(accountId) }, date, region, service);
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  const authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${sig.signedHeaders.join(';')}, Signature=${signature}`;
  const res = await fetch(new URL(path, endpoint), {
    method: 'POST',
    headers: Object.fromEntries([...headers.filter(([k]) => k !== 'host'), ['authorization', authorization]]),
    body,
  });
  return { status: res.status, text: await res.text() };
}
