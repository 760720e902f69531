/*
 * nss_memcache_fuzz: the libFuzzer harness of nss_module/memcache.c, the NSS module's reader
 * of the snapshot files hermit-unixd publishes (passwd.mc, group.mc, initgroups.mc).
 *
 * An input is the content of one file. The harness includes memcache.c itself to reach the
 * two functions that read a mapped file: header_ok (what map_file checks before it keeps a
 * mapping) and find (what a lookup does in a kept mapping); the file handling around them
 * (stat, open, mmap, the config) is not fuzzed. The input stands in for the mapping in an
 * exact-size malloc'd copy, so ASan sees a read one byte past the file (a real mapping would
 * only fault at the next page).
 *
 * The kind is the header's own (1 to 3; any other value is tried as passwd and refused). Each
 * file that passes header_ok is looked up by a few fixed names and ids (those of the seeds),
 * and by the name and id of the record at the header's first-record offset, when there is one.
 *
 * CRCs: a mutated header or record would nearly always fail its crc32 and stop at the first
 * check, so the harness first rewrites the header's crc and the crc of each record in the run
 * that starts at the first-record offset, as unixd would have written them. The header's
 * reserved last 4 bytes (zero from unixd; the reader never looks at them) switch this off, so
 * the fuzzer still reaches the crc refusals: bit 0 keeps the header's crc as it is (then it
 * must be right by itself), bit 1 keeps the records' crcs.
 *
 * Promises checked (memcache.h), besides ASan and UBSan: a record handed to the callback is
 * the one asked for (its first string is the name, or its id1 the id); its COUNT strings are
 * C strings inside the file; an initgroups record's id1 gids are inside the file before them.
 */
#include "../../nss_module/memcache.c"

#include "fuzz_check.h"

#define MC_RESERVED_AT 44u
#define KEEP_HEADER_CRC 1u
#define KEEP_RECORD_CRCS 2u

static const char *const names[] = {"alice", "bob", "staff", "dev"};
static const uint32_t ids[] = {0, 70001, 70002, 80000};

struct asked {
    const unsigned char *lo, *hi; /* the file */
    enum hermit_mc_kind kind;
    const char *name; /* or NULL: by ID */
    uint32_t id;
};

static int use(const struct hermit_mc_rec *rec, void *ctx)
{
    const struct asked *a = ctx;
    const char *s = rec->strings;
    CHECK(rec->count >= 1);
    for (uint32_t i = 0; i < rec->count; i++) {
        CHECK(c_string_inside(s, a->lo, a->hi));
        s += strlen(s) + 1;
    }
    if (a->name != NULL)
        CHECK(strcmp(rec->strings, a->name) == 0);
    else
        CHECK(rec->id1 == a->id);
    if (a->kind == HERMIT_MC_INITGROUPS) {
        CHECK(rec->gids != NULL && rec->gids >= a->lo);
        CHECK((size_t)((const unsigned char *)rec->strings - rec->gids) >= 4u * (size_t)rec->id1);
        uint32_t sum = 0;
        for (uint32_t i = 0; i < rec->id1; i++)
            sum ^= hermit_mc_gid(rec, i);
        (void)sum;
    } else {
        CHECK(rec->gids == NULL);
    }
    return 1;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* The crcs unixd would have written, unless the reserved bytes say otherwise: each record's
 * of the run of records from the first-record offset (as long as their sizes keep them inside
 * the file), then the header's. */
static void fix_crcs(unsigned char *f, size_t size)
{
    uint32_t keep = u32_at(f + MC_RESERVED_AT);
    uint32_t off = u32_at(f + 36);
    while (!(keep & KEEP_RECORD_CRCS) && off % 4 == 0 && off >= MC_HEADER_SIZE &&
           (uint64_t)off + MC_RECORD_HEAD <= size) {
        uint32_t rsize = u32_at(f + off);
        if (rsize < MC_RECORD_HEAD || rsize > size - off)
            break;
        put_u32(f + off + 4, crc32_of(f + off + 8, rsize - 8, NO_SKIP));
        off += (rsize + 3u) & ~3u;
    }
    if (!(keep & KEEP_HEADER_CRC))
        put_u32(f + MC_HEADER_CRC_AT, crc32_of(f, MC_HEADER_SIZE, MC_HEADER_CRC_AT));
}

static void look(const struct mapping *m, struct asked *a, const char *name, uint32_t id)
{
    a->name = name;
    a->id = id;
    if (name != NULL)
        find(m, a->kind, name, 0, use, a);
    else if (a->kind != HERMIT_MC_INITGROUPS) /* hermit_mc_by_id never asks initgroups.mc */
        find(m, a->kind, NULL, id, use, a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* map_file maps only files of at least a header and at most MC_MAX_FILE_BYTES. */
    if (size < MC_HEADER_SIZE || size > MC_MAX_FILE_BYTES)
        return 0;
    unsigned char *file = exact_copy(data, size);
    uint32_t k = u32_at(file + 12);
    enum hermit_mc_kind kind = k >= 1 && k <= 3 ? (enum hermit_mc_kind)k : HERMIT_MC_PASSWD;
    fix_crcs(file, size);

    struct mapping m;
    memset(&m, 0, sizeof m);
    m.base = file;
    m.size = size;
    if (header_ok(&m, kind)) {
        CHECK(m.nbuckets > 0 && m.records <= size);
        struct asked a = {file, file + size, kind, NULL, 0};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            look(&m, &a, names[i], 0);
        for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
            look(&m, &a, NULL, ids[i]);
        struct hermit_mc_rec rec;
        uint32_t next_name, next_id;
        if (record_at(&m, kind, m.records, &rec, &next_name, &next_id)) {
            /* rec.strings points into FILE, which find only reads. */
            look(&m, &a, rec.strings, 0);
            look(&m, &a, NULL, rec.id1);
        }
    }
    free(file);
    return 0;
}
