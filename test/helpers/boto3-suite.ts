import { after, before } from 'node:test';
import type { ManualClock } from '../../src/common/clock.js';
import { awsEnv, runPythonJson, scratch, type Scratch } from './client-run.js';
import { startTestServer, type TestServer } from './server.js';

/** How a boto3 suite's server and scratch directory are set up. */
export interface Boto3SuiteOptions {
  /** The scratch directory's name prefix. */
  readonly prefix: string;
  /** The environment variable the script reads the endpoint from (default ENDPOINT). */
  readonly endpointVar?: string;
  /** The server's clock (a RealTimeClock when boto3 signs against it or queries by time window). */
  readonly clock?: ManualClock;
}

/**
 * The set-up every boto3 suite shares: inside a describe, starts a test server and a scratch
 * directory before its tests (closed and removed after) and returns `section(name)`, which runs
 * `python3 script name` against the server with the root's credentials in a scratch AWS
 * environment and returns the JSON object the script printed.
 */
export function boto3Suite(script: string, options: Boto3SuiteOptions): (section: string) => Promise<Record<string, unknown>> {
  let t: TestServer | undefined;
  let s: Scratch | undefined;
  before(async () => {
    t = await startTestServer({}, undefined, options.clock);
    s = scratch(options.prefix);
  });
  after(async () => {
    await t?.close();
    s?.remove();
  });
  return (section) => {
    if (t === undefined || s === undefined) throw new Error('boto3Suite: section run before the suite started');
    return runPythonJson(script, [section], awsEnv(s, { [options.endpointVar ?? 'ENDPOINT']: t.endpoint }), s.dir);
  };
}
