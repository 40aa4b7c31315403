/*
 * sig.h — the archive's keys and signatures.
 *
 * The signing key is Ed25519 (OpenSSL), kept as an unencrypted PKCS#8 PEM
 * file of mode 0600.  Commits are signed in git's SSH signature format
 * (openssh PROTOCOL.sshsig: namespace "git", empty reserved, sha512) so that
 * `git verify-commit` checks them with stock tools.  The HMAC key of the
 * person index is 32 random bytes, stored raw, mode 0600.
 */
#ifndef CUSTOS_SIG_H
#define CUSTOS_SIG_H

#include <stddef.h>

typedef struct cu_signer cu_signer;

#define CU_ED25519_PUB 32
#define CU_ED25519_SIG 64
#define CU_HMAC_KEY_LEN 32

/* Generates a new Ed25519 key and writes it to path (PKCS#8 PEM, 0600,
 * O_EXCL: CU_EEXISTS if the file exists), durably. */
int cu_sig_keygen(const char *path);

/* Loads the private key at path.  The file must be a regular file owned by
 * the caller or root and not readable by group or others (CU_EINVALID
 * "keys/signing.pem: mode 0644 is too open, expected 0600" otherwise). */
int cu_signer_load(cu_signer **out, const char *path);
void cu_signer_free(cu_signer *s);

/* The raw 32-byte public key. */
const unsigned char *cu_signer_pub(const cu_signer *s);

/* Plain Ed25519 signature over msg into sig[64]. */
int cu_sig_sign(unsigned char sig[CU_ED25519_SIG], const cu_signer *s,
	const void *msg, size_t len);

/* Verifies a plain Ed25519 signature: 0 if good, CU_EINVALID if not. */
int cu_sig_verify(const unsigned char pub[CU_ED25519_PUB],
	const unsigned char sig[CU_ED25519_SIG], const void *msg, size_t len);

/* The OpenSSH public key line "ssh-ed25519 AAAA…" (no comment) into a new
 * string. */
char *cu_sig_ssh_pubkey(const unsigned char pub[CU_ED25519_PUB]);

/* The allowed-signers line for git: `<principal> namespaces="git"
 * ssh-ed25519 AAAA…` into a new string. */
char *cu_sig_allowed_signers(const unsigned char pub[CU_ED25519_PUB],
	const char *principal);

/* Signs msg as an SSHSIG (namespace ns, hash sha512) and returns the
 * armored form, "-----BEGIN SSH SIGNATURE-----\n" … base64 wrapped at 70
 * … "-----END SSH SIGNATURE-----" WITHOUT a final newline (ready for
 * git_commit_create_with_signature), in a new string. */
int cu_sshsig_sign(char **armored, const cu_signer *s, const char *ns,
	const void *msg, size_t len);

/* Checks an armored SSHSIG (with or without a final newline) over msg:
 * the blob is well formed, namespace is ns, the hash is sha512 or sha256,
 * the key is Ed25519 and the signature is good.  *pub_out (may be NULL)
 * receives the signer's public key.  0 if good, CU_EINVALID with the
 * reason otherwise. */
int cu_sshsig_verify(unsigned char pub_out[CU_ED25519_PUB], const char *armored,
	const char *ns, const void *msg, size_t len);

/* Writes 32 random bytes to path (0600, O_EXCL), durably. */
int cu_hmac_keygen(const char *path);

/* Loads the 32-byte HMAC key (same file checks as cu_signer_load). */
int cu_hmac_key_load(unsigned char key[CU_HMAC_KEY_LEN], const char *path);

/* out = HMAC-SHA-256(key, msg). */
int cu_hmac_sha256(unsigned char out[32], const unsigned char key[CU_HMAC_KEY_LEN],
	const void *msg, size_t len);

#endif
