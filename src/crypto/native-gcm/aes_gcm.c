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
 *   seal(key, nonce, aad, pieces, out, outOffset) / open(key, nonce, aad, pieces, tag, out,
 *   outOffset): one-shot forms (one context per call; for tests and small uses).
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
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
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

typedef struct {
  EVP_CIPHER *cipher; /* AES-256-GCM, fetched once for this addon instance */
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
  if (EVP_CipherInit_ex2(ctx, NULL, NULL, nonce.data, 1, NULL) != 1) return fail_internal(env);
  long long written = run(ctx, &aad, pieces, count, out);
  int outl = 0;
  if (written != (long long)total || EVP_CipherFinal_ex(ctx, out + total, &outl) != 1 || outl != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, out + total) != 1) {
    OPENSSL_cleanse(out, total + TAG_BYTES);
    return fail_internal(env);
  }
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
  if (EVP_CipherInit_ex2(ctx, NULL, NULL, nonce.data, 0, NULL) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, (void *)tag.data) != 1) {
    return fail_internal(env);
  }
  long long written = run(ctx, &aad, pieces, count, out);
  int outl = 0;
  int ok = written == (long long)total && EVP_CipherFinal_ex(ctx, out + total, &outl) == 1 && outl == 0;
  if (!ok) {
    /* A bad tag (or any failure): no byte of unauthenticated plaintext may stay in out. */
    OPENSSL_cleanse(out, total);
    ERR_clear_error();
  }
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
  EVP_CIPHER_free(inst->cipher);
  OPENSSL_free(inst);
}

NAPI_MODULE_INIT() {
  instance_t *inst = OPENSSL_zalloc(sizeof *inst);
  if (inst == NULL) return fail_internal(env);
  inst->cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
  if (inst->cipher == NULL || napi_set_instance_data(env, inst, instance_finalize, NULL) != napi_ok) {
    EVP_CIPHER_free(inst->cipher);
    OPENSSL_free(inst);
    return fail_internal(env);
  }
  napi_property_descriptor methods[] = {
      {"seal", NULL, key_seal, NULL, NULL, NULL, napi_default_method, NULL},
      {"open", NULL, key_open, NULL, NULL, NULL, napi_default_method, NULL},
      {"dispose", NULL, key_dispose, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value key_class;
  if (napi_define_class(env, "GcmKey", NAPI_AUTO_LENGTH, key_construct, NULL, 3, methods, &key_class) != napi_ok) return NULL;
  napi_create_reference(env, key_class, 1, &inst->key_class);
  napi_value seal_fn, open_fn, heap_fn;
  napi_create_function(env, "seal", NAPI_AUTO_LENGTH, oneshot_seal, NULL, &seal_fn);
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, oneshot_open, NULL, &open_fn);
  napi_create_function(env, "retainFreedHeap", NAPI_AUTO_LENGTH, retain_freed_heap, NULL, &heap_fn);
  napi_set_named_property(env, exports, "GcmKey", key_class);
  napi_set_named_property(env, exports, "seal", seal_fn);
  napi_set_named_property(env, exports, "open", open_fn);
  napi_set_named_property(env, exports, "retainFreedHeap", heap_fn);
  return exports;
}
