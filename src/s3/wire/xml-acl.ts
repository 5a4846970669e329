import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { MalformedXmlError } from '../errors.js';
import { parseXmlDocument, S3_NS, type Owner } from './xml.js';
import { S3_XML_BUILDER_OPTIONS, xmlEntityDecoder } from './xml-entities.js';

const builder = new XMLBuilder(S3_XML_BUILDER_OPTIONS);
// References resolved as in every S3 request document (xml-entities.ts); Grant always a list.
const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, entityDecoder: xmlEntityDecoder, isArray: (name) => name === 'Grant' });

type Node = Record<string, unknown>;

/**
 * GetBucketAcl / GetObjectAcl result: the one grant a bucket with ACLs disabled has, the
 * owner's FULL_CONTROL ("Requests to read ACLs always return a response that shows full
 * control for the bucket owner", as S3 answers under Bucket owner enforced).
 */
export function ownerOnlyAclXml(owner: Owner): string {
  const grantee = { '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance', '@_xsi:type': 'CanonicalUser', ID: owner.id, DisplayName: owner.displayName };
  const body = { '@_xmlns': S3_NS, Owner: { ID: owner.id, DisplayName: owner.displayName }, AccessControlList: { Grant: [{ Grantee: grantee, Permission: 'FULL_CONTROL' }] } };
  return builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, AccessControlPolicy: body }) as string;
}

/** GetBucketOwnershipControls result: Bucket owner enforced, the only setting here. */
export function ownershipControlsXml(): string {
  const body = { '@_xmlns': S3_NS, Rule: { ObjectOwnership: 'BucketOwnerEnforced' } };
  return builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, OwnershipControls: body }) as string;
}

/** The Object Ownership settings S3 knows (OwnershipControlsRule); only BucketOwnerEnforced is served here. */
export type ObjectOwnership = 'BucketOwnerEnforced' | 'BucketOwnerPreferred' | 'ObjectWriter';
const OBJECT_OWNERSHIPS: ReadonlySet<string> = new Set<ObjectOwnership>(['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter']);

/**
 * The setting a PutBucketOwnershipControls `<OwnershipControls><Rule><ObjectOwnership>`
 * names. Raises MalformedXmlError for another document, no rule or more than one (S3 takes
 * exactly one), or a value S3 does not know. Pure.
 */
export function parseOwnershipControls(body: Buffer): ObjectOwnership {
  const root = parseXmlDocument(parser, body, 'OwnershipControls');
  const rule = root !== null && typeof root === 'object' ? (root as Node)['Rule'] : undefined;
  const value = rule !== null && typeof rule === 'object' && !Array.isArray(rule) ? (rule as Node)['ObjectOwnership'] : undefined;
  if (typeof value !== 'string' || !OBJECT_OWNERSHIPS.has(value)) throw new MalformedXmlError('');
  return value as ObjectOwnership;
}

/**
 * Whether a PutBucketAcl / PutObjectAcl `<AccessControlPolicy>` grants the owner FULL_CONTROL
 * and nothing else: the one ACL a bucket with ACLs disabled takes ("an equivalent form of
 * [bucket-owner-full-control] expressed in the XML format"). Raises MalformedXmlError for a
 * document that is not an AccessControlPolicy. Pure.
 */
export function grantsOwnerOnly(body: Buffer, owner: Owner): boolean {
  const root = parseXmlDocument(parser, body, 'AccessControlPolicy');
  if (root === null || typeof root !== 'object') throw new MalformedXmlError('');
  const list = (root as Node)['AccessControlList'];
  const grants = list !== null && typeof list === 'object' ? (list as Node)['Grant'] : undefined;
  if (!Array.isArray(grants) || grants.length === 0) return false;
  return grants.every((g: unknown) => {
    const grant = g !== null && typeof g === 'object' ? (g as Node) : {};
    const grantee = grant['Grantee'] !== null && typeof grant['Grantee'] === 'object' ? (grant['Grantee'] as Node) : {};
    // The owner named by ID and nothing else: a URI or EmailAddress beside it names another grantee.
    const ownerAlone = Object.keys(grantee).every((k) => k === 'ID' || k === 'DisplayName');
    return ownerAlone && grantee['ID'] === owner.id && grant['Permission'] === 'FULL_CONTROL';
  });
}
