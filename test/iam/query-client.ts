import { KMSClient } from '@aws-sdk/client-kms';
import { SignatureV4 } from '@smithy/signature-v4';
import { XMLParser } from 'fast-xml-parser';
import { NodeSha256 } from '../helpers/signed-request.js';
import { TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY, type TestServer } from '../helpers/server.js';

/** Credentials for a signed Query request (root's by default). */
export interface QueryCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface QueryResult {
  readonly status: number;
  readonly text: string;
  /** The parsed XML document. */
  readonly xml: Record<string, unknown>;
}

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false });

/**
 * Sends one IAM or STS Query request (form body, SigV4 with the SDK's signer) and returns
 * the status and parsed XML. Never throws for an HTTP error status.
 */
export async function queryRequest(
  endpoint: string,
  service: 'iam' | 'sts',
  params: Record<string, string>,
  credentials: QueryCredentials = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
  signingDate?: Date,
): Promise<QueryResult> {
  const url = new URL(endpoint);
  const body = new URLSearchParams({ Version: service === 'iam' ? '2010-05-08' : '2011-06-15', ...params }).toString();
  const signer = new SignatureV4({ credentials, region: TEST_REGION, service, sha256: NodeSha256 });
  const signed = await signer.sign(
    { method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: '/', query: {}, headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body },
    signingDate !== undefined ? { signingDate } : {},
  );
  const { host: _host, ...headers } = signed.headers as Record<string, string>;
  const res = await fetch(new URL('/', endpoint), { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, text, xml: parser.parse(text) as Record<string, unknown> };
}

/** Reads a nested element of a parsed document, e.g. `at(xml, 'CreateUserResponse', 'CreateUserResult', 'User', 'Arn')`. */
export function at(xml: unknown, ...path: string[]): string {
  let node: unknown = xml;
  for (const step of path) node = (node as Record<string, unknown> | undefined)?.[step];
  if (typeof node !== 'string') throw new Error(`no text at ${path.join('/')}`);
  return node;
}

/** The error code of a Query error document. */
export function errorCode(r: QueryResult): string {
  return at(r.xml, 'ErrorResponse', 'Error', 'Code');
}

/**
 * Creates IAM user `name` as the root, with the inline policy `policy` (named 'p') when given,
 * and an access key for it; returns that key's credentials. Throws with the refused call's
 * status and body (never a secret: only a refusal is quoted) when any of the calls fails.
 */
export async function newUserKey(endpoint: string, name: string, policy?: string, signingDate?: Date): Promise<QueryCredentials> {
  const iam = async (params: Record<string, string>): Promise<Record<string, unknown>> => {
    const r = await queryRequest(endpoint, 'iam', params, undefined, signingDate);
    if (r.status !== 200) throw new Error(`${params.Action ?? ''} answered ${r.status}: ${r.text}`);
    return r.xml;
  };
  await iam({ Action: 'CreateUser', UserName: name });
  if (policy !== undefined) await iam({ Action: 'PutUserPolicy', UserName: name, PolicyName: 'p', PolicyDocument: policy });
  const xml = await iam({ Action: 'CreateAccessKey', UserName: name });
  const key = ['CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey'];
  return { accessKeyId: at(xml, ...key, 'AccessKeyId'), secretAccessKey: at(xml, ...key, 'SecretAccessKey') };
}

/**
 * KMS clients (AWS SDK v3, one attempt) signing as new IAM users of a test server: each user
 * is made by newUserKey as the root, signed at the server's clock. destroy() closes every
 * client made so far (call it in `after`).
 */
export class UserKmsClients {
  readonly #clients: KMSClient[] = [];

  /** A client signing as new user `name`, with the inline policy `policy` (none by default). Throws as newUserKey does. */
  async create(t: TestServer, name: string, policy?: string): Promise<KMSClient> {
    const credentials = await newUserKey(t.endpoint, name, policy, t.clock.now());
    const c = new KMSClient({ endpoint: t.endpoint, region: TEST_REGION, credentials, maxAttempts: 1 });
    this.#clients.push(c);
    return c;
  }

  destroy(): void {
    for (const c of this.#clients.splice(0)) c.destroy();
  }
}
