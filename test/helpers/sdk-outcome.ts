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
