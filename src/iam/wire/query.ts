/**
 * The AWS Query protocol as IAM and STS speak it: form-encoded `Action=…&Version=…`
 * parameters in, XML out. The only module that knows those spellings' encoding.
 */
import { echoed } from '../../common/bounded-echo.js';
import { parseQueryForm } from '../../common/query-form.js';
import { escapeXml } from '../../common/xml-escape.js';
import { IamValidationError } from '../errors.js';

/** The two Query services on the edge and their XML namespaces. */
export type QueryService = 'iam' | 'sts';

export const QUERY_NAMESPACES: Record<QueryService, string> = {
  iam: 'https://iam.amazonaws.com/doc/2010-05-08/',
  sts: 'https://sts.amazonaws.com/doc/2011-06-15/',
};

/** A value rendered as XML: arrays become `<member>` lists, objects nested elements, undefined is omitted. */
export type XmlValue = string | number | boolean | Date | undefined | readonly XmlValue[] | { readonly [name: string]: XmlValue };

/** Typed reads of Query parameters, with IAM's ValidationError wording. */
export class QueryParams {
  constructor(private readonly params: ReadonlyMap<string, string>) {}

  /** Parses a form body (and the URL's query string, which the Query protocol also allows). */
  static parse(body: string, rawQuery: string): QueryParams {
    return new QueryParams(parseQueryForm(body, rawQuery));
  }

  optional(name: string): string | undefined {
    return this.params.get(name);
  }

  /** Whether a parameter is `name` itself or a member of it (`name.…`, e.g. `Tags.member.2.Key`). */
  mentions(name: string): boolean {
    if (this.params.has(name)) return true;
    const prefix = `${name}.`;
    for (const k of this.params.keys()) if (k.startsWith(prefix)) return true;
    return false;
  }

  required(name: string): string {
    const v = this.params.get(name);
    if (v === undefined || v === '') {
      throw new IamValidationError(`1 validation error detected: Value null at '${name[0]?.toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`);
    }
    return v;
  }

  integer(name: string): number | undefined {
    const v = this.params.get(name);
    if (v === undefined) return undefined;
    if (!/^-?\d{1,10}$/.test(v)) throw new IamValidationError(`Invalid value for parameter ${name}: ${echoed(v)}`);
    return Number(v);
  }

  /**
   * A list action's MaxItems, checked as IAM does (an integer from 1 to 1000, else
   * ValidationError); undefined when absent. The list routes page by it (paging.ts).
   */
  maxItems(): number | undefined {
    const v = this.integer('MaxItems');
    if (v === undefined || (v >= 1 && v <= 1000)) return v;
    const bound = v < 1 ? 'greater than or equal to 1' : 'less than or equal to 1000';
    throw new IamValidationError(`1 validation error detected: Value '${v}' at 'maxItems' failed to satisfy constraint: Member must have value ${bound}`);
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T {
    const v = this.required(name);
    if (!(values as readonly string[]).includes(v)) {
      throw new IamValidationError(`1 validation error detected: Value '${echoed(v)}' at '${name[0]?.toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must satisfy enum value set: [${values.join(', ')}]`);
    }
    return v as T;
  }
}

function render(name: string, value: XmlValue): string {
  if (value === undefined) return '';
  if (value instanceof Date) return `<${name}>${value.toISOString().replace(/\.\d{3}Z$/, 'Z')}</${name}>`;
  if (Array.isArray(value)) return `<${name}>${(value as readonly XmlValue[]).map((v) => render('member', v)).join('')}</${name}>`;
  if (typeof value === 'object') {
    return `<${name}>${Object.entries(value as Record<string, XmlValue>).map(([k, v]) => render(k, v)).join('')}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** `<ActionResponse xmlns=…><ActionResult>…</ActionResult><ResponseMetadata>…</ResponseMetadata></ActionResponse>`. */
export function queryResponse(service: QueryService, action: string, result: Readonly<Record<string, XmlValue>> | undefined, requestId: string): string {
  const inner = result === undefined ? '' : render(`${action}Result`, result);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${QUERY_NAMESPACES[service]}">${inner}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
}

/** The Query protocol's error document. */
export function queryError(service: QueryService, code: string, message: string, requestId: string, type: 'Sender' | 'Receiver' = 'Sender'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${QUERY_NAMESPACES[service]}"><Error><Type>${type}</Type><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}
