import { Agent } from 'node:http';
import type { Socket } from 'node:net';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY } from './server.js';

/** An SDK client held to one keep-alive connection, and that connection's socket once it is open. */
export interface PinnedKmsClient {
  readonly kms: KMSClient;
  /** The connection's local port; throws before the first request or when the client opened more than one. */
  localPort(): number;
  destroy(): void;
}

/** An S3 client held to one keep-alive connection (path style, no retries), as PinnedKmsClient. */
export interface PinnedS3Client {
  readonly s3: S3Client;
  localPort(): number;
  destroy(): void;
}

/** An agent of one keep-alive socket, and the local port of the one connection it opened. */
function oneConnectionAgent(): { agent: Agent; localPort(): number } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const opened: Socket[] = [];
  const create = agent.createConnection.bind(agent);
  agent.createConnection = (options, callback) => {
    const socket = create(options, callback) as Socket;
    opened.push(socket);
    return socket;
  };
  return {
    agent,
    localPort() {
      if (opened.length !== 1 || opened[0]!.localPort === undefined) throw new Error(`expected one connection, the client opened ${opened.length}`);
      return opened[0]!.localPort;
    },
  };
}

/**
 * A KMS client whose requests all go over one keep-alive connection (an agent of one
 * socket), so that a cluster server answers them all from the one worker the primary
 * handed that connection to.
 */
export function pinnedKmsClient(endpoint: string, credentials = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY }): PinnedKmsClient {
  const { agent, localPort } = oneConnectionAgent();
  const kms = new KMSClient({ endpoint, region: TEST_REGION, credentials, maxAttempts: 1, requestHandler: { httpAgent: agent } });
  return {
    kms,
    localPort,
    destroy() {
      kms.destroy();
      agent.destroy();
    },
  };
}

/** An S3 client whose requests all go over one keep-alive connection (see pinnedKmsClient). */
export function pinnedS3Client(endpoint: string, credentials = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY }): PinnedS3Client {
  const { agent, localPort } = oneConnectionAgent();
  const s3 = new S3Client({ endpoint, region: TEST_REGION, credentials, forcePathStyle: true, maxAttempts: 1, requestHandler: { httpAgent: agent } });
  return {
    s3,
    localPort,
    destroy() {
      s3.destroy();
      agent.destroy();
    },
  };
}

/**
 * The pid among `workers` that holds the server end of the loopback TCP connection whose
 * client end is `clientPort`, from /proc (the connection's socket inode in /proc/net/tcp*,
 * then the worker whose descriptors name it); undefined when none does.
 */
export function workerOfConnection(workers: readonly number[], serverPort: number, clientPort: number): number | undefined {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const local = parseInt(f[1]!.slice(f[1]!.lastIndexOf(':') + 1), 16);
      const remote = parseInt(f[2]!.slice(f[2]!.lastIndexOf(':') + 1), 16);
      if (local === serverPort && remote === clientPort) inodes.add(f[9]!);
    }
  }
  for (const pid of workers) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m !== null && inodes.has(m[1]!)) return pid;
    }
  }
  return undefined;
}

/**
 * Opens pinned clients (`open`, then one request each through `touch` so that the
 * connection exists) until one is served by each of the server's `workers`; returns them in
 * the order of `workers`. Throws when `attempts` connections do not reach every worker.
 */
export async function clientPerWorker<C extends { localPort(): number; destroy(): void }>(
  workers: readonly number[],
  serverPort: number,
  open: () => C,
  touch: (c: C) => Promise<unknown>,
  attempts = 8,
): Promise<C[]> {
  const found = new Map<number, C>();
  for (let i = 0; i < attempts && found.size < workers.length; i++) {
    const c = open();
    await touch(c);
    const pid = workerOfConnection(workers, serverPort, c.localPort());
    if (pid !== undefined && !found.has(pid)) found.set(pid, c);
    else c.destroy();
  }
  if (found.size < workers.length) throw new Error(`${attempts} connections reached ${found.size} of ${workers.length} workers`);
  return workers.map((w) => found.get(w)!);
}
