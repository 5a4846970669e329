import { XMLParser } from 'fast-xml-parser';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../helpers/signed-request.js';
import { TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, isArray: (name) => name === 'item' });

/** A parsed EC2 answer: status, the response element's fields (or the error's code and message). */
export interface Ec2Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly code?: string;
  readonly message?: string;
  readonly text: string;
}

/**
 * Sends one EC2 Query request (Action + parameters, Version 2016-11-15) signed with the
 * SDK's own SigV4 signer for service `ec2`, and parses the XML answer. `signingDate`
 * lets a test sign at a ManualClock time. Never throws for an HTTP error status.
 */
export async function ec2(endpoint: string, action: string, params: Record<string, string> = {}, signingDate?: Date): Promise<Ec2Answer> {
  const url = new URL(endpoint);
  const body = new URLSearchParams({ Action: action, Version: '2016-11-15', ...params }).toString();
  const headers = { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
  const signer = new SignatureV4({
    credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
    region: TEST_REGION,
    service: 'ec2',
    sha256: NodeSha256,
  });
  const signed = await signer.sign(
    { method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: '/', query: {}, headers, body },
    signingDate !== undefined ? { signingDate } : {},
  );
  const { host: _host, ...send } = signed.headers as Record<string, string>;
  const res = await fetch(new URL('/', endpoint), { method: 'POST', headers: send, body });
  const text = await res.text();
  const doc = parser.parse(text) as Record<string, Record<string, unknown>>;
  if (res.status !== 200) {
    const error = (doc.Response?.Errors as { Error?: { Code?: string; Message?: string } } | undefined)?.Error;
    return { status: res.status, body: {}, text, ...(error?.Code !== undefined ? { code: error.Code } : {}), ...(error?.Message !== undefined ? { message: error.Message } : {}) };
  }
  return { status: res.status, body: doc[`${action}Response`] ?? {}, text };
}

/** The `<item>` list under `name`, or []. */
export function items(body: Record<string, unknown>, name: string): Array<Record<string, unknown>> {
  const set = body[name] as { item?: Array<Record<string, unknown>> } | '' | undefined;
  return set === undefined || set === '' ? [] : (set.item ?? []);
}
