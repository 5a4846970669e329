import type { Command } from 'commander';
import { loadConfig, type CipherlakeConfig } from '../../config/config.js';
import { CliArgumentError } from '../errors.js';

/** Where a command writes: stdout lines and stderr lines (tests pass collectors). */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

/** The process's own stdout/stderr. */
export const PROCESS_IO: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Flags every `audit` subcommand takes to find the data directory. */
export interface DataDirFlags {
  readonly config?: string;
  readonly dataDir?: string;
}

/**
 * The `audit` command group, created on first use so that each `audit-*.ts` file can
 * register its subcommand independently (one line each in cli/index.ts).
 */
export function auditCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'audit');
  if (existing !== undefined) return existing;
  return program.command('audit').description('inspect, verify and export the tamper-evident audit trail');
}

/** Adds --config and --data-dir to a subcommand. */
export function withDataDirOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'JSON config file (also CIPHERLAKE_CONFIG)')
    .option('-d, --data-dir <dir>', 'data directory (also CIPHERLAKE_DATA_DIR; default ./.cipherlake)');
}

/** The configuration for a data-dir flag set (ConfigError for malformed values). */
export function configFor(flags: DataDirFlags): CipherlakeConfig {
  return loadConfig({ ...(flags.config !== undefined ? { config: flags.config } : {}), ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}) });
}

/** Parses an ISO 8601 time (or epoch seconds); raises CliArgumentError otherwise. */
export function parseTime(value: string, flag: string): Date {
  const date = /^\d+(\.\d+)?$/.test(value) ? new Date(Number(value) * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) throw new CliArgumentError(`${flag}: ${JSON.stringify(value)} is not a time (ISO 8601 or epoch seconds)`);
  return date;
}

/** Parses a positive integer; raises CliArgumentError otherwise. */
export function parsePositiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new CliArgumentError(`${flag}: ${JSON.stringify(value)} is not a positive integer`);
  return n;
}

/**
 * Runs a command body and sets the process exit code from its result; a CipherlakeError
 * or other failure prints `cipherlake: message` and exits 2 (1 is reserved for findings).
 */
export async function runAndExit(io: CliIo, body: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await body();
  } catch (err) {
    io.err(`cipherlake: ${(err as Error).message}`);
    process.exitCode = 2;
  }
}
