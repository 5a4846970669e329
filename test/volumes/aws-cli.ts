import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';

const run = promisify(execFile);

/** The result of one `aws` run: exit code, stdout parsed as JSON when it is JSON, stderr. */
export interface AwsResult {
  readonly code: number;
  readonly json: Record<string, unknown>;
  readonly stderr: string;
}

/**
 * Runs the AWS CLI against `endpoint` with the test credentials, isolated from the
 * machine's own configuration (empty config and credential files, no IMDS, no pager).
 */
export function awsCli(endpoint: string): { aws(...args: string[]): Promise<AwsResult>; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'cl-awscli-'));
  writeFileSync(join(dir, 'config'), '');
  writeFileSync(join(dir, 'credentials'), '');
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    AWS_CONFIG_FILE: join(dir, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
    AWS_DEFAULT_REGION: TEST_REGION,
    AWS_MAX_ATTEMPTS: '1',
  };
  return {
    async aws(...args) {
      try {
        const { stdout, stderr } = await run('aws', ['--endpoint-url', endpoint, '--output', 'json', ...args], { env, timeout: 60_000 });
        return { code: 0, json: stdout.trim() === '' ? {} : (JSON.parse(stdout) as Record<string, unknown>), stderr };
      } catch (err) {
        const e = err as { code?: unknown; stderr?: string };
        return { code: typeof e.code === 'number' ? e.code : -1, json: {}, stderr: e.stderr ?? String(err) };
      }
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
