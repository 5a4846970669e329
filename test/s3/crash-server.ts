import { createHash } from 'node:crypto';
import { killServer, spawnServer as spawnServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { signedFetch } from './raw-sign.js';

/** A `cipherlake server` child process and where it listens. */
export type Server = ServerProcess;

/** Spawns `cipherlake server -c configFile` on `dataDir` with the test credentials (see test/helpers/server-process.ts). */
export function spawnServer(dataDir: string, configFile: string): Promise<Server> {
  return spawnServerProcess({ dataDir, args: ['-c', configFile] });
}

export { killServer };

/** SHA-256 hex of the bytes. */
export const sha = (b: Buffer | Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Every key ListObjectsV2 lists in `bucket` (following continuation tokens), with its listed size. */
export async function listAll(endpoint: string, bucket: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  let token: string | undefined;
  do {
    const query: Record<string, string> = { 'list-type': '2', ...(token !== undefined ? { 'continuation-token': token } : {}) };
    const xml = await (await signedFetch(endpoint, { method: 'GET', path: `/${bucket}`, query })).text();
    for (const m of xml.matchAll(/<Contents>.*?<Key>([^<]*)<\/Key>.*?<Size>(\d+)<\/Size>.*?<\/Contents>/gs)) found.set(m[1]!, Number(m[2]));
    token = /<NextContinuationToken>([^<]*)</.exec(xml)?.[1];
  } while (token !== undefined);
  return found;
}
