/*
 * memcache: libnss_hermit's read-only view of the snapshot files hermit-unixd publishes
 * beside its client socket (passwd.mc, group.mc, initgroups.mc; unixd/resolver/memcache.py
 * writes them and documents the format).
 *
 * This file finds a record and checks it; it does not decide what a lookup answers (unixd did,
 * when it wrote the file) and it does not touch the caller's buffer (nss_hermit.c's callbacks
 * copy the record while the mapping is held). A miss here, for any reason, is never
 * "not found": the caller asks the socket.
 *
 * The protocol (STYLE.md "C thin-client rules", after SSSD's memcache):
 * - The files are immutable: unixd writes a new file and rename()s it over the old one, so a
 *   mapping never changes under a reader; there is no in-place writer to race with, hence no
 *   barrier markers and no retries. A mapped file replaced since is noticed by one stat() of
 *   the path per call (inode, size or mtime changed), unmapped and the new one mapped. No
 *   file is ever cut short in place (reading past the end of a mapped file raises SIGBUS):
 *   only unixd writes the directory, and it only renames and unlinks.
 * - A file is opened O_RDONLY|O_CLOEXEC|O_NOFOLLOW, must pass cclient's trust rule
 *   (hermit_file_is_trusted: a regular file of the owner of its directory, neither writable by
 *   group or others, so nobody but unixd's user could have put it there), be of the size its
 *   header says (at most MC_MAX_FILE_BYTES), with the magic, version, kind and header crc32;
 *   the descriptor is closed once it is mapped PROT_READ, MAP_SHARED.
 * - Every offset is bounds-checked before it is read; chains only go forward (so they end);
 *   every string of a record ends with a NUL inside the record; the record that answers must
 *   match its crc32 and be unexpired (its wall-clock expiry against time(NULL)).
 * - One mapping per file per process, behind one mutex held for the whole lookup including
 *   the caller's copy. After a fork (getpid changed) the inherited mappings are dropped and
 *   the config re-read. No environment is read; socket_path comes from the fixed config file.
 */
#ifndef HERMIT_NSS_MEMCACHE_H
#define HERMIT_NSS_MEMCACHE_H

#include <stddef.h>
#include <stdint.h>

enum hermit_mc_kind { HERMIT_MC_PASSWD = 1, HERMIT_MC_GROUP = 2, HERMIT_MC_INITGROUPS = 3 };

/* A checked, unexpired record, valid only during the callback. */
struct hermit_mc_rec {
    uint32_t id1, id2;   /* passwd: uid, gid; group: gid, 0; initgroups: number of gids */
    uint32_t count;      /* NUL-terminated strings at STRINGS (the name first) */
    const char *strings;
    const unsigned char *gids; /* initgroups: id1 little-endian u32 values, unaligned */
};

/* The I-th gid of an initgroups record (I < rec->id1). */
uint32_t hermit_mc_gid(const struct hermit_mc_rec *rec, uint32_t i);

/* Called with the mapping held: 1 if it answered (its result is in CTX), 0 to decline (the
 * caller then asks the socket). */
typedef int (*hermit_mc_use)(const struct hermit_mc_rec *rec, void *ctx);

/* 1 if the record of KIND named NAME (or with id ID) was found and USE answered, else 0. */
int hermit_mc_by_name(enum hermit_mc_kind kind, const char *name, hermit_mc_use use, void *ctx);
int hermit_mc_by_id(enum hermit_mc_kind kind, uint32_t id, hermit_mc_use use, void *ctx);

#endif
