/**
 * HTTP dates (IMF-fixdate, RFC 9110 §5.6.7: `Sun, 06 Nov 1994 08:49:37 GMT`) for S3's Date
 * and Last-Modified headers, exactly as `Date.prototype.toUTCString` writes them.
 *
 * Why not toUTCString: V8 formats it in C++ through snprintf (≈ 6k instructions a call by
 * callgrind, two calls per GET and one per PUT); these are string concatenations of cached
 * pieces, and the Date header of every answer in the same second is the same string.
 */

const DAYS: readonly string[] = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS: readonly string[] = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** '00'…'59': every two-digit field (day of month, hour, minute, second). */
const TWO_DIGITS: readonly string[] = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));

/**
 * `d.toUTCString()`, the same string for every date: years 1000–9999 are written here, any
 * other (and an invalid date) by toUTCString itself. Pure; never throws.
 */
export function httpDate(d: Date): string {
  const year = d.getUTCFullYear();
  // NaN (an invalid date) fails both comparisons too.
  if (!(year >= 1000 && year <= 9999)) return d.toUTCString();
  return `${DAYS[d.getUTCDay()]!}, ${TWO_DIGITS[d.getUTCDate()]!} ${MONTHS[d.getUTCMonth()]!} ${year} ${TWO_DIGITS[d.getUTCHours()]!}:${TWO_DIGITS[d.getUTCMinutes()]!}:${TWO_DIGITS[d.getUTCSeconds()]!} GMT`;
}

/** The second last formatted by httpDateNow, and its string. */
let lastSecond = NaN;
let lastText = '';

/**
 * httpDate of `now` (the clock's current time, for a Date header): the string of the last
 * call is returned again while the second is the same, so a busy server formats it once
 * a second. Exact for any clock (a test's manual clock too): keyed on the second itself.
 */
export function httpDateNow(now: Date): string {
  const second = Math.floor(now.getTime() / 1000);
  if (second !== lastSecond) {
    lastText = httpDate(now);
    lastSecond = second;
  }
  return lastText;
}
