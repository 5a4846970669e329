/**
 * Options of a write-type request. `fua` (force unit access): the data is durable before
 * the promise resolves. `noHole`: a zeroed range must stay allocated (NBD_CMD_FLAG_NO_HOLE).
 * `donate`: the caller gives up `data` and the whole ArrayBuffer under it, so a device may
 * take that memory over (transfer it to a worker thread, detaching it) instead of copying
 * it; the caller must not touch `data` afterwards. Devices are free to ignore it.
 */
export interface WriteOptions {
  readonly fua?: boolean;
  readonly noHole?: boolean;
  readonly donate?: boolean;
}

/**
 * What the NBD server (and later the EC2 attachment code) needs of a volume. Offsets and
 * lengths are in bytes and need not be aligned. Every method may be called concurrently
 * with any other; each call is atomic with respect to calls that overlap it.
 *
 * Errors: a request outside [0, size) rejects with `VolumeRangeError`; a closed device
 * rejects with `VolumeClosedError`; I/O failures reject with the underlying error.
 */
export interface BlockDevice {
  /** Size in bytes, fixed for the device's life. */
  readonly size: number;
  /** True when writes are refused (a snapshot being served, for instance). */
  readonly readOnly: boolean;
  /** Resolves with exactly `length` bytes of plaintext. */
  read(offset: number, length: number): Promise<Buffer>;
  /** Writes `data` at `offset`; never leaves a block half-written as seen by readers. */
  write(offset: number, data: Uint8Array, options?: WriteOptions): Promise<void>;
  /**
   * Optional: `write` of `parts` back to back (a payload as it arrived in socket chunks),
   * so no contiguous copy of the whole need be made. With `donate`, the device may take
   * over each part that spans its whole ArrayBuffer; other parts it must copy or leave.
   * Without this method, callers join the parts and call `write`.
   */
  writeParts?(offset: number, parts: readonly Uint8Array[], options?: WriteOptions): Promise<void>;
  /** Makes every completed write durable (fsync). */
  flush(): Promise<void>;
  /** Hints that the range is unused; whole blocks inside it then read as zeros. */
  trim(offset: number, length: number, options?: WriteOptions): Promise<void>;
  /** Makes the range read as zeros. */
  writeZeroes(offset: number, length: number, options?: WriteOptions): Promise<void>;
}
