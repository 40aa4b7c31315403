/*
 * note.h — C2SP signed notes, tlog checkpoints and tlog proofs.
 *
 *   signed note (c2sp.org/signed-note): text ending in "\n", a blank line,
 *     then lines "— <key name> <base64(key ID[4] ‖ signature[64])>\n"
 *     (the dash is U+2014).  Ed25519 key ID = SHA-256(name ‖ 0x0A ‖ 0x01 ‖
 *     pub[32])[:4]; the signature is plain Ed25519 over the text, final
 *     newline included.  Verifier key: "<name>+<hex key ID>+<base64(0x01 ‖ pub)>".
 *   checkpoint (c2sp.org/tlog-checkpoint): the text
 *     "<origin>\n<tree size, decimal>\n<base64 root hash>\n".
 *   inclusion proof (c2sp.org/tlog-proof@v1):
 *     "c2sp.org/tlog-proof@v1\nindex <N>\n<base64 hash>\n…\n\n<signed checkpoint>"
 *   consistency proof (custos's own, in the same style):
 *     "custos.consistency-proof@v1\nold <M>\n<base64 hash>\n…\n\n<signed checkpoint of the new size>"
 */
#ifndef CUSTOS_NOTE_H
#define CUSTOS_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "custos/sig.h"

/* The 4-byte key ID of an Ed25519 key named name. */
void cu_note_key_id(unsigned char id[4], const char *name, const unsigned char pub[CU_ED25519_PUB]);

/* The verifier key string (new string). */
char *cu_note_vkey(const char *name, const unsigned char pub[CU_ED25519_PUB]);

/* Parses a verifier key: name (new string), public key.  CU_EINVALID for a
 * malformed key, an algorithm other than Ed25519 (0x01), or a key ID that
 * does not match the name and key. */
int cu_note_parse_vkey(char **name, unsigned char pub[CU_ED25519_PUB], const char *vkey);

/* Signs text (which must be non-empty, end in "\n" and hold no blank line)
 * and returns the whole note (new string). */
int cu_note_sign(char **note, const char *text, const char *name, const cu_signer *s);

/* Verifies a note against one key: 0 if the note is well formed and carries
 * a good signature line by (name, pub); *text (may be NULL) receives a copy
 * of its text.  CU_EINVALID with the reason otherwise (malformed, no
 * signature by that key, bad signature). */
int cu_note_verify(char **text, const char *note, const char *name,
	const unsigned char pub[CU_ED25519_PUB]);

/* Checkpoint text for origin, size, root (new string). */
char *cu_checkpoint_text(const char *origin, uint64_t size, const unsigned char root[32]);

/* Parses checkpoint text (extension lines after the third are allowed and
 * ignored): origin (new string), size, root.  CU_EINVALID otherwise. */
int cu_checkpoint_parse(char **origin, uint64_t *size, unsigned char root[32], const char *text);

/* Formats an inclusion proof (c2sp.org/tlog-proof@v1) around a signed
 * checkpoint note (new string). */
char *cu_proof_inclusion_text(uint64_t index, const unsigned char proof[][32], size_t n,
	const char *checkpoint_note);

/* Parses one: index, up to max hashes into proof (*n), and the checkpoint
 * note that follows (new string).  An "extra" line is accepted and ignored. */
int cu_proof_inclusion_parse(uint64_t *index, unsigned char proof[][32], size_t *n, size_t max,
	char **checkpoint_note, const char *text);

/* Formats and parses a consistency proof from the old size m (see above). */
char *cu_proof_consistency_text(uint64_t m, const unsigned char proof[][32], size_t n,
	const char *checkpoint_note);
int cu_proof_consistency_parse(uint64_t *m, unsigned char proof[][32], size_t *n, size_t max,
	char **checkpoint_note, const char *text);

#endif
