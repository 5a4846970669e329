import { FsObjectBackend } from '../../src/store/fs-objects/fs-object-backend.js';

/** One armed hold: `entered` settles once the held create() was called; `release()` lets it go on. */
export interface BackendCreateHold {
  entered: Promise<void>;
  release(): void;
}

/**
 * Patches FsObjectBackend.prototype.create (in this process, so for an in-process test server)
 * so that a test can hold the next body file's creation: `arm()` makes the next create() report
 * it was entered and wait until released; other calls run unchanged. `restore()` puts the
 * original back.
 */
export function holdBackendCreate(): { arm(): BackendCreateHold; restore(): void } {
  const create = FsObjectBackend.prototype.create;
  let next: { entered: () => void; released: Promise<void> } | undefined;
  FsObjectBackend.prototype.create = async function (this: FsObjectBackend) {
    const h = next;
    next = undefined;
    if (h !== undefined) {
      h.entered();
      await h.released;
    }
    return create.call(this);
  };
  return {
    arm() {
      let entered!: () => void;
      let release!: () => void;
      const enteredP = new Promise<void>((resolve) => (entered = resolve));
      next = { entered, released: new Promise<void>((resolve) => (release = resolve)) };
      return { entered: enteredP, release };
    },
    restore() {
      FsObjectBackend.prototype.create = create;
    },
  };
}
