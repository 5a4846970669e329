/*
 * AES-256-GCM for one segment, written into the caller's buffer.
 *
 * Why this exists: node:crypto (Node 20) returns a fresh, zero-filled output Buffer from
 * every `update` and fetches the cipher anew on every createCipheriv; for 64 KiB segments
 * that costs 2-3x what OpenSSL's own AES-GCM costs. This addon uses the OpenSSL inside the
 * node binary (its EVP_* symbols are exported) with the cipher fetched once per addon
 * instance and one EVP_CIPHER_CTX per key, re-initialised with only a new nonce per
 * segment: no heap allocation per segment.
 *
 * Surface (see binding.ts for the TypeScript contract):
 *   new GcmKey(key: Uint8Array(32), encrypt: boolean)
 *   GcmKey#seal(nonce(12), aad, pieces, out, outOffset) -> bytes written (ciphertext + tag)
 *   GcmKey#open(nonce(12), aad, pieces, tag(16), out, outOffset) -> boolean
 *   GcmKey#dispose()  -- frees the context; OpenSSL cleanses the key schedule on free
 *   GcmKey#openBatch(nonce(12), firstSegment, aad, finalAad, finalLast, ciphertexts, tags,
 *   outs) -> Promise<boolean>: segments firstSegment.. opened on the libuv thread pool, each
 *   with its number in the nonce's last 4 bytes, under a copy of the key's context (see
 *   key_open_batch): the segment stream's large reads, off the main thread.
 *   seal(key, nonce, aad, pieces, out, outOffset) / open(key, nonce, aad, pieces, tag, out,
 *   outOffset): one-shot forms (one context per call; for tests and small uses).
 *
 *   hkdfGcmSeal(ikm, salt, info, nonce(12), aad, pieces, out, outOffset) -> bytes written
 *   hkdfGcmOpen(ikm, salt, info, nonce(12), aad, pieces, tag(16), out, outOffset) -> boolean
 *     the key is HKDF-SHA256(ikm, salt, info, L = 32) (RFC 5869), derived on the C stack and
 *     cleansed before return: one call per KMS ciphertext blob (src/kms/FORMAT.md) instead of
 *     two node:crypto HMACs and a node:crypto cipher, each an object set up per call.
 *
 *   retainFreedHeap(bytes) -> boolean: glibc's M_TRIM_THRESHOLD (see retain_freed_heap below)
 *
 * `pieces` is one Uint8Array or an array of them, processed as their concatenation.
 * `open` writes plaintext into `out` before the tag is checked; on a bad tag it zeroes every
 * byte it wrote and returns false, so unauthenticated plaintext never escapes. Every argument
 * is validated here and a bad one throws a TypeError or RangeError; nothing here logs, and no
 * error message carries key or data bytes.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define KEY_BYTES 32
#define NONCE_BYTES 12
#define TAG_BYTES 16
/* Bound on pieces per call: their pointers live on the stack. The TS callers pass <= 9. */
#define MAX_PIECES 256
#define SHA256_BYTES 32
/* Bound on each HKDF input (ikm, salt, info): far above any caller's, far below int limits. */
#define MAX_HKDF_INPUT ((size_t)1 << 20)

typedef struct {
  EVP_CIPHER *cipher; /* AES-256-GCM, fetched once for this addon instance */
  EVP_MAC *hmac;      /* HMAC, fetched once */
  /*
   * An HMAC-SHA256 context with its digest set and no key, never used itself: each HKDF
   * works on a copy (EVP_MAC_CTX_dup) and frees it, which cleanses the keyed state, so no
   * state derived from a secret outlives the call. Copying costs less than setting the
   * digest by name per call (and less than re-keying one shared context to wipe it).
   */
  EVP_MAC_CTX *hmac_ctx;
  napi_ref key_class;
} instance_t;

typedef struct {
  EVP_CIPHER_CTX *ctx; /* NULL once disposed */
  int encrypt;
} gcm_key_t;

typedef struct {
  const uint8_t *data;
  size_t length;
} bytes_t;

/* ---- argument helpers: each returns 0 after throwing a JS error ---- */

static int throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return 0;
}

static int throw_range(napi_env env, const char *message) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
  return 0;
}

/** A Uint8Array (Buffer included) or nothing: other typed arrays and DataViews are refused. */
static int get_bytes(napi_env env, napi_value value, bytes_t *out, const char *message) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return throw_type(env, message);
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, NULL, NULL) != napi_ok) return throw_type(env, message);
  if (type != napi_uint8_array) return throw_type(env, message);
  out->data = data;
  out->length = length;
  return 1;
}

static int get_fixed(napi_env env, napi_value value, size_t size, bytes_t *out, const char *type_msg, const char *size_msg) {
  if (!get_bytes(env, value, out, type_msg)) return 0;
  if (out->length != size) return throw_range(env, size_msg);
  return 1;
}

/** One Uint8Array or an array of at most MAX_PIECES of them; sums their lengths. */
static int get_pieces(napi_env env, napi_value value, bytes_t *pieces, uint32_t *count, size_t *total) {
  static const char *msg = "pieces must be a Uint8Array or an array of Uint8Arrays";
  bool is_array = false;
  *total = 0;
  if (napi_is_array(env, value, &is_array) != napi_ok) return throw_type(env, msg);
  if (!is_array) {
    if (!get_bytes(env, value, &pieces[0], msg)) return 0;
    *count = 1;
    *total = pieces[0].length;
  } else {
    uint32_t n = 0;
    if (napi_get_array_length(env, value, &n) != napi_ok) return throw_type(env, msg);
    if (n > MAX_PIECES) return throw_range(env, "too many pieces (at most 256)");
    for (uint32_t i = 0; i < n; i++) {
      napi_value element;
      if (napi_get_element(env, value, i, &element) != napi_ok) return throw_type(env, msg);
      if (!get_bytes(env, element, &pieces[i], msg)) return 0;
      if (pieces[i].length > SIZE_MAX - *total) return throw_range(env, "pieces too large");
      *total += pieces[i].length;
    }
    *count = n;
  }
  /* OpenSSL's GCM refuses more than 2^36 - 32 bytes under one nonce; stay far below. */
  if (*total > (size_t)1 << 34) return throw_range(env, "pieces too large");
  return 1;
}

/** The writable window out[offset .. offset + need); offset must be a safe integer. */
static int get_out(napi_env env, napi_value out_value, napi_value offset_value, size_t need, uint8_t **window) {
  bytes_t out;
  if (!get_bytes(env, out_value, &out, "out must be a Uint8Array")) return 0;
  size_t offset = 0;
  napi_valuetype kind = napi_undefined;
  if (offset_value != NULL && napi_typeof(env, offset_value, &kind) != napi_ok) return 0;
  if (kind != napi_undefined) {
    if (kind != napi_number) return throw_type(env, "outOffset must be a number");
    double d = 0;
    if (napi_get_value_double(env, offset_value, &d) != napi_ok) return throw_type(env, "outOffset must be a number");
    if (!(d >= 0) || d > 9007199254740991.0 || d != (double)(int64_t)d) return throw_range(env, "outOffset must be a non-negative integer");
    if (d > (double)out.length) return throw_range(env, "outOffset is past the end of out");
    offset = (size_t)d;
  }
  if (out.length - offset < need) return throw_range(env, "out is too small");
  *window = (uint8_t *)out.data + offset;
  return 1;
}

/**
 * OpenSSL processes in == out, but not a partial overlap. Refuse any overlap that is not
 * exact (and, for open, a tag inside the output: the failure path would zero it).
 */
static int check_overlap(napi_env env, const bytes_t *pieces, uint32_t count, const uint8_t *out, size_t out_len) {
  size_t pos = 0;
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t *p = pieces[i].data;
    size_t n = pieces[i].length;
    if (n > 0 && p != out + pos && p < out + out_len && out < p + n) return throw_range(env, "out overlaps the input");
    pos += n;
  }
  return 1;
}

static int check_apart(napi_env env, const bytes_t *b, const uint8_t *out, size_t out_len, const char *message) {
  if (b->length > 0 && out_len > 0 && b->data < out + out_len && out < b->data + b->length) return throw_range(env, message);
  return 1;
}

/* ---- the cipher ---- */

/** Feeds aad then every piece through an initialised context; returns bytes written or -1. */
static long long run(EVP_CIPHER_CTX *ctx, const bytes_t *aad, const bytes_t *pieces, uint32_t count, uint8_t *out) {
  int outl = 0;
  const uint8_t *a = aad->data;
  size_t left = aad->length;
  while (left > 0) {
    int n = left > INT_MAX ? INT_MAX : (int)left;
    if (EVP_CipherUpdate(ctx, NULL, &outl, a, n) != 1) return -1;
    a += n;
    left -= (size_t)n;
  }
  long long pos = 0;
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t *p = pieces[i].data;
    left = pieces[i].length;
    while (left > 0) {
      int n = left > INT_MAX ? INT_MAX : (int)left;
      if (EVP_CipherUpdate(ctx, out + pos, &outl, p, n) != 1 || outl != n) return -1;
      pos += n;
      p += n;
      left -= (size_t)n;
    }
  }
  return pos;
}

static napi_value fail_internal(napi_env env) {
  ERR_clear_error();
  napi_throw_error(env, "ERR_CIPHERLAKE_NATIVE_GCM", "AES-256-GCM failed inside OpenSSL");
  return NULL;
}

/**
 * With ctx keyed for encryption and its nonce set: writes ciphertext then the tag into out.
 * Returns 0 on an OpenSSL failure, after cleansing out.
 */
static int seal_keyed(EVP_CIPHER_CTX *ctx, const bytes_t *aad, const bytes_t *pieces, uint32_t count, size_t total, uint8_t *out) {
  long long written = run(ctx, aad, pieces, count, out);
  int outl = 0;
  if (written != (long long)total || EVP_CipherFinal_ex(ctx, out + total, &outl) != 1 || outl != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, out + total) != 1) {
    OPENSSL_cleanse(out, total + TAG_BYTES);
    return 0;
  }
  return 1;
}

/**
 * With ctx keyed for decryption and its nonce set: writes plaintext into out and checks tag.
 * Returns 0 on a bad tag (or any failure) after zeroing every byte of out it may have written.
 */
static int open_keyed(EVP_CIPHER_CTX *ctx, const bytes_t *aad, const bytes_t *pieces, uint32_t count, size_t total, const bytes_t *tag, uint8_t *out) {
  int ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, (void *)tag->data) == 1;
  if (ok) {
    long long written = run(ctx, aad, pieces, count, out);
    int outl = 0;
    ok = written == (long long)total && EVP_CipherFinal_ex(ctx, out + total, &outl) == 1 && outl == 0;
  }
  if (!ok) {
    /* A bad tag (or any failure): no byte of unauthenticated plaintext may stay in out. */
    OPENSSL_cleanse(out, total);
    ERR_clear_error();
  }
  return ok;
}

/** argv: nonce, aad, pieces, out, outOffset. Seals with an already-keyed encrypting ctx. */
static napi_value do_seal(napi_env env, EVP_CIPHER_CTX *ctx, napi_value *argv) {
  bytes_t nonce, aad, pieces[MAX_PIECES];
  uint32_t count = 0;
  size_t total = 0;
  uint8_t *out = NULL;
  if (!get_fixed(env, argv[0], NONCE_BYTES, &nonce, "nonce must be a Uint8Array", "nonce must be 12 bytes")) return NULL;
  if (!get_bytes(env, argv[1], &aad, "aad must be a Uint8Array")) return NULL;
  if (aad.length > (size_t)1 << 32) return throw_range(env, "aad too large"), NULL;
  if (!get_pieces(env, argv[2], pieces, &count, &total)) return NULL;
  if (!get_out(env, argv[3], argv[4], total + TAG_BYTES, &out)) return NULL;
  if (!check_overlap(env, pieces, count, out, total + TAG_BYTES)) return NULL;
  if (EVP_CipherInit_ex2(ctx, NULL, NULL, nonce.data, 1, NULL) != 1 || !seal_keyed(ctx, &aad, pieces, count, total, out)) return fail_internal(env);
  napi_value result;
  napi_create_double(env, (double)(total + TAG_BYTES), &result);
  return result;
}

/** argv: nonce, aad, pieces, tag, out, outOffset. Opens with an already-keyed decrypting ctx. */
static napi_value do_open(napi_env env, EVP_CIPHER_CTX *ctx, napi_value *argv) {
  bytes_t nonce, aad, tag, pieces[MAX_PIECES];
  uint32_t count = 0;
  size_t total = 0;
  uint8_t *out = NULL;
  if (!get_fixed(env, argv[0], NONCE_BYTES, &nonce, "nonce must be a Uint8Array", "nonce must be 12 bytes")) return NULL;
  if (!get_bytes(env, argv[1], &aad, "aad must be a Uint8Array")) return NULL;
  if (aad.length > (size_t)1 << 32) return throw_range(env, "aad too large"), NULL;
  if (!get_pieces(env, argv[2], pieces, &count, &total)) return NULL;
  if (!get_fixed(env, argv[3], TAG_BYTES, &tag, "tag must be a Uint8Array", "tag must be 16 bytes")) return NULL;
  if (!get_out(env, argv[4], argv[5], total, &out)) return NULL;
  if (!check_overlap(env, pieces, count, out, total)) return NULL;
  if (!check_apart(env, &tag, out, total, "out overlaps the tag")) return NULL;
  if (!check_apart(env, &aad, out, total, "out overlaps the aad")) return NULL;
  if (!check_apart(env, &nonce, out, total, "out overlaps the nonce")) return NULL;
  if (EVP_CipherInit_ex2(ctx, NULL, NULL, nonce.data, 0, NULL) != 1) return fail_internal(env);
  int ok = open_keyed(ctx, &aad, pieces, count, total, &tag, out);
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

/* ---- keys ---- */

static instance_t *instance(napi_env env) {
  instance_t *inst = NULL;
  napi_get_instance_data(env, (void **)&inst);
  return inst;
}

/** A context keyed for one direction, or NULL after throwing. */
static EVP_CIPHER_CTX *new_keyed(napi_env env, napi_value key_value, int encrypt) {
  bytes_t key;
  if (!get_fixed(env, key_value, KEY_BYTES, &key, "key must be a Uint8Array", "key must be 32 bytes")) return NULL;
  instance_t *inst = instance(env);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  if (ctx == NULL || inst == NULL || inst->cipher == NULL ||
      EVP_CipherInit_ex2(ctx, inst->cipher, key.data, NULL, encrypt, NULL) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    fail_internal(env);
    return NULL;
  }
  return ctx;
}

static void key_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  gcm_key_t *k = data;
  EVP_CIPHER_CTX_free(k->ctx); /* frees and cleanses the provider's key schedule */
  OPENSSL_free(k);
}

static gcm_key_t *this_key(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  gcm_key_t *k = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, (void **)&k) != napi_ok || k == NULL) {
    throw_type(env, "not a GcmKey");
    return NULL;
  }
  if (k->ctx == NULL) {
    napi_throw_error(env, "ERR_CIPHERLAKE_DISPOSED", "GcmKey used after dispose");
    return NULL;
  }
  return k;
}

static napi_value key_construct(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self, target;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_get_new_target(env, info, &target) != napi_ok || target == NULL) return throw_type(env, "GcmKey needs new"), NULL;
  if (argc < 2) return throw_type(env, "GcmKey(key, encrypt)"), NULL;
  bool encrypt = false;
  if (napi_get_value_bool(env, argv[1], &encrypt) != napi_ok) return throw_type(env, "encrypt must be a boolean"), NULL;
  EVP_CIPHER_CTX *ctx = new_keyed(env, argv[0], encrypt ? 1 : 0);
  if (ctx == NULL) return NULL;
  gcm_key_t *k = OPENSSL_zalloc(sizeof *k);
  if (k == NULL) {
    EVP_CIPHER_CTX_free(ctx);
    return fail_internal(env);
  }
  k->ctx = ctx;
  k->encrypt = encrypt ? 1 : 0;
  if (napi_wrap(env, self, k, key_finalize, NULL, NULL) != napi_ok) {
    key_finalize(env, k, NULL);
    return fail_internal(env);
  }
  return self;
}

static napi_value key_seal(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  gcm_key_t *k = this_key(env, info, &argc, argv);
  if (k == NULL) return NULL;
  if (argc < 4) return throw_type(env, "seal(nonce, aad, pieces, out, outOffset?)"), NULL;
  if (!k->encrypt) return throw_type(env, "this GcmKey was made for open"), NULL;
  if (argc < 5) argv[4] = NULL;
  return do_seal(env, k->ctx, argv);
}

static napi_value key_open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  gcm_key_t *k = this_key(env, info, &argc, argv);
  if (k == NULL) return NULL;
  if (argc < 5) return throw_type(env, "open(nonce, aad, pieces, tag, out, outOffset?)"), NULL;
  if (k->encrypt) return throw_type(env, "this GcmKey was made for seal"), NULL;
  if (argc < 6) argv[5] = NULL;
  return do_open(env, k->ctx, argv);
}

static napi_value key_dispose(napi_env env, napi_callback_info info) {
  napi_value self;
  gcm_key_t *k = NULL;
  size_t argc = 0;
  if (napi_get_cb_info(env, info, &argc, NULL, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, (void **)&k) != napi_ok || k == NULL) return throw_type(env, "not a GcmKey"), NULL;
  EVP_CIPHER_CTX_free(k->ctx); /* idempotent: free(NULL) does nothing */
  k->ctx = NULL;
  return NULL;
}

/* ---- a batch of segments opened on the libuv thread pool ---- */

/* Bound on segments per batch: the TS caller passes 16 (one ~1 MiB read). */
#define MAX_BATCH 256
/* Bound on each copied aad: far above the segment stream's (header, flag, object binding). */
#define MAX_BATCH_AAD ((size_t)1 << 20)

typedef struct {
  const uint8_t *ciphertext;
  const uint8_t *tag;
  uint8_t *out;
  size_t length; /* of ciphertext and out */
} batch_segment_t;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  /* A copy of the key's context (its key schedule), owned by this work: freed, which cleanses
   * it, on the pool thread as soon as the batch is done. The GcmKey may be disposed meanwhile. */
  EVP_CIPHER_CTX *ctx;
  uint8_t nonce[NONCE_BYTES];
  uint32_t first;
  uint32_t count;
  int final_last;
  int ok;
  bytes_t aad, final_aad; /* copies, in `aads` */
  uint8_t *aads;
  batch_segment_t *segments;
  /* One reference per ciphertext, tag and out: none of them is collected while the work runs. */
  napi_ref *refs;
  uint32_t ref_count;
} batch_t;

static void batch_free(napi_env env, batch_t *b) {
  for (uint32_t i = 0; i < b->ref_count; i++) napi_delete_reference(env, b->refs[i]);
  EVP_CIPHER_CTX_free(b->ctx);
  if (b->work != NULL) napi_delete_async_work(env, b->work);
  OPENSSL_free(b->refs);
  OPENSSL_free(b->segments);
  OPENSSL_free(b->aads);
  OPENSSL_free(b);
}

/* On a pool thread: opens every segment in order and stops at the first that fails, after
 * which every out of the batch is zeroed (the batch is refused whole). Touches no JS value. */
static void batch_execute(napi_env env, void *data) {
  (void)env;
  batch_t *b = data;
  uint8_t nonce[NONCE_BYTES];
  memcpy(nonce, b->nonce, NONCE_BYTES);
  int ok = b->ctx != NULL;
  for (uint32_t i = 0; ok && i < b->count; i++) {
    const batch_segment_t *s = &b->segments[i];
    uint32_t segment = b->first + i;
    nonce[8] = (uint8_t)(segment >> 24);
    nonce[9] = (uint8_t)(segment >> 16);
    nonce[10] = (uint8_t)(segment >> 8);
    nonce[11] = (uint8_t)segment;
    const bytes_t *aad = b->final_last && i + 1 == b->count ? &b->final_aad : &b->aad;
    bytes_t piece = {s->ciphertext, s->length};
    bytes_t tag = {s->tag, TAG_BYTES};
    ok = EVP_CipherInit_ex2(b->ctx, NULL, NULL, nonce, 0, NULL) == 1 && open_keyed(b->ctx, aad, &piece, 1, s->length, &tag, s->out);
  }
  if (!ok) {
    for (uint32_t i = 0; i < b->count; i++) OPENSSL_cleanse(b->segments[i].out, b->segments[i].length);
    ERR_clear_error();
  }
  b->ok = ok;
  EVP_CIPHER_CTX_free(b->ctx); /* cleanses the copied key schedule now, not at completion */
  b->ctx = NULL;
}

static void batch_complete(napi_env env, napi_status status, void *data) {
  batch_t *b = data;
  napi_deferred deferred = b->deferred;
  int ok = status == napi_ok && b->ok;
  if (status != napi_ok) {
    /* Cancelled before it ran: nothing was written, but nothing was verified either. */
    for (uint32_t i = 0; i < b->count; i++) OPENSSL_cleanse(b->segments[i].out, b->segments[i].length);
  }
  batch_free(env, b);
  napi_value result;
  napi_get_boolean(env, ok, &result);
  napi_resolve_deferred(env, deferred, result);
}

/** Whether [a, a + an) and [b, b + bn) share a byte. */
static int overlaps(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  return an > 0 && bn > 0 && a < b + bn && b < a + an;
}

/** Element i of the JS array `list` as a Uint8Array, with a reference kept in b. */
static int get_held(napi_env env, napi_value list, uint32_t i, batch_t *b, bytes_t *out, const char *message) {
  napi_value element;
  if (napi_get_element(env, list, i, &element) != napi_ok) return throw_type(env, message);
  if (!get_bytes(env, element, out, message)) return 0;
  if (napi_create_reference(env, element, 1, &b->refs[b->ref_count]) != napi_ok) return throw_type(env, message);
  b->ref_count++;
  return 1;
}

static int get_list(napi_env env, napi_value value, uint32_t *n, const char *message) {
  bool is_array = false;
  if (napi_is_array(env, value, &is_array) != napi_ok || !is_array) return throw_type(env, message);
  if (napi_get_array_length(env, value, n) != napi_ok) return throw_type(env, message);
  return 1;
}

/** Copies aad and finalAad (argv[2], argv[3]) into b. */
static int get_batch_aads(napi_env env, napi_value *argv, batch_t *b) {
  bytes_t aad, final_aad;
  if (!get_bytes(env, argv[2], &aad, "aad must be a Uint8Array")) return 0;
  if (!get_bytes(env, argv[3], &final_aad, "finalAad must be a Uint8Array")) return 0;
  if (aad.length > MAX_BATCH_AAD || final_aad.length > MAX_BATCH_AAD) return throw_range(env, "aad and finalAad must be at most 1 MiB each");
  b->aads = OPENSSL_malloc(aad.length + final_aad.length + 1);
  if (b->aads == NULL) return fail_internal(env), 0;
  if (aad.length > 0) memcpy(b->aads, aad.data, aad.length);
  if (final_aad.length > 0) memcpy(b->aads + aad.length, final_aad.data, final_aad.length);
  b->aad = (bytes_t){b->aads, aad.length};
  b->final_aad = (bytes_t){b->aads + aad.length, final_aad.length};
  return 1;
}

/** argv[5..7]: ciphertexts, tags, outs (equal lengths, 1..MAX_BATCH), held by references. */
static int get_batch_segments(napi_env env, napi_value *argv, batch_t *b) {
  uint32_t n = 0, n_tags = 0, n_outs = 0;
  if (!get_list(env, argv[5], &n, "ciphertexts must be an array of Uint8Arrays")) return 0;
  if (!get_list(env, argv[6], &n_tags, "tags must be an array of Uint8Arrays")) return 0;
  if (!get_list(env, argv[7], &n_outs, "outs must be an array of Uint8Arrays")) return 0;
  if (n == 0 || n > MAX_BATCH) return throw_range(env, "a batch holds 1 to 256 segments");
  if (n_tags != n || n_outs != n) return throw_range(env, "ciphertexts, tags and outs must have the same length");
  if ((uint64_t)b->first + n > ((uint64_t)1 << 32)) return throw_range(env, "segment number past 2^32 - 1");
  b->segments = OPENSSL_zalloc(n * sizeof *b->segments);
  b->refs = OPENSSL_zalloc(3 * n * sizeof *b->refs);
  if (b->segments == NULL || b->refs == NULL) return fail_internal(env), 0;
  for (uint32_t i = 0; i < n; i++) {
    bytes_t ct, tag, out;
    if (!get_held(env, argv[5], i, b, &ct, "ciphertexts must be an array of Uint8Arrays")) return 0;
    if (!get_held(env, argv[6], i, b, &tag, "tags must be an array of Uint8Arrays")) return 0;
    if (!get_held(env, argv[7], i, b, &out, "outs must be an array of Uint8Arrays")) return 0;
    if (tag.length != TAG_BYTES) return throw_range(env, "tag must be 16 bytes");
    if (out.length != ct.length) return throw_range(env, "each out must be as long as its ciphertext");
    if (ct.length > (size_t)1 << 34) return throw_range(env, "ciphertext too large");
    b->segments[i] = (batch_segment_t){ct.data, tag.data, (uint8_t *)out.data, ct.length};
  }
  b->count = n;
  return 1;
}

/**
 * No out may share a byte with another out, any tag, or any ciphertext but its own, which it
 * may hold exactly in place (the segments are opened in order, and a failure zeroes them all).
 */
static int check_batch_apart(napi_env env, const batch_t *b) {
  for (uint32_t i = 0; i < b->count; i++) {
    const batch_segment_t *s = &b->segments[i];
    for (uint32_t j = 0; j < b->count; j++) {
      const batch_segment_t *t = &b->segments[j];
      if (overlaps(s->out, s->length, t->tag, TAG_BYTES)) return throw_range(env, "out overlaps a tag");
      if (j != i && overlaps(s->out, s->length, t->out, t->length)) return throw_range(env, "outs overlap");
      if ((j != i || s->out != s->ciphertext) && overlaps(s->out, s->length, t->ciphertext, t->length)) return throw_range(env, "out overlaps the input");
    }
  }
  return 1;
}

/*
 * GcmKey#openBatch(nonce, firstSegment, aad, finalAad, finalLast, ciphertexts, tags, outs)
 *   -> Promise<boolean>
 * Opens segment i (firstSegment + i, written big-endian into nonce bytes 8..11) of
 * ciphertexts[i] with tags[i] into outs[i] on the libuv thread pool, under aad, or finalAad
 * for the last one when finalLast. Resolves true when every tag verified; false otherwise,
 * after zeroing every out of the batch. A bad argument throws here and nothing is scheduled.
 */
static napi_value key_open_batch(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  gcm_key_t *k = this_key(env, info, &argc, argv);
  if (k == NULL) return NULL;
  if (argc < 8) return throw_type(env, "openBatch(nonce, firstSegment, aad, finalAad, finalLast, ciphertexts, tags, outs)"), NULL;
  if (k->encrypt) return throw_type(env, "this GcmKey was made for seal"), NULL;
  batch_t *b = OPENSSL_zalloc(sizeof *b);
  if (b == NULL) return fail_internal(env);
  bytes_t nonce;
  double first = -1;
  bool final_last = false;
  napi_value promise = NULL, name;
  int ok = get_fixed(env, argv[0], NONCE_BYTES, &nonce, "nonce must be a Uint8Array", "nonce must be 12 bytes");
  if (ok && napi_get_value_double(env, argv[1], &first) != napi_ok) ok = throw_type(env, "firstSegment must be a number");
  if (ok && (!(first >= 0) || first > 4294967295.0 || first != (double)(uint32_t)first)) ok = throw_range(env, "firstSegment must be an integer in [0, 2^32)");
  if (ok) b->first = (uint32_t)first;
  ok = ok && get_batch_aads(env, argv, b);
  if (ok && napi_get_value_bool(env, argv[4], &final_last) != napi_ok) ok = throw_type(env, "finalLast must be a boolean");
  ok = ok && get_batch_segments(env, argv, b) && check_batch_apart(env, b);
  if (ok) {
    memcpy(b->nonce, nonce.data, NONCE_BYTES);
    b->final_last = final_last ? 1 : 0;
    b->ctx = EVP_CIPHER_CTX_new();
    if (b->ctx == NULL || EVP_CIPHER_CTX_copy(b->ctx, k->ctx) != 1) ok = (fail_internal(env), 0);
  }
  if (ok && (napi_create_string_utf8(env, "cipherlake:gcmOpenBatch", NAPI_AUTO_LENGTH, &name) != napi_ok ||
             napi_create_async_work(env, NULL, name, batch_execute, batch_complete, b, &b->work) != napi_ok ||
             napi_create_promise(env, &b->deferred, &promise) != napi_ok)) {
    ok = (fail_internal(env), 0);
  }
  if (ok && napi_queue_async_work(env, b->work) != napi_ok) {
    /* The promise exists but its work will never run: it is settled with false (a refused
     * batch, which the caller never sees) before the throw, so that it neither dangles nor
     * becomes a rejection no one handles (which would end the process). */
    napi_value refused;
    if (napi_get_boolean(env, false, &refused) == napi_ok) napi_resolve_deferred(env, b->deferred, refused);
    ok = (fail_internal(env), 0);
  }
  if (!ok) {
    batch_free(env, b);
    return NULL;
  }
  return promise;
}

/* ---- one-shot forms ---- */

static napi_value oneshot_seal(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 5) return throw_type(env, "seal(key, nonce, aad, pieces, out, outOffset?)"), NULL;
  if (argc < 6) argv[5] = NULL;
  EVP_CIPHER_CTX *ctx = new_keyed(env, argv[0], 1);
  if (ctx == NULL) return NULL;
  napi_value result = do_seal(env, ctx, argv + 1);
  EVP_CIPHER_CTX_free(ctx);
  return result;
}

static napi_value oneshot_open(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 6) return throw_type(env, "open(key, nonce, aad, pieces, tag, out, outOffset?)"), NULL;
  if (argc < 7) argv[6] = NULL;
  EVP_CIPHER_CTX *ctx = new_keyed(env, argv[0], 0);
  if (ctx == NULL) return NULL;
  napi_value result = do_open(env, ctx, argv + 1);
  EVP_CIPHER_CTX_free(ctx);
  return result;
}

/* ---- HKDF-SHA256 then AES-256-GCM, for KMS ciphertext blobs ---- */

/* HMAC's key for an empty salt (RFC 5869: "not provided" is HashLen zeros, the same HMAC key). */
static const uint8_t ZERO_KEY[SHA256_BYTES] = {0};

/** HMAC-SHA256(key, a ‖ b) into mac[32] with ctx (re-keyed here). Returns 0 on failure. */
static int hmac_sha256(EVP_MAC_CTX *ctx, const bytes_t *key, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t *mac) {
  /*
   * A NULL key would tell EVP_MAC_init to keep the previous one: an empty key is passed as
   * 32 zero bytes instead, the same HMAC key (HMAC pads every key with zeros to the block).
   */
  const uint8_t *k = key->length > 0 ? key->data : ZERO_KEY;
  size_t k_len = key->length > 0 ? key->length : sizeof ZERO_KEY;
  size_t mac_len = 0;
  if (EVP_MAC_init(ctx, k, k_len, NULL) != 1) return 0;
  if (a_len > 0 && EVP_MAC_update(ctx, a, a_len) != 1) return 0;
  if (b_len > 0 && EVP_MAC_update(ctx, b, b_len) != 1) return 0;
  return EVP_MAC_final(ctx, mac, &mac_len, SHA256_BYTES) == 1 && mac_len == SHA256_BYTES;
}

/**
 * HKDF-SHA256 (RFC 5869) with L = 32, one output block: PRK = HMAC(salt, ikm), OKM =
 * HMAC(PRK, info ‖ 0x01), on a copy of the instance's HMAC context that is freed (cleansed)
 * before return, as the PRK is, whatever happens. Returns 0 on failure (okm then cleansed).
 */
static int hkdf_sha256(instance_t *inst, const bytes_t *ikm, const bytes_t *salt, const bytes_t *info, uint8_t okm[SHA256_BYTES]) {
  static const uint8_t one = 1;
  uint8_t prk[SHA256_BYTES];
  bytes_t prk_key = {prk, sizeof prk};
  EVP_MAC_CTX *c = EVP_MAC_CTX_dup(inst->hmac_ctx);
  int ok = c != NULL && hmac_sha256(c, salt, ikm->data, ikm->length, NULL, 0, prk) &&
           hmac_sha256(c, &prk_key, info->data, info->length, &one, 1, okm);
  OPENSSL_cleanse(prk, sizeof prk);
  EVP_MAC_CTX_free(c);
  if (!ok) OPENSSL_cleanse(okm, SHA256_BYTES);
  return ok;
}

/** The three HKDF inputs at argv[0..2]: Uint8Arrays of at most MAX_HKDF_INPUT bytes each. */
static int get_hkdf_inputs(napi_env env, napi_value *argv, bytes_t *ikm, bytes_t *salt, bytes_t *info) {
  if (!get_bytes(env, argv[0], ikm, "ikm must be a Uint8Array")) return 0;
  if (!get_bytes(env, argv[1], salt, "salt must be a Uint8Array")) return 0;
  if (!get_bytes(env, argv[2], info, "info must be a Uint8Array")) return 0;
  if (ikm->length > MAX_HKDF_INPUT || salt->length > MAX_HKDF_INPUT || info->length > MAX_HKDF_INPUT) return throw_range(env, "ikm, salt and info must be at most 1 MiB each");
  return 1;
}

/** Refuses an out window that overlaps any of the n inputs given (before anything is written). */
static int check_all_apart(napi_env env, const bytes_t *const *inputs, size_t n, const uint8_t *out, size_t out_len) {
  for (size_t i = 0; i < n; i++) {
    if (!check_apart(env, inputs[i], out, out_len, "out overlaps an input")) return 0;
  }
  return 1;
}

/** A context keyed with HKDF(ikm, salt, info) for one direction, or NULL after throwing. */
static EVP_CIPHER_CTX *new_hkdf_keyed(napi_env env, const bytes_t *ikm, const bytes_t *salt, const bytes_t *info, const bytes_t *nonce, int encrypt) {
  instance_t *inst = instance(env);
  if (inst == NULL || inst->cipher == NULL || inst->hmac_ctx == NULL) return fail_internal(env), NULL;
  uint8_t key[KEY_BYTES];
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int ok = ctx != NULL && hkdf_sha256(inst, ikm, salt, info, key) &&
           EVP_CipherInit_ex2(ctx, inst->cipher, key, nonce->data, encrypt, NULL) == 1;
  OPENSSL_cleanse(key, sizeof key);
  if (!ok) {
    EVP_CIPHER_CTX_free(ctx);
    fail_internal(env);
    return NULL;
  }
  return ctx;
}

/*
 * hkdfGcmSeal(ikm, salt, info, nonce, aad, pieces, out, outOffset?): AES-256-GCM under
 * HKDF-SHA256(ikm, salt, info, 32) of the concatenated pieces into out at outOffset, then the
 * tag. Returns the bytes written. out may hold the plaintext exactly in place, and overlaps
 * no other input.
 */
static napi_value hkdf_gcm_seal(napi_env env, napi_callback_info info_cb) {
  size_t argc = 8;
  napi_value argv[8];
  bytes_t ikm, salt, info, nonce, aad, pieces[MAX_PIECES];
  uint32_t count = 0;
  size_t total = 0;
  uint8_t *out = NULL;
  if (napi_get_cb_info(env, info_cb, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 7) return throw_type(env, "hkdfGcmSeal(ikm, salt, info, nonce, aad, pieces, out, outOffset?)"), NULL;
  if (argc < 8) argv[7] = NULL;
  if (!get_hkdf_inputs(env, argv, &ikm, &salt, &info)) return NULL;
  if (!get_fixed(env, argv[3], NONCE_BYTES, &nonce, "nonce must be a Uint8Array", "nonce must be 12 bytes")) return NULL;
  if (!get_bytes(env, argv[4], &aad, "aad must be a Uint8Array")) return NULL;
  if (aad.length > (size_t)1 << 32) return throw_range(env, "aad too large"), NULL;
  if (!get_pieces(env, argv[5], pieces, &count, &total)) return NULL;
  if (!get_out(env, argv[6], argv[7], total + TAG_BYTES, &out)) return NULL;
  if (!check_overlap(env, pieces, count, out, total + TAG_BYTES)) return NULL;
  const bytes_t *inputs[] = {&ikm, &salt, &info, &nonce, &aad};
  if (!check_all_apart(env, inputs, 5, out, total + TAG_BYTES)) return NULL;
  EVP_CIPHER_CTX *ctx = new_hkdf_keyed(env, &ikm, &salt, &info, &nonce, 1);
  if (ctx == NULL) return NULL;
  int ok = seal_keyed(ctx, &aad, pieces, count, total, out);
  EVP_CIPHER_CTX_free(ctx); /* cleanses the key schedule */
  if (!ok) return fail_internal(env);
  napi_value result;
  napi_create_double(env, (double)(total + TAG_BYTES), &result);
  return result;
}

/*
 * hkdfGcmOpen(ikm, salt, info, nonce, aad, pieces, tag, out, outOffset?): the inverse of
 * hkdfGcmSeal. Returns false on a bad tag after zeroing every byte it wrote. out overlaps
 * no input.
 */
static napi_value hkdf_gcm_open(napi_env env, napi_callback_info info_cb) {
  size_t argc = 9;
  napi_value argv[9];
  bytes_t ikm, salt, info, nonce, aad, tag, pieces[MAX_PIECES];
  uint32_t count = 0;
  size_t total = 0;
  uint8_t *out = NULL;
  if (napi_get_cb_info(env, info_cb, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 8) return throw_type(env, "hkdfGcmOpen(ikm, salt, info, nonce, aad, pieces, tag, out, outOffset?)"), NULL;
  if (argc < 9) argv[8] = NULL;
  if (!get_hkdf_inputs(env, argv, &ikm, &salt, &info)) return NULL;
  if (!get_fixed(env, argv[3], NONCE_BYTES, &nonce, "nonce must be a Uint8Array", "nonce must be 12 bytes")) return NULL;
  if (!get_bytes(env, argv[4], &aad, "aad must be a Uint8Array")) return NULL;
  if (aad.length > (size_t)1 << 32) return throw_range(env, "aad too large"), NULL;
  if (!get_pieces(env, argv[5], pieces, &count, &total)) return NULL;
  if (!get_fixed(env, argv[6], TAG_BYTES, &tag, "tag must be a Uint8Array", "tag must be 16 bytes")) return NULL;
  if (!get_out(env, argv[7], argv[8], total, &out)) return NULL;
  /* In place is refused too: a failed open zeroes out, which would destroy the ciphertext. */
  for (uint32_t i = 0; i < count; i++) {
    if (!check_apart(env, &pieces[i], out, total, "out overlaps an input")) return NULL;
  }
  const bytes_t *inputs[] = {&ikm, &salt, &info, &nonce, &aad, &tag};
  if (!check_all_apart(env, inputs, 6, out, total)) return NULL;
  EVP_CIPHER_CTX *ctx = new_hkdf_keyed(env, &ikm, &salt, &info, &nonce, 0);
  if (ctx == NULL) return NULL;
  int ok = open_keyed(ctx, &aad, pieces, count, total, &tag, out);
  EVP_CIPHER_CTX_free(ctx);
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

/* ---- heap policy ---- */

/*
 * retainFreedHeap(bytes): sets glibc's M_TRIM_THRESHOLD, the free space at the top of the heap
 * that free() keeps instead of giving back to the kernel. Why here: a server that seals or opens
 * segments into one fresh 64 KiB buffer each frees them in bursts (each V8 collection); with
 * glibc's default (128 KiB, raised only by freed mmap chunks) the burst is trimmed and the next
 * buffers are faulted in again page by page, which cost a 64 MiB GET more CPU than the cipher.
 * Returns false (and does nothing) off glibc or when glibc refuses. Process-wide: only the
 * server's entry point calls it, never a library path.
 */
static napi_value retain_freed_heap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  double bytes = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_double(env, argv[0], &bytes) != napi_ok) return throw_type(env, "bytes must be a number"), NULL;
  if (!(bytes >= 0) || bytes > (double)INT_MAX || bytes != (double)(int)bytes) return throw_range(env, "bytes must be an integer in [0, 2^31)"), NULL;
  int ok = 0;
#ifdef __GLIBC__
  ok = mallopt(M_TRIM_THRESHOLD, (int)bytes) == 1;
#endif
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

/* ---- module ---- */

static void instance_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  instance_t *inst = data;
  if (inst->key_class != NULL) napi_delete_reference(env, inst->key_class);
  EVP_MAC_CTX_free(inst->hmac_ctx);
  EVP_MAC_free(inst->hmac);
  EVP_CIPHER_free(inst->cipher);
  OPENSSL_free(inst);
}

/** HMAC fetched and its SHA-256 context made, once per instance. Returns 0 on failure. */
static int init_hmac(instance_t *inst) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  inst->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  if (inst->hmac == NULL || (inst->hmac_ctx = EVP_MAC_CTX_new(inst->hmac)) == NULL) return 0;
  return EVP_MAC_CTX_set_params(inst->hmac_ctx, params) == 1;
}

NAPI_MODULE_INIT() {
  instance_t *inst = OPENSSL_zalloc(sizeof *inst);
  if (inst == NULL) return fail_internal(env);
  inst->cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
  if (inst->cipher == NULL || !init_hmac(inst) || napi_set_instance_data(env, inst, instance_finalize, NULL) != napi_ok) {
    EVP_MAC_CTX_free(inst->hmac_ctx);
    EVP_MAC_free(inst->hmac);
    EVP_CIPHER_free(inst->cipher);
    OPENSSL_free(inst);
    return fail_internal(env);
  }
  napi_property_descriptor methods[] = {
      {"seal", NULL, key_seal, NULL, NULL, NULL, napi_default_method, NULL},
      {"open", NULL, key_open, NULL, NULL, NULL, napi_default_method, NULL},
      {"dispose", NULL, key_dispose, NULL, NULL, NULL, napi_default_method, NULL},
      {"openBatch", NULL, key_open_batch, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value key_class;
  if (napi_define_class(env, "GcmKey", NAPI_AUTO_LENGTH, key_construct, NULL, 4, methods, &key_class) != napi_ok) return NULL;
  napi_create_reference(env, key_class, 1, &inst->key_class);
  napi_value seal_fn, open_fn, hkdf_seal_fn, hkdf_open_fn, heap_fn;
  napi_create_function(env, "seal", NAPI_AUTO_LENGTH, oneshot_seal, NULL, &seal_fn);
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, oneshot_open, NULL, &open_fn);
  napi_create_function(env, "hkdfGcmSeal", NAPI_AUTO_LENGTH, hkdf_gcm_seal, NULL, &hkdf_seal_fn);
  napi_create_function(env, "hkdfGcmOpen", NAPI_AUTO_LENGTH, hkdf_gcm_open, NULL, &hkdf_open_fn);
  napi_create_function(env, "retainFreedHeap", NAPI_AUTO_LENGTH, retain_freed_heap, NULL, &heap_fn);
  napi_set_named_property(env, exports, "GcmKey", key_class);
  napi_set_named_property(env, exports, "seal", seal_fn);
  napi_set_named_property(env, exports, "open", open_fn);
  napi_set_named_property(env, exports, "hkdfGcmSeal", hkdf_seal_fn);
  napi_set_named_property(env, exports, "hkdfGcmOpen", hkdf_open_fn);
  napi_set_named_property(env, exports, "retainFreedHeap", heap_fn);
  return exports;
}
