/* batch.c — batches: the batch registers (bcount, bstride), batched MVMs and samples on one core
   (bmvm, bsmp) and the vector unit's row-strided instructions (vadd2, vmax2, vcvt2, vargmax2).

   A batch is a speed choice, never a numeric one: vector b of a bmvm runs exactly the code of
   an unbatched mvm (the same kernels, readout and noise keys, since every MVM or sample counted
   on the core keys its draws and the batch counts its vectors one by one), so its outputs equal
   those of BN hin/mvm/vout sequences bit for bit on both models.  What changes is time: the
   core streams the batch through the pipeline of docs/machine.md (Batches), overlapping the
   scan-in of vector b+1 with the readout of vector b and the scan-out of vector b with the
   input stage of vector b+1, and the controller issues one instruction instead of a loop.

   Noise keys (bkey): each core keeps its own key counters k_mvm, k_smp apart from the MVM and
   sample counts.  Vector b of a batch draws with k + b·KS and the batch leaves the counter at
   k + KA (KS = 1, KA = BN by default: vector b keys as the b-th of BN separate MVMs).  A batch
   over B sequences of K MVMs each, with KS = K, KA = 1 (1 + (B−1)·K on a sequence's last op),
   keys every draw as the loop over the sequences would. */
#include <stdlib.h>
#include <string.h>

#include "nr_private.h"

#define _NR_BN_MAX 65535
#define _NR_KEY_MAX UINT64_C(0xFFFFFFFF)   /* bkey's KS and KA: 0 … 2^32 − 1 */

/* `rows` rows of n elements of type dt, row r at addr + r·stride: bounds (and, for vector
   operands, alignment), written so that no sum can wrap (rows ≤ 65535, stride and n ≤ mem_size) */
static int _nr_rows_ok(nr_machine *m, uint64_t addr, uint64_t rows, uint64_t stride, uint64_t n,
                       int dt, int aligned)
{
    const uint64_t es = _nr_dsize[dt], ms = m->cfg.mem_size;
    if (n == 0) return _NR_DONE;
    if (stride > ms || n > ms || !_nr_in_mem(m, addr, (rows - 1) * stride + n * es))
        return _nr_fault(m, NR_FAULT_MEM_BOUNDS, addr);
    if (aligned && (addr & (es - 1))) return _nr_fault(m, NR_FAULT_MEM_ALIGN, addr);
    if (aligned && (stride & (es - 1))) return _nr_fault(m, NR_FAULT_MEM_ALIGN, addr + stride);
    return _NR_DONE;
}

/* one batch row between memory and a register, converted as hin/vin read and vout/hout write
   (the same conversions as _nr_load_elem / _nr_store_elem, with the type switch out of the loop) */
static void _nr_row_load(int16_t *dst, const uint8_t *p, uint64_t n, int dt)
{
    switch (dt) {
    case NR_DTYPE_I8: for (uint64_t i = 0; i < n; i++) dst[i] = (int8_t)p[i]; break;
    case NR_DTYPE_U8: for (uint64_t i = 0; i < n; i++) dst[i] = p[i]; break;
    case NR_DTYPE_I16: memcpy(dst, p, n * 2); break;
    default:
        for (uint64_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, p + 4 * i, 4);
            dst[i] = (int16_t)(v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v);
        }
    }
}

static void _nr_row_store(uint8_t *p, const int16_t *src, uint64_t n, int dt)
{
    switch (dt) {
    case NR_DTYPE_I8:
        for (uint64_t i = 0; i < n; i++) p[i] = (uint8_t)(int8_t)(src[i] > 127 ? 127 : src[i] < -128 ? -128 : src[i]);
        break;
    case NR_DTYPE_U8: for (uint64_t i = 0; i < n; i++) p[i] = (uint8_t)(src[i] > 255 ? 255 : src[i] < 0 ? 0 : src[i]); break;
    case NR_DTYPE_I16: memcpy(p, src, n * 2); break;
    default:
        for (uint64_t i = 0; i < n; i++) {
            int32_t w = src[i];
            memcpy(p + 4 * i, &w, 4);
        }
    }
}

/* ---------------------------------------------------------------- row-strided vector ops */

int _nr_exec_rows(nr_machine *m, const nr_insn *in, uint64_t *cost)
{
    const uint64_t vl = m->vl, rows = m->bn;
    const int op = in->op, dt = in->a;
    const int dd = op == NR_OP_VCVT2 || op == NR_OP_VARGMAX2 ? in->b : dt;
    const uint64_t d = m->x[in->rd], a = m->x[in->rs1], b = m->x[in->rs2];
    const uint64_t sd = m->bs_d, s1 = m->bs_1, s2 = m->bs_2;
    const int two = op == NR_OP_VADD2 || op == NR_OP_VMAX2;
    int r = _nr_rows_ok(m, a, rows, s1, vl, dt, 1);
    if (r == _NR_DONE && two) r = _nr_rows_ok(m, b, rows, s2, vl, dt, 1);
    if (r == _NR_DONE) r = _nr_rows_ok(m, d, rows, sd, op == NR_OP_VARGMAX2 ? 1 : vl, dd, 1);
    if (r != _NR_DONE) return r;
    uint8_t *mem = m->mem;
    /* a row of vadd2, vmax2, vcvt2 is the element-wise instruction on that row */
    const int kop = op == NR_OP_VADD2 ? NR_OP_VADD : op == NR_OP_VMAX2 ? NR_OP_VMAX : NR_OP_VCVT;
    if (op != NR_OP_VARGMAX2 && dt == NR_DTYPE_I16 && _nr_v16_rows_ok(kop, dd, d, a, b, vl, rows, sd, s1, s2))
        _nr_v16_rows(mem, kop, dd, d, a, b, 0, vl, rows, sd, s1, s2);
    else for (uint64_t w = 0; w < rows; w++) {
        const uint64_t dw = d + w * sd, aw = a + w * s1, bw = b + w * s2;
        if (op == NR_OP_VARGMAX2) _nr_vput(mem, dw, dd, (int64_t)_nr_vargmax(mem, aw, vl, dt));
        else _nr_velem(mem, kop, dt, dd, dw, aw, bw, vl);
    }
    const uint64_t lanes = m->cfg.vec_lanes;
    m->ev_vec_elems += rows * vl;
    _nr_prof(m, m->pc, NR_PF_VEC_ELEMS, rows * vl);
    *cost = m->cfg.t_vsetup + rows * ((vl + lanes - 1) / lanes);
    return _NR_DONE;
}

uint64_t _nr_rows_dest_len(const nr_machine *m, const nr_insn *in)
{
    const int op = in->op;
    if (op != NR_OP_VADD2 && op != NR_OP_VMAX2 && op != NR_OP_VCVT2 && op != NR_OP_VARGMAX2) return UINT64_MAX;
    const int dd = op == NR_OP_VCVT2 || op == NR_OP_VARGMAX2 ? in->b : in->a;
    const uint64_t n = op == NR_OP_VARGMAX2 ? 1 : m->vl;
    if (n == 0 || m->bs_d > m->cfg.mem_size || n > m->cfg.mem_size) return 0;
    return (m->bn - 1) * m->bs_d + n * _nr_dsize[dd];
}

/* ---------------------------------------------------------------- batched MVM / sample */

/* FNV-1a-32 continued over more bytes (the trace digests rows that are not contiguous) */
static uint32_t _nr_fnv_more(uint32_t h, const uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x01000193u;
    return h;
}

/* room for `k` more records in the trace buffer beyond its margin (a batch of up to 65535
   vectors emits one record per four vectors) */
static int _nr_trace_room(nr_machine *m, uint64_t k)
{
    nr_trace *tr = m->trace;
    if (tr->n + k + NR_TRACE_MARGIN < tr->cap) return 1;
    uint64_t cap = tr->cap;
    while (tr->n + k + NR_TRACE_MARGIN >= cap) cap *= 2;
    nr_trace_rec *buf = realloc(tr->buf, cap * sizeof *buf);
    if (!buf) return 0;
    tr->buf = buf;
    tr->cap = cap;
    return 1;
}

/* The fast path of a batch: accumulators of _NR_BK_V vectors per sweep of batch_kernel.c, then
   each vector's own finish (readout, noise keyed by its MVM count) in order.  It reads input
   rows ahead of the outputs written before them, so it is used only when the input and output
   matrices do not overlap; an analog batch repacks whenever the conductances relax to a new
   epoch at a vector's start (the accumulators computed ahead are then recomputed).
   With worker threads (the `threads` key) and enough work, the groups of vectors are computed
   ahead on all threads (kernel, noise and readout of each vector: it writes only its own
   rows of `pre`, and its keys are k0 + b·KS whatever the order), and the in-order pass below
   takes vector b from there — unless the conductances relaxed to another epoch before b's
   start, when b and the rest are computed in order as without threads. */
typedef struct {
    _nr_bk k;
    int on, analog;
    _nr_analog_ctx ax;
    int64_t epoch;
    uint64_t g0, gn;                          /* vectors g0 … g0+gn−1 are in acc */
    int32_t acc[2][_NR_BK_V * NR_REG_LEN];    /* [pass][vector · n16 + output] */
    int32_t x2[_NR_BK_V * NR_REG_LEN];
    int16_t *pre;                             /* NULL, or the outputs of every vector computed ahead */
    uint64_t *pre_steps;
    int64_t pre_epoch;
    int pre_stored;                           /* … and already stored as the output rows */
} _nr_bfast;

/* vectors b … b+gn−1 (gn ≤ _NR_BK_V) of the input matrix through the packed kernel into acc */
static void _nr_bgroup(const nr_machine *m, const nr_core *c, const _nr_bk *bk, const _nr_analog_ctx *ax,
                       int analog, uint64_t b, uint64_t gn, uint64_t xa, uint64_t s_in, int dti,
                       int32_t acc[2][_NR_BK_V * NR_REG_LEN], int32_t *x2)
{
    const int32_t *k = c->cfg;
    const int nin = bk->nin, npass = analog ? ax->npass : 1;
    static const int32_t zero[NR_REG_LEN];
    int32_t xd[_NR_BK_V][2][NR_REG_LEN];
    int32_t ilo, ihi;
    _nr_input_range(k, &ilo, &ihi);
    if (npass == 1) {   /* one phase: the digits are the clamped inputs, paired straight away */
        for (uint64_t v = 0; v < _NR_BK_V; v++) {
            int32_t *xv = &x2[v * (uint64_t)bk->P];
            if (v < gn && dti == NR_DTYPE_U8) {
                _nr_bk_xpairs8(bk, &m->mem[xa + (b + v) * s_in], ilo, ihi, xv);
            } else if (v < gn) {
                int16_t x[NR_REG_LEN];
                _nr_row_load(x, &m->mem[xa + (b + v) * s_in], (uint64_t)nin, dti);
                _nr_bk_xpairs16(bk, x, ilo, ihi, xv);
            } else {
                memset(xv, 0, (size_t)bk->P * sizeof *xv);
            }
        }
        _nr_bk_run(bk, x2, acc[0]);
        return;
    }
    for (uint64_t v = 0; v < gn; v++) {
        int16_t x[NR_REG_LEN];
        _nr_row_load(x, &m->mem[xa + (b + v) * s_in], (uint64_t)nin, dti);
        if (analog) {
            _nr_analog_digits(k, x, nin, npass, ax->b0, xd[v]);
        } else {
            for (int i = 0; i < nin; i++) xd[v][0][i] = x[i] < ilo ? ilo : x[i] > ihi ? ihi : x[i];
        }
    }
    for (int p = 0; p < npass; p++) {
        for (uint64_t v = 0; v < _NR_BK_V; v++)
            _nr_bk_xpairs(bk, v < gn ? xd[v][p] : zero, &x2[v * (uint64_t)bk->P]);
        _nr_bk_run(bk, x2, acc[p]);
    }
}

static void _nr_bfast_group(const nr_machine *m, const nr_core *c, _nr_bfast *f, uint64_t b, uint64_t nb,
                            uint64_t xa, uint64_t s_in, int dti)
{
    f->g0 = b;
    f->gn = _nr_min(_NR_BK_V, nb - b);
    _nr_bgroup(m, c, &f->k, &f->ax, f->analog, b, f->gn, xa, s_in, dti, f->acc, f->x2);
}

/* one group of vectors computed ahead: an independent item of _nr_parallel */
typedef struct {
    const nr_machine *m;
    const nr_core *c;
    const _nr_bfast *f;
    int id, dir, sample;
    uint64_t nb, xa, s_in, k0, ks, nout;
    int dti;
    uint8_t *dst;        /* non-NULL: also store each vector's output row (at dst + b·s_out, type dto) */
    uint64_t s_out;
    int dto;
} _nr_bahead_job;

static void _nr_bahead_group(void *ctx, int g)
{
    const _nr_bahead_job *jb = ctx;
    const _nr_bfast *f = jb->f;
    const uint64_t b = (uint64_t)g * _NR_BK_V, gn = _nr_min(_NR_BK_V, jb->nb - b);
    int32_t acc[2][_NR_BK_V * NR_REG_LEN], x2[_NR_BK_V * NR_REG_LEN];
    _nr_bgroup(jb->m, jb->c, &f->k, &f->ax, f->analog, b, gn, jb->xa, jb->s_in, jb->dti, acc, x2);
    for (uint64_t v = 0; v < gn; v++) {
        const uint64_t o = v * (uint64_t)f->k.n16, key = jb->k0 + (b + v) * jb->ks;
        int16_t *out = &f->pre[(b + v) * jb->nout];
        if (f->analog) {
            const int32_t *const ap[2] = {&acc[0][o], &acc[1][o]};
            f->pre_steps[b + v] = _nr_analog_finish_to(jb->m, jb->c, jb->id, &f->ax, jb->sample, key, ap, out);
        } else {
            f->pre_steps[b + v] = _nr_mvm_finish_to(jb->c, jb->id, jb->dir, jb->sample, jb->m->cfg.seed, key,
                                                    &acc[0][o], out);
        }
        if (jb->dst) _nr_row_store(jb->dst + (b + v) * jb->s_out, out, jb->nout, jb->dto);
    }
}

/* below this many multiply-accumulates a batch is cheaper on one thread than waking workers */
#define _NR_BAHEAD_MACS 65536

/* compute every vector ahead on the worker threads if that pays; else leave f->pre NULL.  For
   fwd and bwd (the output register's window is the scan-out's) with output rows that do not
   overlap, the threads also store the rows (f->pre_stored): the scan-out of vector b is its
   output row converted, whatever the other vectors do. */
static void _nr_bahead(nr_machine *m, const nr_core *c, _nr_bfast *f, int id, int dir, int sample,
                       uint64_t nb, uint64_t xa, uint64_t s_in, int dti, uint64_t k0, uint64_t ks,
                       uint64_t ya, uint64_t s_out, int dto)
{
    const uint64_t nout = (uint64_t)f->k.nout;
    if (_nr_threads_for(m) < 2 || nb < 2 * _NR_BK_V ||
        nb * (uint64_t)f->k.nin * nout < _NR_BAHEAD_MACS)
        return;
    f->pre = malloc(nb * nout * sizeof *f->pre);
    f->pre_steps = malloc(nb * sizeof *f->pre_steps);
    if (!f->pre || !f->pre_steps) {   /* no memory: in order, as without threads */
        free(f->pre);
        free(f->pre_steps);
        f->pre = NULL;
        f->pre_steps = NULL;
        return;
    }
    f->pre_stored = dir != NR_DIR_REC && s_out >= nout * _nr_dsize[dto];
    _nr_bahead_job jb = {m, c, f, id, dir, sample, nb, xa, s_in, k0, ks, nout, dti,
                         f->pre_stored ? &m->mem[ya] : NULL, s_out, dto};
    _nr_parallel(m, (int)((nb + _NR_BK_V - 1) / _NR_BK_V), _nr_bahead_group, &jb);
    f->pre_epoch = f->epoch;
    m->host_ahead += nb;
}

static void _nr_bfast_free(_nr_bfast *f)
{
    if (!f) return;
    _nr_bk_free(&f->k);
    free(f->pre);
    free(f->pre_steps);
    free(f);
}

static int _nr_bmvm(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until)
{
    const int id = in->c, sample = in->op == NR_OP_BSMP, dir = (int)in->imm;
    const int dti = in->a, dto = in->b;
    nr_core *c = &m->core[id];
    if (dir > NR_DIR_REC) return _nr_fault(m, NR_FAULT_ILLEGAL, in->word);
    if (!c->powered) return _nr_fault(m, NR_FAULT_CORE_OFF, (uint64_t)id);
    /* the scans need the window of hin/vout, the MVM its own (rec: columns within 128) */
    if (!_nr_window_ok(c, 0) || !_nr_window_ok(c, dir == NR_DIR_REC))
        return _nr_fault(m, NR_FAULT_BAD_WINDOW, (uint64_t)id);
    const int32_t *k = c->cfg;
    const int in_v = dir == NR_DIR_BWD, out_v = dir == NR_DIR_FWD, same = dir == NR_DIR_REC;
    const uint64_t in_lo = (uint64_t)(in_v ? k[NR_CFG_COL0] : k[NR_CFG_ROW0]);
    const uint64_t in_n = (uint64_t)(in_v ? k[NR_CFG_NCOLS] : k[NR_CFG_NROWS]);
    const uint64_t out_lo = (uint64_t)(out_v ? k[NR_CFG_COL0] : k[NR_CFG_ROW0]);
    const uint64_t out_n = (uint64_t)(out_v ? k[NR_CFG_NCOLS] : k[NR_CFG_NROWS]);
    const uint64_t nb = m->bn, xa = m->x[in->rs1], ya = m->x[in->rd];
    const uint64_t s_in = m->bs_1, s_out = m->bs_d;
    const uint64_t esi = _nr_dsize[dti], eso = _nr_dsize[dto];
    int r = _nr_rows_ok(m, xa, nb, s_in, in_n, dti, 0);
    if (r == _NR_DONE) r = _nr_rows_ok(m, ya, nb, s_out, out_n, dto, 0);
    /* the noise keys of the vectors, k0 + b·ks, and the counter after the batch, k0 + ka: a
       counter that would pass 2^64 − 1 is a fault, never a wrap-around to reused keys
       (ks, ka ≤ 2^32 − 1 and nb ≤ 65535, so the products cannot overflow) */
    uint64_t *kc = sample ? &c->k_smp : &c->k_mvm;
    const uint64_t k0 = *kc, ks = c->key_stride ? c->key_stride : 1, ka = c->key_adv ? c->key_adv : nb;
    if (r == _NR_DONE && (k0 > UINT64_MAX - (nb - 1) * ks || k0 > UINT64_MAX - ka))
        r = _nr_fault(m, NR_FAULT_BAD_CONFIG, k0);
    if (r == _NR_DONE) r = _nr_wait(m, 1ull << id, t, until);
    if (r != _NR_DONE) return r;

    const uint64_t tr_recs = (nb + 3) / 4 + NR_MAX_PHASES + 2;
    uint32_t *dig = NULL;
    if (m->trace && (!_nr_trace_room(m, tr_recs) || !(dig = malloc(nb * sizeof *dig)))) {
        free(dig);
        dig = NULL;   /* no memory for the records: the batch runs untraced rather than not at all */
    }
    uint32_t total = 0x811C9DC5u;

    const uint64_t chain_id = nr_chain_of(id);
    const uint64_t t_in = _nr_scan_cycles(&m->cfg, id, in_v), t_out = _nr_scan_cycles(&m->cfg, id, out_v);
    const uint64_t shifts = (uint64_t)NR_REG_LEN * (nr_scan_shifts(id, in_v) + nr_scan_shifts(id, out_v));
    int16_t *reg_in = in_v ? c->v : c->h, *reg_out = out_v ? c->v : c->h;
    const uint64_t first = _nr_max(t, m->chain_free[chain_id]);
    uint64_t chain = first + t_in;      /* the chain is free again at this cycle */
    uint64_t start = chain;             /* the MVM of the current vector starts here */
    uint64_t mvm0 = start, last_out = start;
    const int analog = m->cfg.model == NR_MODEL_ANALOG;
    _nr_bfast *f = NULL;
    {
        const uint64_t ext_in = (nb - 1) * s_in + in_n * esi, ext_out = (nb - 1) * s_out + out_n * eso;
        const int overlap = xa < ya + ext_out && ya < xa + ext_in;
        if (nb >= 2 && !overlap && (f = calloc(1, sizeof *f))) f->analog = analog;
    }
    for (uint64_t b = 0; b < nb; b++) {
        uint64_t lo, n, steps;
        *kc = k0 + b * ks;                /* this vector's noise key */
        if (analog) _nr_relax_sync(m, id, start);
        if (f && (b == 0 || (analog && c->relax_epoch != f->epoch))) {
            f->on = _nr_bk_pack(&f->k, c, dir, analog);
            if (analog) _nr_analog_prep(m, c, id, dir, &f->ax);
            f->epoch = c->relax_epoch;
            f->gn = 0;
            if (b == 0 && f->on) _nr_bahead(m, c, f, id, dir, sample, nb, xa, s_in, dti, k0, ks, ya, s_out, dto);
        }
        /* The fast path reads the input rows from memory, and with separate input and output
           registers (fwd, bwd) the scan-out can store the outputs straight from pend_buf (the
           events read them there): the registers then need only the last vector's values. */
        const int fast = f && f->on, last = b + 1 == nb;
        /* scan-in: the row lands in the input register (read from memory as hin reads it) */
        if (!fast || same || last) _nr_row_load(&reg_in[in_lo], &m->mem[xa + b * s_in], in_n, dti);
        const int ahead_now = f && f->pre && f->pre_epoch == c->relax_epoch;
        if (ahead_now) {                  /* computed ahead (same epoch) */
            const int bwd = dir == NR_DIR_BWD;
            lo = (uint64_t)(bwd ? k[NR_CFG_ROW0] : k[NR_CFG_COL0]);   /* as the finish writes it */
            n = (uint64_t)f->k.nout;
            /* (always: a step-counting readout's events are counted from these outputs) */
            memcpy(&c->pend_buf[lo], &f->pre[b * n], n * sizeof(int16_t));
            steps = f->pre_steps[b];
        } else if (f && f->on) {
            if (b >= f->g0 + f->gn) _nr_bfast_group(m, c, f, b, nb, xa, s_in, dti);
            const uint64_t o = (b - f->g0) * (uint64_t)f->k.n16;
            if (analog) {
                const int32_t *const acc[2] = {&f->acc[0][o], &f->acc[1][o]};
                lo = (uint64_t)f->ax.out_lo;
                n = (uint64_t)f->ax.nout;
                steps = _nr_analog_finish(m, c, id, &f->ax, sample, acc);
            } else {
                steps = _nr_mvm_finish(c, id, dir, sample, m->cfg.seed, &f->acc[0][o], &lo, &n);
            }
        } else if (analog) {
            steps = _nr_mvm_analog(m, c, id, dir, sample, &lo, &n);
        } else {
            steps = _nr_mvm_compute(c, id, dir, sample, m->cfg.seed, &lo, &n);
        }
        c->pend_lo = lo;
        _nr_mvm_events(m, c, m->pc, dir, sample, n);
        const uint64_t end = _nr_mvm_schedule(&m->cfg, c, sample, steps, start);
        /* the input register is free once the last pass has integrated; the readout writes
           the output register from the first readout on */
        const uint64_t release = same ? end : c->phase_at[c->n_phase - 1];
        const uint64_t rd_ofs = c->phase_at[1] - start;
        c->ev_mvm_cycles += end - start;
        _nr_prof(m, m->pc, NR_PF_MVM_CYCLES, end - start);
        if (sample) c->n_smp++;
        else c->n_mvm++;
        const int direct = fast && !same && !last && lo == out_lo && n == out_n;
        if (!direct) memcpy(&(out_v ? c->v : c->h)[lo], &c->pend_buf[lo], n * sizeof(int16_t));

        /* scan-out: the output register's window, stored as vout/hout store it (a vector the
           threads computed ahead may have stored it already) */
        uint8_t *dst = &m->mem[ya + b * s_out];
        if (!(ahead_now && f->pre_stored))
            _nr_row_store(dst, direct ? &c->pend_buf[lo] : &reg_out[out_lo], out_n, dto);
        if (dig) {
            dig[b] = _nr_fnv1a(dst, out_n * eso);
            total = _nr_fnv_more(total, dst, out_n * eso);
        }
        c->ev_scan_shifts += shifts;
        _nr_prof(m, m->pc, NR_PF_SCAN_SHIFTS, shifts);

        /* the chain: scan-in of b+1 (as soon as the input register is free), then scan-out of
           b; recurrent batches share H, so there the scan-in waits for the scan-out */
        uint64_t next_in = 0;
        if (b + 1 < nb && !same) {
            next_in = _nr_max(chain, release) + t_in;
            chain = next_in;
        }
        const uint64_t out_start = _nr_max(chain, end);
        chain = out_start + t_out;
        last_out = out_start;
        if (b + 1 < nb && same) {
            next_in = chain + t_in;
            chain = next_in;
        }
        if (b + 1 < nb) {
            /* the next readout may not overwrite the output register before it is scanned out */
            start = _nr_max(next_in, end);
            if (!same && chain > start + rd_ofs) start = chain - rd_ofs;
        }
    }
    _nr_bfast_free(f);
    *kc = k0 + ka;
    const uint64_t done = chain;
    m->chain_free[chain_id] = done;     /* the batch holds its chain until its last scan-out */
    _nr_begin_op(c, t, done);
    c->n_phase = 0;
    if (first > t) {
        _nr_phase_add(c, t, NR_PHASE_SCAN_WAIT);
    }
    _nr_phase_add(c, first, NR_PHASE_SCAN_IN);
    _nr_phase_add(c, mvm0, NR_PHASE_INTEGRATE);
    _nr_phase_add(c, last_out, NR_PHASE_SCAN_OUT);
    /* the registers already hold the last vector's values; the completion only ends the op */
    c->pend_lo = 0;
    c->pend_n = 0;
    _nr_set_pending(m, c, out_v ? NR_PEND_MVM_V : NR_PEND_MVM_H, done);
    const uint64_t tn = m->trace ? m->trace->n : 0;
    _nr_trace_start(m, id, NR_TR_BATCH, t, done, (uint64_t)dir | (uint64_t)sample << 2 | nb << 8,
                    first - t, NULL, 0);
    if (dig) {
        nr_trace_rec *br = &m->trace->buf[tn];
        br->mlen = (uint32_t)_nr_min(nb * out_n * eso, UINT32_MAX);
        br->digest = total;
        for (uint64_t b = 0; b < nb; b += 4) {
            const uint64_t cnt = _nr_min(4, nb - b);
            uint32_t d4[4] = {0, 0, 0, 0};
            for (uint64_t q = 0; q < cnt; q++) d4[q] = dig[b + q];
            nr_trace_rec *v = _nr_trace_push(m, NR_TR_BVEC, t);
            v->core = (uint8_t)id;
            v->pc = (uint32_t)b;
            v->word = (uint32_t)cnt;
            v->mlen = (uint32_t)(out_n * eso);
            v->a = (uint64_t)d4[0] | (uint64_t)d4[1] << 32;
            v->b = (uint64_t)d4[2] | (uint64_t)d4[3] << 32;
        }
        free(dig);
    }
    return _NR_DONE;
}

int _nr_exec_batch(nr_machine *m, const nr_insn *in, uint64_t t, uint64_t until, uint64_t *cost)
{
    *cost = 1;
    switch (in->op) {
    case NR_OP_BCOUNT: {
        const uint64_t n = m->x[in->rs1];
        if (n < 1 || n > _NR_BN_MAX) return _nr_fault(m, NR_FAULT_BAD_CONFIG, n);
        m->bn = n;
        return _NR_DONE;
    }
    case NR_OP_BSTRIDE:
        m->bs_d = m->x[in->rt];
        m->bs_1 = m->x[in->rs1];
        m->bs_2 = m->x[in->rs2];
        return _NR_DONE;
    case NR_OP_BKEY: {
        /* controller-side registers of the core: no power needed, no wait (a batch already
           issued has drawn its keys) */
        const uint64_t ks = m->x[in->rs1], ka = m->x[in->rs2];
        if (ks > _NR_KEY_MAX) return _nr_fault(m, NR_FAULT_BAD_CONFIG, ks);
        if (ka > _NR_KEY_MAX) return _nr_fault(m, NR_FAULT_BAD_CONFIG, ka);
        m->core[in->c].key_stride = ks;
        m->core[in->c].key_adv = ka;
        return _NR_DONE;
    }
    case NR_OP_BMVM:
    case NR_OP_BSMP: return _nr_bmvm(m, in, t, until);
    default: return _nr_fault(m, NR_FAULT_ILLEGAL, in->word);
    }
}
