/**
 * The parameters of an AWS Query protocol request (IAM, STS, EC2): the URL's query string and
 * the form-encoded body, which the protocol both allows, as one map; a name in both takes the
 * body's value, and a name repeated within one takes its last. Decodes as URLSearchParams does
 * (`+` is a space; escaped bytes that are not UTF-8 become U+FFFD). Never raises.
 */
export function parseQueryForm(body: string, rawQuery: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const source of [rawQuery, body]) {
    for (const [k, v] of new URLSearchParams(source)) map.set(k, v);
  }
  return map;
}
