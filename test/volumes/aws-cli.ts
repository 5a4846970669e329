import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awsCli as runAwsCli } from '../helpers/client-run.js';

/** The result of one `aws` run: exit code, stdout parsed as JSON when it is JSON, stderr. */
export interface AwsResult {
  readonly code: number;
  readonly json: Record<string, unknown>;
  readonly stderr: string;
}

/**
 * The AWS CLI against `endpoint` with the test credentials, isolated from the machine's own
 * configuration (test/helpers/client-run.ts `awsCli`), with stdout parsed as JSON.
 */
export function awsCli(endpoint: string): { aws(...args: string[]): Promise<AwsResult>; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'cl-awscli-'));
  return {
    async aws(...args) {
      const r = await runAwsCli(endpoint, dir, args);
      const out = r.stdout.trim();
      return { code: r.code, json: r.code === 0 && out !== '' ? (JSON.parse(out) as Record<string, unknown>) : {}, stderr: r.stderr };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
