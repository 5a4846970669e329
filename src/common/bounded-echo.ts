/**
 * AWS error messages quote the caller's value (`Invalid id: "…"`, `Value '…' at …`). A
 * caller-chosen value can be as long as the request allows (tens of KiB), and echoing it
 * whole would let one request make every error body, log line and audit record that big.
 */

/** How many characters of a caller's value an error message quotes. */
export const MAX_ECHOED_CHARS = 256;

/**
 * The longest error message put on the wire: a safety net for messages that quote a value
 * without echoed() (several quoted values, or a message built outside the wire layer).
 */
export const MAX_MESSAGE_CHARS = 1024;

/**
 * `text` as an error message quotes it: unchanged up to `max` characters, else its first
 * `max` characters (never half of a surrogate pair) followed by `...`. Never throws.
 */
export function echoed(text: string, max: number = MAX_ECHOED_CHARS): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  // A high surrogate at the cut would be half a character: cut before it.
  const end = code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
  return `${text.slice(0, end)}...`;
}
