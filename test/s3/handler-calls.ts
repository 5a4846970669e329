import type { IncomingMessage } from 'node:http';
import { S3Handler } from '../../src/s3/index.js';

/** What watchHandlerCalls sees of S3Handler.handle: the calls not yet returned and the last request. */
export interface HandlerCalls {
  /** Calls of S3Handler.handle that have not returned (or thrown) yet. */
  readonly inFlight: number;
  /** The request of the latest call; undefined before the first. */
  readonly lastReq: IncomingMessage | undefined;
  /** Puts the original S3Handler.prototype.handle back. */
  restore(): void;
}

/**
 * Wraps S3Handler.prototype.handle (for every server of this process) to count the calls in
 * flight, to see a request released after its client left. Undo with restore().
 */
export function watchHandlerCalls(): HandlerCalls {
  const handle = S3Handler.prototype.handle;
  let inFlight = 0;
  let lastReq: IncomingMessage | undefined;
  S3Handler.prototype.handle = async function (this: S3Handler, r) {
    inFlight += 1;
    lastReq = r.req;
    try {
      return await handle.call(this, r);
    } finally {
      inFlight -= 1;
    }
  };
  return {
    get inFlight() {
      return inFlight;
    },
    get lastReq() {
      return lastReq;
    },
    restore: () => {
      S3Handler.prototype.handle = handle;
    },
  };
}
