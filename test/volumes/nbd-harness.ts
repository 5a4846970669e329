import { createCipheriv, createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, writeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SecretBytes } from '../../src/crypto/secret-bytes.js';
import { EncryptedVolume } from '../../src/volumes/encrypted-volume.js';
import { MapExportRegistry, NbdServer } from '../../src/volumes/nbd/index.js';
import type { NbdServerOptions } from '../../src/volumes/nbd/index.js';

const run = promisify(execFile);

/** Runs a tool; resolves with its output, rejects (with stderr in the error) on failure. */
export async function tool(command: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(command, args, { maxBuffer: 16 * 1024 * 1024, timeout: 60_000 });
}

/** Exit code of a tool that is expected to fail (0 if it succeeded). */
export async function toolExitCode(command: string, args: string[]): Promise<number> {
  try {
    await tool(command, args);
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'number' ? code : -1;
  }
}

/** Deterministic pseudo-random bytes from a seed (AES-256-CTR keystream). */
export function seededBytes(seed: string, length: number, offset = 0): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(Math.floor(offset / 16), 12);
  return createCipheriv('aes-256-ctr', key, iv).update(Buffer.alloc(length));
}

/** Writes a raw image of `size` bytes of seeded random data; returns its sha256. */
export function writeSeededImage(path: string, seed: string, size: number, marker?: Buffer): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'w');
  const chunk = 4 * 1024 * 1024;
  try {
    for (let at = 0; at < size; at += chunk) {
      const data = seededBytes(seed, Math.min(chunk, size - at), at);
      // The marker goes at a fixed place in every chunk, so a plaintext leak is easy to find.
      marker?.copy(data, 12345);
      hash.update(data);
      writeSync(fd, data, 0, data.length, at);
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A temporary directory, removed by `cleanup()`. */
export function tempDir(prefix: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A server with encrypted volumes attached under the given names. */
export interface Harness {
  readonly server: NbdServer;
  readonly port: number;
  readonly volumes: Map<string, { volume: EncryptedVolume; path: string }>;
  uri(name: string): string;
  close(): Promise<void>;
}

/** Creates one volume of `size` bytes per name in `dir`, exports them, listens on port 0. */
export async function startHarness(
  dir: string, names: string[], size: number, options: Omit<NbdServerOptions, 'registry' | 'port'> = {},
): Promise<Harness> {
  const registry = new MapExportRegistry();
  const volumes = new Map<string, { volume: EncryptedVolume; path: string }>();
  for (const name of names) {
    const path = join(dir, `${name}.vol`);
    const volume = await EncryptedVolume.create(path, size, SecretBytes.random(64));
    registry.attach(name, volume);
    volumes.set(name, { volume, path });
  }
  const server = new NbdServer({ ...options, registry, port: 0 });
  const { port } = await server.listen();
  return {
    server,
    port,
    volumes,
    uri: (name) => `nbd://127.0.0.1:${port}/${name}`,
    close: async () => {
      await server.close();
      for (const { volume } of volumes.values()) await volume.close();
    },
  };
}
