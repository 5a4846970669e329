/**
 * EC2's Query protocol XML (API version 2016-11-15): responses are
 * `<ActionResponse xmlns=…><requestId>…</requestId>…</ActionResponse>`, lists are `<item>`
 * elements, errors are `<Response><Errors><Error>…</Error></Errors><RequestID>…</RequestID></Response>`.
 * The only module that writes those spellings.
 */
import { escapeXml } from '../../common/xml-escape.js';

/** The EC2 XML namespace of API version 2016-11-15. */
export const EC2_NAMESPACE = 'http://ec2.amazonaws.com/doc/2016-11-15/';
/** The API version we answer to. */
export const EC2_API_VERSION = '2016-11-15';

/** A value rendered as EC2 XML: arrays become `<item>` lists, objects nested elements, undefined is omitted. */
export type Ec2Xml = string | number | boolean | Date | undefined | readonly Ec2Xml[] | { readonly [name: string]: Ec2Xml };

/** Fields of a response body, in order. */
export type Ec2Fields = { readonly [name: string]: Ec2Xml };

function render(name: string, value: Ec2Xml): string {
  if (value === undefined) return '';
  if (value instanceof Date) return `<${name}>${value.toISOString()}</${name}>`;
  if (Array.isArray(value)) return `<${name}>${(value as readonly Ec2Xml[]).map((v) => render('item', v)).join('')}</${name}>`;
  if (typeof value === 'object') return `<${name}>${renderFields(value as Ec2Fields)}</${name}>`;
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

function renderFields(fields: Ec2Fields): string {
  return Object.entries(fields).map(([k, v]) => render(k, v)).join('');
}

/** A successful response document for `action`. */
export function ec2Response(action: string, fields: Ec2Fields, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NAMESPACE}"><requestId>${escapeXml(requestId)}</requestId>${renderFields(fields)}</${action}Response>`;
}

/** EC2's error document. */
export function ec2ErrorResponse(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${escapeXml(requestId)}</RequestID></Response>`;
}
