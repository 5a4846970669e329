import { execFileSync } from 'node:child_process';
import { CertificateIssueError } from './errors.js';

/**
 * Runs the `openssl` command-line tool with `args` (no shell) and returns its stdout.
 * Callers pass key material only as file paths, never as arguments: arguments show in
 * `ps`. Raises CertificateIssueError with openssl's stderr (which never holds key bytes)
 * when the tool is missing or exits non-zero.
 */
export function runOpenssl(args: readonly string[], cwd: string): string {
  try {
    return execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const detail = (e.stderr ?? '').trim() || e.message;
    throw new CertificateIssueError(`openssl ${args[0] ?? ''} failed: ${detail}`, { cause: err });
  }
}
