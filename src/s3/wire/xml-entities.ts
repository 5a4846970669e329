import type { EntityDecoderOptions } from 'fast-xml-parser';
import { MalformedXmlError } from '../errors.js';

/** The five entities XML predefines; a request document can define no others (a DOCTYPE is refused). */
const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

// A reference (`&name;`, `&#N;`, `&#xH;`), or a bare `&`, which XML does not allow in text.
const REFERENCE = /&([^;&]*);|&/g;

/** Whether `cp` is a character XML 1.0 allows (its `Char` production): no NUL, no other C0 control but tab, LF, CR, no surrogate. */
function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

function resolve(ref: string): string {
  const named = Object.hasOwn(PREDEFINED, ref) ? PREDEFINED[ref] : undefined;
  if (named !== undefined) return named;
  const cp = /^#x[0-9A-Fa-f]{1,6}$/.test(ref) ? parseInt(ref.slice(2), 16) : /^#[0-9]{1,7}$/.test(ref) ? parseInt(ref.slice(1), 10) : NaN;
  if (!isXmlChar(cp)) throw new MalformedXmlError('');
  return String.fromCodePoint(cp);
}

/**
 * The text of an element with its references resolved in one pass, as an XML parser must:
 * the predefined entities and character references (`&#10;`, `&#x0A;`). SDKs write those
 * for characters in keys, tags and ETags (the AWS SDK for JavaScript `&#x0A;` for LF, Go's
 * encoder `&#34;` for `"`), so read literally they name another key. Raises
 * MalformedXmlError for an unknown entity, a bare `&` or a reference to a character XML
 * does not allow (such as `&#0;`). Never expands anything else.
 */
export function decodeXmlText(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(REFERENCE, (_m: string, ref: string | undefined) => {
    if (ref === undefined) throw new MalformedXmlError('');
    return resolve(ref);
  });
}

/**
 * The entity decoder for fast-xml-parser (its `entityDecoder` option): `decodeXmlText` for
 * element text. Stateless, so one instance serves every parser; entity declarations are
 * never added (documents with a DOCTYPE are refused before parsing).
 */
export const xmlEntityDecoder: EntityDecoderOptions = {
  setExternalEntities: () => undefined,
  addInputEntities: () => {
    throw new MalformedXmlError('');
  },
  reset: () => undefined,
  decode: decodeXmlText,
  setXmlVersion: () => undefined,
};

/**
 * Options for S3's XML builders: attributes as `@_name`, empty elements kept, and text
 * escaped as the builder does (& < > ' ") plus CR as `&#13;`, which S3 writes too. A raw CR
 * would reach the client as LF (XML parsers normalise line ends), so a key listed or echoed
 * with a CR would name another key.
 */
export const S3_XML_BUILDER_OPTIONS = {
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: false,
  // fast-xml-builder's `entities` (its defaults, `&` first, then CR); not in its typings.
  entities: [
    { regex: /&/g, val: '&amp;' },
    { regex: />/g, val: '&gt;' },
    { regex: /</g, val: '&lt;' },
    { regex: /'/g, val: '&apos;' },
    { regex: /"/g, val: '&quot;' },
    { regex: /\r/g, val: '&#13;' },
  ],
};
