/* snapshot.c — the machine as a flat byte image, so a snapshot is a copy and a restore puts
   back exactly that state (the debugger's reverse steps, the tests' state comparisons).
   All fields of nr_machine are 64-bit or arrays of even length, so the struct has no padding
   and two machines in the same state give byte-identical images. */
#include <stdlib.h>
#include <string.h>

#include "nr_private.h"

/* layout: header, the struct with its pointers and run result zeroed, data memory, program words.
   Breakpoints are debugger state, not machine state: a restore keeps the current ones when
   the program has the same length and clears them otherwise. */
typedef struct {
    char magic[8];
    uint64_t struct_size;
    uint64_t mem_size;
    uint64_t code_n;
} _nr_snap_header;

static const char _nr_snap_magic[8] = {'N', 'R', '4', '8', 'S', 'N', 'P', '1'};

uint64_t nr_snapshot_size(const nr_machine *m)
{
    return sizeof(_nr_snap_header) + sizeof(nr_machine) + m->cfg.mem_size + m->code_n * 4;
}

int nr_snapshot_save(const nr_machine *m, void *buf, uint64_t size)
{
    if (size != nr_snapshot_size(m)) return NR_ERR_ARG;
    uint8_t *p = buf;
    _nr_snap_header h;
    memcpy(h.magic, _nr_snap_magic, 8);
    h.struct_size = sizeof(nr_machine);
    h.mem_size = m->cfg.mem_size;
    h.code_n = m->code_n;
    memcpy(p, &h, sizeof h);
    p += sizeof h;
    nr_machine *img = (nr_machine *)p;
    memcpy(img, m, sizeof *m);
    img->mem = NULL;
    img->words = NULL;
    img->code = NULL;
    img->bp_bits = NULL;
    img->bp_count = 0;
    img->trace = NULL;
    memset(&img->result, 0, sizeof img->result);   /* how the last run ended is not state */
    p += sizeof *m;
    memcpy(p, m->mem, m->cfg.mem_size);
    p += m->cfg.mem_size;
    if (m->code_n) memcpy(p, m->words, m->code_n * 4);
    return NR_OK;
}

int nr_snapshot_load(nr_machine *m, const void *buf, uint64_t size)
{
    const uint8_t *p = buf;
    _nr_snap_header h;
    if (size < sizeof h) return NR_ERR_SNAPSHOT;
    memcpy(&h, p, sizeof h);
    if (memcmp(h.magic, _nr_snap_magic, 8) != 0 || h.struct_size != sizeof(nr_machine) ||
        h.mem_size != m->cfg.mem_size || h.code_n > NR_MAX_CODE_WORDS ||
        size != sizeof h + sizeof(nr_machine) + h.mem_size + h.code_n * 4)
        return NR_ERR_SNAPSHOT;
    p += sizeof h;
    /* a machine keeps its configuration: a snapshot of another one (model, seed, timing) would
       leave the driver describing a machine it no longer has */
    if (memcmp(&((const nr_machine *)p)->cfg, &m->cfg, sizeof m->cfg) != 0) return NR_ERR_SNAPSHOT;
    const uint8_t *words_src = p + sizeof(nr_machine) + h.mem_size;
    uint32_t *words = m->words;
    nr_insn *code = m->code;
    uint64_t *bp = m->bp_bits, bp_count = m->bp_count;
    nr_trace *trace = m->trace;
    if (h.code_n != m->code_n) {
        words = h.code_n ? malloc(h.code_n * sizeof *words) : NULL;
        code = h.code_n ? malloc(h.code_n * sizeof *code) : NULL;
        bp = h.code_n ? calloc((h.code_n + 63) / 64, sizeof *bp) : NULL;
        if (h.code_n && (!words || !code || !bp)) {
            free(words);
            free(code);
            free(bp);
            return NR_ERR_NOMEM;
        }
        free(m->words);
        free(m->code);
        free(m->bp_bits);
        bp_count = 0;
    }
    uint8_t *mem = m->mem;
    memcpy(m, p, sizeof *m);
    m->mem = mem;
    m->words = words;
    m->code = code;
    m->bp_bits = bp;
    m->bp_count = bp_count;
    m->trace = trace;
    memcpy(mem, p + sizeof(nr_machine), h.mem_size);
    if (h.code_n) {
        memcpy(words, words_src, h.code_n * 4);
        for (uint64_t i = 0; i < h.code_n; i++) _nr_predecode(words[i], &code[i]);
    }
    return NR_OK;
}
