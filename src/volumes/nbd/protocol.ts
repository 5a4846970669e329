/**
 * Numbers of the NBD protocol (NetworkBlockDevice/nbd doc/proto.md). They are fixed by
 * the specification and never change meaning.
 */

export const NBDMAGIC = 0x4e42444d41474943n;
export const IHAVEOPT = 0x49484156454f5054n;
export const OPTION_REPLY_MAGIC = 0x3e889045565a9n;
export const REQUEST_MAGIC = 0x25609513;
export const SIMPLE_REPLY_MAGIC = 0x67446698;

/** Handshake flags (server) and client flags. */
export const FLAG_FIXED_NEWSTYLE = 1 << 0;
export const FLAG_NO_ZEROES = 1 << 1;
export const FLAG_C_FIXED_NEWSTYLE = 1 << 0;
export const FLAG_C_NO_ZEROES = 1 << 1;

/** Option types. */
export enum Opt {
  ExportName = 1,
  Abort = 2,
  List = 3,
  StartTls = 5,
  Info = 6,
  Go = 7,
}

/** Option reply types. */
export enum Rep {
  Ack = 1,
  Server = 2,
  Info = 3,
  ErrUnsup = 0x8000_0001,
  ErrPolicy = 0x8000_0002,
  ErrInvalid = 0x8000_0003,
  ErrTlsReqd = 0x8000_0005,
  ErrUnknown = 0x8000_0006,
}

/** NBD_INFO_* types inside an NBD_REP_INFO reply. */
export const INFO_EXPORT = 0;
export const INFO_BLOCK_SIZE = 3;

/** Transmission flags. */
export const TF_HAS_FLAGS = 1 << 0;
export const TF_READ_ONLY = 1 << 1;
export const TF_SEND_FLUSH = 1 << 2;
export const TF_SEND_FUA = 1 << 3;
export const TF_SEND_TRIM = 1 << 5;
export const TF_SEND_WRITE_ZEROES = 1 << 6;
export const TF_CAN_MULTI_CONN = 1 << 8;

/** Command flags. */
export const CMD_FLAG_FUA = 1 << 0;
export const CMD_FLAG_NO_HOLE = 1 << 1;

/** Command types. */
export enum Cmd {
  Read = 0,
  Write = 1,
  Disc = 2,
  Flush = 3,
  Trim = 4,
  WriteZeroes = 6,
}

/** Error values of a simple reply (Linux errno numbers, as the protocol fixes them). */
export enum Errno {
  EPERM = 1,
  EIO = 5,
  EINVAL = 22,
  ENOSPC = 28,
  ENOTSUP = 95,
  ESHUTDOWN = 108,
}

/** Largest payload we accept or send in one request: 32 MiB, the protocol's usual cap. */
export const MAX_PAYLOAD = 32 * 1024 * 1024;
/** Largest option payload we read during the handshake. */
export const MAX_OPTION_LENGTH = 64 * 1024;
/** The NBD string limit for export names. */
export const MAX_NAME_LENGTH = 4096;
