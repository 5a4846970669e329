import assert from 'node:assert/strict';

/**
 * How an AWS SDK v3 command ended, as a short comparable string: 'ok', or the refused
 * command's HTTP status and error name (`403 AccessDenied`; '?' when no status came back).
 */
export async function sdkOutcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    return `${e.$metadata?.httpStatusCode ?? '?'} ${e.name}`;
  }
}

/** What a refused AWS SDK v3 call reported. */
export interface SdkRefusal {
  /** The HTTP status; undefined when none came back (a connection error). */
  readonly status: number | undefined;
  /** The error code: the body's `Code` (S3's XML), else the SDK's error name (JSON and Query protocols, or a HEAD, which has no body). */
  readonly code: string;
  readonly message: string;
}

/**
 * The status, code and message of a call that must be refused. Fails the test (an
 * AssertionError) when the call succeeds instead. Never retries or inspects anything else.
 */
export async function sdkRefusal(p: Promise<unknown>): Promise<SdkRefusal> {
  try {
    await p;
  } catch (err) {
    const e = err as { Code?: string; name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    return { status: e.$metadata?.httpStatusCode, code: e.Code ?? e.name ?? '?', message: e.message ?? '' };
  }
  assert.fail('expected the call to fail');
}
