/* memcache: finding and checking records in hermit-unixd's snapshot files (see memcache.h). */
#define _GNU_SOURCE
#include "memcache.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "hermit_client.h"

/* The format of unixd/resolver/memcache.py. */
#define MC_VERSION 1u
#define MC_HEADER_SIZE 48u
#define MC_HEADER_CRC_AT 20u
#define MC_RECORD_HEAD 40u
/* unixd's MAX_FILE_BYTES: larger files are never written, so one is not ours. */
#define MC_MAX_FILE_BYTES (256u << 20)
static const char mc_magic[8] = {'h', 'e', 'r', 'm', 'i', 't', 'm', 'c'};
#define NO_SKIP SIZE_MAX
static const char *const mc_file[] = {"", "passwd.mc", "group.mc", "initgroups.mc"};

struct mapping {
    /* Invariant: base != NULL iff a checked file of size bytes is mapped; rejected == 1 iff
     * the file with the identity below failed its checks (not retried until it changes). */
    const unsigned char *base;
    size_t size;
    int rejected;
    dev_t dev;
    ino_t ino;
    off_t st_size;
    struct timespec mtime;
    uint32_t nbuckets, name_table, id_table, records;
};

static struct {
    pthread_mutex_t lock;
    pid_t pid;
    int have_paths; /* paths hold the files beside the socket, read from the config */
    char paths[4][HERMIT_BESIDE_PATH_SIZE]; /* by enum hermit_mc_kind */
    uint32_t crc_table[256];
    int crc_ready;
    struct mapping maps[4]; /* by enum hermit_mc_kind */
} mc = {PTHREAD_MUTEX_INITIALIZER, 0, 0, {""}, {0}, 0, {{0}}};

static uint32_t u32_at(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int64_t i64_at(const unsigned char *p)
{
    uint64_t v = (uint64_t)u32_at(p) | (uint64_t)u32_at(p + 4) << 32;
    return (int64_t)v;
}

/* CRC-32 (IEEE 802.3, zlib's), table built once under the lock. */
static uint32_t crc32_of(const unsigned char *p, size_t n, size_t skip_at)
{
    if (!mc.crc_ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            mc.crc_table[i] = c;
        }
        mc.crc_ready = 1;
    }
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        /* The 4 bytes at SKIP_AT (the crc field itself) count as zero. */
        unsigned char b = (skip_at != NO_SKIP && i >= skip_at && i - skip_at < 4) ? 0 : p[i];
        c = mc.crc_table[(c ^ b) & 0xFF] ^ (c >> 8);
    }
    return c ^ 0xFFFFFFFFu;
}

static uint32_t fnv1a(const unsigned char *p, size_t n)
{
    uint32_t h = 0x811C9DC5u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x01000193u;
    return h;
}

static void unmap(struct mapping *m)
{
    if (m->base != NULL)
        munmap((void *)m->base, m->size);
    memset(m, 0, sizeof *m);
}

static int same_file(const struct mapping *m, const struct stat *st)
{
    return m->dev == st->st_dev && m->ino == st->st_ino && m->st_size == st->st_size &&
           m->mtime.tv_sec == st->st_mtim.tv_sec && m->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* 1 if TABLE holds NBUCKETS offsets inside the file, before the records. */
static int table_fits(uint32_t table, uint32_t nbuckets, uint32_t records)
{
    return table >= MC_HEADER_SIZE && (uint64_t)table + 4u * (uint64_t)nbuckets <= records;
}

static int header_ok(struct mapping *m, enum hermit_mc_kind kind)
{
    const unsigned char *h = m->base;
    if (memcmp(h, mc_magic, sizeof mc_magic) != 0 || u32_at(h + 8) != MC_VERSION ||
        u32_at(h + 12) != (uint32_t)kind || u32_at(h + 16) != m->size ||
        u32_at(h + MC_HEADER_CRC_AT) != crc32_of(h, MC_HEADER_SIZE, MC_HEADER_CRC_AT))
        return 0;
    m->nbuckets = u32_at(h + 24);
    m->name_table = u32_at(h + 28);
    m->id_table = u32_at(h + 32);
    m->records = u32_at(h + 36);
    if (m->nbuckets == 0 || m->records > m->size ||
        !table_fits(m->name_table, m->nbuckets, m->records))
        return 0;
    if (kind == HERMIT_MC_INITGROUPS)
        return m->id_table == 0;
    return table_fits(m->id_table, m->nbuckets, m->records);
}

/* Maps PATH into M (which is empty); 1 on success. ST is the path's stat. */
static int map_file(struct mapping *m, enum hermit_mc_kind kind, const char *path,
                    const struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    struct stat fst;
    void *base = MAP_FAILED;
    if (fstat(fd, &fst) == 0 && hermit_file_is_trusted(path, &fst) &&
        fst.st_size >= MC_HEADER_SIZE && (uint64_t)fst.st_size <= MC_MAX_FILE_BYTES)
        base = mmap(NULL, (size_t)fst.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    /* Remember the identity seen by stat(path): a rejected file is not tried again until the
     * path names another one. */
    m->dev = st->st_dev;
    m->ino = st->st_ino;
    m->st_size = st->st_size;
    m->mtime = st->st_mtim;
    if (base == MAP_FAILED) {
        m->rejected = 1;
        return 0;
    }
    m->base = base;
    m->size = (size_t)fst.st_size;
    if (!same_file(m, &fst) || !header_ok(m, kind)) {
        munmap(base, m->size);
        m->base = NULL;
        m->size = 0;
        m->rejected = 1;
        return 0;
    }
    return 1;
}

/* The checked mapping of KIND, or NULL (lock held). */
static struct mapping *current(enum hermit_mc_kind kind)
{
    pid_t pid = getpid();
    if (mc.pid != pid) {
        /* A forked child: its mappings are the parent's; start afresh. */
        for (size_t i = 0; i < sizeof mc.maps / sizeof mc.maps[0]; i++)
            unmap(&mc.maps[i]);
        mc.have_paths = 0;
        mc.pid = pid;
    }
    if (!mc.have_paths) {
        struct hermit_conn conn;
        if (hermit_read_socket_path(&conn, HERMIT_CONFIG_PATH) != HERMIT_OK)
            return NULL;
        char *slash = strrchr(conn.path, '/');
        if (slash == NULL)
            return NULL;
        *slash = '\0';
        for (size_t k = 1; k < sizeof mc.paths / sizeof mc.paths[0]; k++)
            snprintf(mc.paths[k], sizeof mc.paths[k], "%s/%s", conn.path, mc_file[k]);
        mc.have_paths = 1;
    }
    const char *path = mc.paths[kind];
    struct mapping *m = &mc.maps[kind];
    struct stat st;
    if (stat(path, &st) != 0) {
        unmap(m);
        mc.have_paths = 0; /* read the config again next time: socket_path may have moved */
        return NULL;
    }
    if ((m->base != NULL || m->rejected) && same_file(m, &st))
        return m->base != NULL ? m : NULL;
    unmap(m);
    return map_file(m, kind, path, &st) ? m : NULL;
}

/* Fills REC from the record at OFF if it lies inside the file and its strings end inside it;
 * *NEXT_NAME / *NEXT_ID get its chain links. 1 if it does. */
static int record_at(const struct mapping *m, enum hermit_mc_kind kind, uint32_t off,
                     struct hermit_mc_rec *rec, uint32_t *next_name, uint32_t *next_id)
{
    if (off < m->records || off % 4 != 0 || (uint64_t)off + MC_RECORD_HEAD > m->size)
        return 0;
    const unsigned char *r = m->base + off;
    uint32_t size = u32_at(r), data_len = u32_at(r + 36);
    if (size < MC_RECORD_HEAD || size > m->size - off || data_len > size - MC_RECORD_HEAD)
        return 0;
    *next_name = u32_at(r + 8);
    *next_id = u32_at(r + 12);
    rec->id1 = u32_at(r + 24);
    rec->id2 = u32_at(r + 28);
    rec->count = u32_at(r + 32);
    const unsigned char *data = r + MC_RECORD_HEAD;
    size_t left = data_len;
    rec->gids = NULL;
    if (kind == HERMIT_MC_INITGROUPS) {
        if (rec->id1 > left / 4 || rec->count != 1)
            return 0;
        rec->gids = data;
        data += 4u * (size_t)rec->id1;
        left -= 4u * (size_t)rec->id1;
    }
    if (rec->count == 0 || rec->count > left)
        return 0;
    rec->strings = (const char *)data;
    for (uint32_t i = 0; i < rec->count; i++) {
        const unsigned char *nul = memchr(data, '\0', left);
        if (nul == NULL)
            return 0;
        left -= (size_t)(nul - data) + 1;
        data = nul + 1;
    }
    return 1;
}

/* 1 if the record at OFF (already found by record_at) is intact and unexpired. */
static int usable(const struct mapping *m, uint32_t off)
{
    const unsigned char *r = m->base + off;
    uint32_t size = u32_at(r);
    if (u32_at(r + 4) != crc32_of(r + 8, size - 8, NO_SKIP))
        return 0;
    return (int64_t)time(NULL) < i64_at(r + 16);
}

static uint32_t bucket_head(const struct mapping *m, uint32_t table, uint32_t hash)
{
    return u32_at(m->base + table + 4u * (hash % m->nbuckets));
}

/* The lookup in a checked mapping M (header_ok passed): what lookup answers, without the
 * file handling, so that tests/fuzz can run it on any bytes. */
static int find(const struct mapping *m, enum hermit_mc_kind kind, const char *name, uint32_t id,
                hermit_mc_use use, void *ctx)
{
    int answered = 0;
    unsigned char le[4] = {(unsigned char)id, (unsigned char)(id >> 8),
                           (unsigned char)(id >> 16), (unsigned char)(id >> 24)};
    uint32_t off = name != NULL
                       ? bucket_head(m, m->name_table,
                                     fnv1a((const unsigned char *)name, strlen(name)))
                       : bucket_head(m, m->id_table, fnv1a(le, sizeof le));
    uint32_t prev = 0;
    struct hermit_mc_rec rec;
    uint32_t next_name, next_id;
    /* Chains only go forward: a link at or before the last one means a broken file. */
    while (off != 0 && off > prev && record_at(m, kind, off, &rec, &next_name, &next_id)) {
        if (name != NULL ? strcmp(rec.strings, name) == 0 : rec.id1 == id) {
            if (usable(m, off))
                answered = use(&rec, ctx);
            break;
        }
        prev = off;
        off = name != NULL ? next_name : next_id;
    }
    return answered;
}

static int lookup(enum hermit_mc_kind kind, const char *name, uint32_t id, hermit_mc_use use,
                  void *ctx)
{
    int answered = 0;
    pthread_mutex_lock(&mc.lock);
    const struct mapping *m = current(kind);
    if (m != NULL)
        answered = find(m, kind, name, id, use, ctx);
    pthread_mutex_unlock(&mc.lock);
    return answered;
}

uint32_t hermit_mc_gid(const struct hermit_mc_rec *rec, uint32_t i)
{
    return u32_at(rec->gids + 4u * (size_t)i);
}

int hermit_mc_by_name(enum hermit_mc_kind kind, const char *name, hermit_mc_use use, void *ctx)
{
    return lookup(kind, name, 0, use, ctx);
}

int hermit_mc_by_id(enum hermit_mc_kind kind, uint32_t id, hermit_mc_use use, void *ctx)
{
    if (kind == HERMIT_MC_INITGROUPS)
        return 0; /* initgroups answers are found by name only */
    return lookup(kind, NULL, id, use, ctx);
}
