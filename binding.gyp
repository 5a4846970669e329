{
  # The native AES-256-GCM segment cipher (src/crypto/native-gcm/README.md). npm runs
  # `node-gyp rebuild` on install because this file exists; it builds offline against the
  # headers of the node that runs it (npm's nodedir) and links to the OpenSSL inside node.
  "targets": [
    {
      "target_name": "cipherlake_aes_gcm",
      "sources": ["src/crypto/native-gcm/aes_gcm.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration", "-fvisibility=hidden"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS"]
    }
  ]
}
