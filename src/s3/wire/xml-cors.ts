import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { checkCorsConfiguration, type CorsConfiguration, type CorsRule } from '../cors/cors-config.js';
import { MalformedXmlError } from '../errors.js';
import { parseXmlDocument, S3_NS } from './xml.js';
import { S3_XML_BUILDER_OPTIONS, xmlEntityDecoder } from './xml-entities.js';

const REPEATED = new Set(['CORSRule', 'AllowedMethod', 'AllowedOrigin', 'AllowedHeader', 'ExposeHeader']);
const RULE_ELEMENTS = new Set(['ID', 'MaxAgeSeconds', ...REPEATED]);

const builder = new XMLBuilder(S3_XML_BUILDER_OPTIONS);
// References resolved as in every S3 request document (xml-entities.ts); values trimmed: no
// origin, method or header name has significant surrounding whitespace.
const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, entityDecoder: xmlEntityDecoder, isArray: (name) => REPEATED.has(name) });

type Node = Record<string, unknown>;

/**
 * PutBucketCors's `<CORSConfiguration>`
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html), checked as S3
 * checks it (checkCorsConfiguration). Raises MalformedXmlError (not well-formed, another
 * document element, an element the schema does not have, a MaxAgeSeconds that is no integer)
 * and InvalidRequestError (see checkCorsConfiguration).
 */
export function parseCorsConfiguration(body: Buffer): CorsConfiguration {
  const root = parseXmlDocument(parser, body, 'CORSConfiguration');
  const node = isNode(root) ? root : {};
  if (Object.keys(node).some((k) => k !== 'CORSRule')) throw new MalformedXmlError('');
  const listed = node['CORSRule'];
  const rules = Array.isArray(listed) ? listed.map(ruleOf) : [];
  const config = { rules };
  checkCorsConfiguration(config);
  return config;
}

function ruleOf(raw: unknown): CorsRule & { readonly allowedMethods: readonly string[] } {
  if (!isNode(raw) || Object.keys(raw).some((k) => !RULE_ELEMENTS.has(k))) throw new MalformedXmlError('');
  const id = raw['ID'];
  const maxAge = raw['MaxAgeSeconds'];
  if ((id !== undefined && typeof id !== 'string') || (maxAge !== undefined && (typeof maxAge !== 'string' || !/^-?\d{1,10}$/.test(maxAge)))) {
    throw new MalformedXmlError('');
  }
  return {
    ...(id !== undefined ? { id } : {}),
    allowedMethods: texts(raw['AllowedMethod']),
    allowedOrigins: texts(raw['AllowedOrigin']),
    allowedHeaders: texts(raw['AllowedHeader']),
    exposeHeaders: texts(raw['ExposeHeader']),
    ...(maxAge !== undefined ? { maxAgeSeconds: Number(maxAge) } : {}),
  } as CorsRule & { readonly allowedMethods: readonly string[] };
}

/** A repeated element's values; an element with children instead of text is MalformedXML. */
function texts(value: unknown): string[] {
  if (value === undefined) return [];
  const list = value as unknown[];
  // An empty element parses as '' (trimmed text); one with children as an object.
  if (list.some((v) => typeof v !== 'string')) throw new MalformedXmlError('');
  return list as string[];
}

function isNode(v: unknown): v is Node {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * GetBucketCors result: the rules in the order they were put, each rule's elements in the
 * order of S3's response syntax. https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketCors.html
 */
export function corsConfigurationXml(config: CorsConfiguration): string {
  const rules = config.rules.map((r) => ({
    ...(r.allowedHeaders.length > 0 ? { AllowedHeader: r.allowedHeaders } : {}),
    AllowedMethod: r.allowedMethods,
    AllowedOrigin: r.allowedOrigins,
    ...(r.exposeHeaders.length > 0 ? { ExposeHeader: r.exposeHeaders } : {}),
    ...(r.id !== undefined ? { ID: r.id } : {}),
    ...(r.maxAgeSeconds !== undefined ? { MaxAgeSeconds: String(r.maxAgeSeconds) } : {}),
  }));
  return builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, CORSConfiguration: { '@_xmlns': S3_NS, CORSRule: rules } }) as string;
}
