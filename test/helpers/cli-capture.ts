import type { CliIo } from '../../src/cli/commands/audit-group.js';

/** What an in-process CLI command returned and printed, line by line. */
export interface Captured {
  code: number;
  out: string[];
  err: string[];
}

/**
 * Runs a `run*(flags, io)` command with an io that collects its lines instead of printing
 * them. Resolves with the exit code and both streams; a thrown error propagates as is.
 */
export async function capture(run: (io: CliIo) => Promise<number>): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run({ out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}
