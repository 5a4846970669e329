/**
 * Text for XML element content, the one escape the hand-written XML writers share (S3's
 * HeadersNotSigned, the IAM/STS Query documents, EC2's documents): the five predefined
 * entities, `&` first so no reference is escaped twice. The quotes need no escape in element
 * content, but escaping them too is what the Query writers always did and keeps the text safe
 * inside an attribute value as well. A carriage return becomes `&#13;`, as S3's writer and
 * AWS's Query services write it: a raw CR would reach the client as LF (XML's end-of-line
 * handling), so a CRLF in a tag value or description would not round-trip. Any other
 * character, another control character or a lone surrogate included, is passed through as it
 * is: callers write text they produced or echo (bounded) from a request, and the UTF-8 encoding
 * of the response turns a lone surrogate into U+FFFD. Never raises.
 */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\r/g, '&#13;');
}
