/**
 * Wildcard patterns and policy-variable templates.
 *
 * A template is policy text split into pieces: raw text (where `*` and `?` are wildcards
 * when the element allows them), literal text (from the `${*}`, `${?}`, `${$}` escapes and
 * from substituted values, so a request value can never smuggle in a wildcard), and
 * variables `${key}` / `${key, 'default'}` resolved from the request context at evaluation.
 */

/** Pattern unit for `*`: any run of characters, including none. */
const STAR = -1;
/** Pattern unit for `?`: exactly one character. */
const ONE = -2;

/** A compiled wildcard pattern, ready to match. */
export type Glob =
  | { readonly kind: 'all' }
  | { readonly kind: 'exact'; readonly text: string }
  | { readonly kind: 'wild'; readonly units: readonly number[] };

type TemplatePart =
  | { readonly kind: 'raw'; readonly text: string }
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'variable'; readonly key: string; readonly fallback: string | undefined };

/** Policy text with its variables located; `hasVariables` false means it resolves to itself. */
export interface Template {
  readonly source: string;
  readonly parts: readonly TemplatePart[];
  readonly hasVariables: boolean;
  /** The case-sensitive wildcard pattern, precompiled when there are no variables. */
  readonly glob: Glob | undefined;
}

/**
 * The request's condition keys by lower-cased name. Only single-valued keys can be
 * variables; a multi-valued key leaves the variable unresolved, as in AWS.
 */
export type VariableLookup = ReadonlyMap<string, string | readonly string[]>;

const NO_VARIABLES: VariableLookup = new Map();

const ESCAPES: Readonly<Record<string, string>> = { '*': '*', '?': '?', $: '$' };
// `${ key }` or `${ key, 'default' }` where a quote inside the default is doubled.
const VARIABLE = /^\$\{\s*([A-Za-z0-9_:/.+=@-]+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?\}/;

/**
 * Splits policy text into a template. With `variables` false (policy Version 2008-10-17,
 * or operators that take no variables) the whole text is raw. Never throws: text that
 * looks like a variable but is not one stays raw, as AWS leaves it.
 */
export function compileTemplate(source: string, variables: boolean): Template {
  if (!variables || !source.includes('${')) {
    const parts: TemplatePart[] = [{ kind: 'raw', text: source }];
    return { source, parts, hasVariables: false, glob: buildGlob(parts, NO_VARIABLES, false) };
  }
  const parts: TemplatePart[] = [];
  let raw = '';
  let hasVariables = false;
  for (let i = 0; i < source.length; ) {
    const rest = source.slice(i);
    const escape = rest.length >= 4 && rest[3] === '}' && rest.startsWith('${') ? ESCAPES[rest[2] ?? ''] : undefined;
    const variable = escape === undefined && rest.startsWith('${') ? VARIABLE.exec(rest) : null;
    if (escape === undefined && variable === null) {
      raw += source[i];
      i += 1;
      continue;
    }
    if (raw !== '') parts.push({ kind: 'raw', text: raw });
    raw = '';
    if (escape !== undefined) {
      parts.push({ kind: 'literal', text: escape });
      i += 4;
    } else if (variable !== null) {
      const fallback = variable[2] === undefined ? undefined : variable[2].replaceAll("''", "'");
      parts.push({ kind: 'variable', key: (variable[1] ?? '').toLowerCase(), fallback });
      hasVariables = true;
      i += variable[0].length;
    }
  }
  if (raw !== '') parts.push({ kind: 'raw', text: raw });
  return { source, parts, hasVariables, glob: hasVariables ? undefined : buildGlob(parts, NO_VARIABLES, false) };
}

function resolvePart(part: TemplatePart, lookup: VariableLookup): string | undefined {
  switch (part.kind) {
    case 'raw':
    case 'literal':
      return part.text;
    case 'variable': {
      const value = lookup.get(part.key);
      return typeof value === 'string' ? value : part.fallback;
    }
    default: {
      const unreachable: never = part;
      return unreachable;
    }
  }
}

/**
 * Resolves a template to plain text, wildcards taken literally (StringEquals and kin).
 * Returns undefined when a variable has no value and no default: the caller must then
 * treat the element as not matching.
 */
export function resolveText(template: Template, lookup: VariableLookup): string | undefined {
  if (!template.hasVariables) return template.source;
  let out = '';
  for (const part of template.parts) {
    const text = resolvePart(part, lookup);
    if (text === undefined) return undefined;
    out += text;
  }
  return out;
}

/**
 * Resolves a template to a wildcard pattern: `*` and `?` in raw text are wildcards,
 * everything else (escapes, substituted values) is literal. With `lowerCase` the pattern
 * is folded for case-insensitive matching (the subject must be folded too).
 * Returns undefined when a variable cannot be resolved.
 */
export function resolveGlob(template: Template, lookup: VariableLookup, lowerCase = false): Glob | undefined {
  if (template.glob !== undefined && !lowerCase) return template.glob;
  return buildGlob(template.parts, lookup, lowerCase);
}

function buildGlob(parts: readonly TemplatePart[], lookup: VariableLookup, lowerCase: boolean): Glob | undefined {
  const units: number[] = [];
  let wild = false;
  let plain = '';
  for (const part of parts) {
    const text0 = resolvePart(part, lookup);
    if (text0 === undefined) return undefined;
    const text = lowerCase ? text0.toLowerCase() : text0;
    plain += text;
    for (let i = 0; i < text.length; i += 1) {
      const code = text.charCodeAt(i);
      if (part.kind === 'raw' && (code === 42 || code === 63)) {
        units.push(code === 42 ? STAR : ONE);
        wild = true;
      } else {
        units.push(code);
      }
    }
  }
  if (units.length === 1 && units[0] === STAR) return { kind: 'all' };
  if (!wild) return { kind: 'exact', text: plain };
  return { kind: 'wild', units };
}

/** Compiles policy text without variables straight to a pattern (Action, static values). */
export function compileGlob(source: string, lowerCase = false): Glob {
  const glob = resolveGlob(compileTemplate(source, false), NO_VARIABLES, lowerCase);
  // A template without variables always resolves.
  return glob ?? { kind: 'exact', text: source };
}

/** True when `subject` matches the whole pattern. Linear-time greedy matcher with backtracking to the last star. */
export function globMatches(glob: Glob, subject: string): boolean {
  switch (glob.kind) {
    case 'all':
      return true;
    case 'exact':
      return glob.text === subject;
    case 'wild':
      return matchUnits(glob.units, 0, glob.units.length, subject, 0, subject.length);
    default: {
      const unreachable: never = glob;
      return unreachable;
    }
  }
}

/** Matches units[p0, p1) against subject[s0, s1); exported for segment-wise ARN matching. */
export function matchUnits(
  units: readonly number[],
  p0: number,
  p1: number,
  subject: string,
  s0: number,
  s1: number,
): boolean {
  let p = p0;
  let s = s0;
  let starP = -1;
  let starS = s0;
  while (s < s1) {
    const unit = p < p1 ? units[p] : undefined;
    if (unit !== undefined && (unit === ONE || unit === subject.charCodeAt(s))) {
      p += 1;
      s += 1;
    } else if (unit === STAR) {
      starP = p;
      p += 1;
      starS = s;
    } else if (starP >= 0) {
      p = starP + 1;
      starS += 1;
      s = starS;
    } else {
      return false;
    }
  }
  while (p < p1 && units[p] === STAR) p += 1;
  return p === p1;
}

/** The units of a glob, for callers that split patterns (ARN segments). */
export function globUnits(glob: Glob): readonly number[] {
  switch (glob.kind) {
    case 'all':
      return [STAR];
    case 'exact': {
      const units: number[] = [];
      for (let i = 0; i < glob.text.length; i += 1) units.push(glob.text.charCodeAt(i));
      return units;
    }
    case 'wild':
      return glob.units;
    default: {
      const unreachable: never = glob;
      return unreachable;
    }
  }
}
