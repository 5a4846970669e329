import { CipherlakeError } from '../../common/errors.js';

/**
 * A policy document that AWS would refuse: bad JSON, an unknown element, a wrong value
 * type, a missing required element, an unknown condition operator, or a document over the
 * size limit. The message names the element and the statement (by index and Sid) so the
 * author can fix it; it quotes only policy text, which is never secret.
 */
export class MalformedPolicyDocumentError extends CipherlakeError {
  readonly userError = true;
}
