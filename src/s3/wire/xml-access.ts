import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import type { PublicAccessBlock } from '../access/bucket-access-store.js';
import { MalformedXmlError } from '../errors.js';
import { S3_NS, xmlText } from './xml.js';

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false });
const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true });

function doc(root: string, body: Record<string, unknown>): string {
  return builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, [root]: { '@_xmlns': S3_NS, ...body } }) as string;
}

const FLAGS = [
  ['BlockPublicAcls', 'blockPublicAcls'],
  ['IgnorePublicAcls', 'ignorePublicAcls'],
  ['BlockPublicPolicy', 'blockPublicPolicy'],
  ['RestrictPublicBuckets', 'restrictPublicBuckets'],
] as const;

/** GetPublicAccessBlock result. */
export function publicAccessBlockXml(block: PublicAccessBlock): string {
  return doc('PublicAccessBlockConfiguration', Object.fromEntries(FLAGS.map(([wire, field]) => [wire, String(block[field])])));
}

/** GetBucketPolicyStatus result. */
export function policyStatusXml(isPublic: boolean): string {
  return doc('PolicyStatus', { IsPublic: String(isPublic) });
}

function flag(value: unknown): boolean {
  if (value === undefined) return false;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new MalformedXmlError('');
}

/** PutPublicAccessBlock body; absent flags are false, as S3 takes them. Raises MalformedXmlError. */
export function parsePublicAccessBlock(body: Buffer): PublicAccessBlock {
  let root: unknown;
  try {
    root = (parser.parse(xmlText(body)) as Record<string, unknown>)['PublicAccessBlockConfiguration'];
  } catch (err) {
    throw new MalformedXmlError('', { cause: err });
  }
  if (root === undefined || root === null) throw new MalformedXmlError('');
  const node = typeof root === 'object' ? (root as Record<string, unknown>) : {};
  return {
    blockPublicAcls: flag(node['BlockPublicAcls']),
    ignorePublicAcls: flag(node['IgnorePublicAcls']),
    blockPublicPolicy: flag(node['BlockPublicPolicy']),
    restrictPublicBuckets: flag(node['RestrictPublicBuckets']),
  };
}
