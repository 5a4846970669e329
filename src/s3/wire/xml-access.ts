import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import type { PublicAccessBlock } from '../access/bucket-access-store.js';
import { MalformedXmlError } from '../errors.js';
import { parseXmlDocument, S3_NS } from './xml.js';
import { S3_XML_BUILDER_OPTIONS, xmlEntityDecoder } from './xml-entities.js';

const builder = new XMLBuilder(S3_XML_BUILDER_OPTIONS);
// References resolved as in every S3 request document (xml-entities.ts): `&#116;rue` is true, `tr&#0;ue` is MalformedXML.
const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, entityDecoder: xmlEntityDecoder });

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
  // Validated, and the only document element, as every S3 request document (an unclosed tag or a second root is MalformedXML).
  const root = parseXmlDocument(parser, body, 'PublicAccessBlockConfiguration');
  if (root === undefined || root === null) throw new MalformedXmlError('');
  const node = typeof root === 'object' ? (root as Record<string, unknown>) : {};
  return {
    blockPublicAcls: flag(node['BlockPublicAcls']),
    ignorePublicAcls: flag(node['IgnorePublicAcls']),
    blockPublicPolicy: flag(node['BlockPublicPolicy']),
    restrictPublicBuckets: flag(node['RestrictPublicBuckets']),
  };
}
