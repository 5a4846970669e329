// The writer thread's reader of a record's lookup-columns line (audit-writer.ts, splitRecords):
// `[eventTime, eventMs, eventName, eventSource, errorCode, accessDenied]` as the request
// thread writes it (src/audit/README.md, "The writer thread").

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const ZERO = 0x30;
const N = 0x6e;
/** Strings of a column remembered for reuse (round robin): event names and sources repeat, times for a second. */
const REMEMBERED = 8;

/** A column's remembered strings, each the bytes it was read from (they are ASCII: one byte per char). */
interface ColumnStrings {
  readonly strings: string[];
  next: number;
}

const remembered: ColumnStrings[] = Array.from({ length: 6 }, () => ({ strings: [], next: 0 }));

/**
 * The columns line at `bytes[start, end)` parsed as JSON.parse parses it, for the shape our
 * encoder writes: six elements, each a string of printable ASCII without escapes, an integer
 * of at most 15 digits, or null, with no whitespace. Anything else (another shape, an escape,
 * a non-ASCII byte, a fraction, an exponent, a sign, a leading zero) returns undefined: the
 * caller then runs JSON.parse, whose result or error stands. Why: JSON.parse over a string
 * decoded from the bytes cost ~0.6 µs per record (perf: ~5% of the writer thread's
 * ingestion), most of it allocating the array's strings afresh; these strings are mostly the
 * ones the record before had (the same event name, source and second), so a remembered one is
 * returned when the bytes match it.
 */
export function parseColumnsLine(bytes: Uint8Array, start: number, end: number): unknown[] | undefined {
  if (end - start < 2 || bytes[start] !== OPEN) return undefined;
  const out: unknown[] = [undefined, undefined, undefined, undefined, undefined, undefined];
  let i = start + 1;
  for (let col = 0; col < 6; col++) {
    const c = bytes[i];
    if (c === QUOTE) {
      const from = ++i;
      for (;;) {
        if (i >= end) return undefined;
        const x = bytes[i] as number;
        if (x === QUOTE) break;
        if (x === BACKSLASH || x < 0x20 || x > 0x7e) return undefined;
        i++;
      }
      out[col] = columnString(bytes, from, i, remembered[col] as ColumnStrings);
      i++;
    } else if (c === N) {
      if (bytes[i + 1] !== 0x75 || bytes[i + 2] !== 0x6c || bytes[i + 3] !== 0x6c) return undefined;
      out[col] = null;
      i += 4;
    } else {
      // JSON integers: 0, or a non-zero digit and more digits; 15 digits stay exact in a double.
      const from = i;
      let n = 0;
      if (c === ZERO) i++;
      else {
        while (i < end) {
          const d = (bytes[i] as number) - ZERO;
          if (d < 0 || d > 9) break;
          n = n * 10 + d;
          i++;
        }
      }
      if (i === from || i - from > 15) return undefined;
      out[col] = n;
    }
    if (bytes[i] !== (col === 5 ? CLOSE : COMMA)) return undefined;
    i++;
  }
  return i === end ? out : undefined;
}

/** The string of ASCII `bytes[from, to)`: one remembered for this column when the bytes match it, else a new one (then remembered). */
function columnString(bytes: Uint8Array, from: number, to: number, column: ColumnStrings): string {
  const length = to - from;
  const { strings } = column;
  for (let k = 0; k < strings.length; k++) {
    const s = strings[k] as string;
    if (s.length !== length) continue;
    let j = 0;
    while (j < length && s.charCodeAt(j) === bytes[from + j]) j++;
    if (j === length) return s;
  }
  const s = Buffer.from(bytes.buffer, bytes.byteOffset + from, length).toString('latin1');
  strings[column.next] = s;
  column.next = (column.next + 1) % REMEMBERED;
  return s;
}
