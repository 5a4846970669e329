// With the u flag a paired surrogate is one code point, so only a lone one is in Cs.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Whether `text` holds a lone (unpaired) surrogate, i.e. is not well-formed Unicode. Such
 * text has no UTF-8 form: encoding writes U+FFFD for every lone surrogate, so two different
 * strings would become the same bytes (an encryption context bound as another one). The
 * KMS encryption context and S3's SSE context header refuse it. Never raises.
 */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}
