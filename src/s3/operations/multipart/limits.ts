/** S3's multipart limits. https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html */

/** Every part but the last must hold at least this many bytes (EntityTooSmall). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** Part numbers run from 1 to this. */
export const MAX_PART_NUMBER = 10_000;
/** The largest part (as a single PUT). */
export const MAX_PART_BYTES = 5 * 1024 ** 3;
/** ListParts and ListMultipartUploads answer at most this many entries per page. */
export const MAX_LIST_ENTRIES = 1000;
