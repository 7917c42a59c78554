/* vector.c — the controller's vector unit: element-wise operations on VL elements of data
   memory.  Every operand range and alignment is checked before the first write; elements are
   then processed strictly in increasing order (read, compute, write), so overlapping source
   and destination ranges behave like the obvious sequential loop.  Results saturate to the
   element type; intermediate values are int64 and scalar operands are clamped first so that
   no intermediate can overflow (the clamp does not change any saturated result).

   Adding a vector instruction: its table line (group vector, mem= listing its memory operands)
   plus one case in the switch of _nr_exec_vector; the operand checks come from the table. */
#include <string.h>

#include "nr_private.h"


static inline int64_t _nr_clamp64(int64_t v, int64_t lim) { return v > lim ? lim : v < -lim ? -lim : v; }

/* The gate nonlinearities of vsigm / vtanh: piecewise linear through these knots (Q14, 16384 = 1),
   round(16384·σ(k/4)) and round(16384·tanh(k/8)) for k = 0 … 32, flat beyond the last knot.
   Integer-only, so the mapper's numpy reference (emulator/mapper/lstm.py) is bit-exact on every
   platform; tests/test_core_vector.py checks all 2^16 i16 inputs against it. */
static const int32_t _nr_sigm_knots[33] = {
    8192, 9211, 10198, 11128, 11978, 12735, 13395, 13958, 14431, 14822, 15141, 15400, 15607, 15772,
    15904, 16008, 16089, 16154, 16204, 16243, 16274, 16298, 16317, 16332, 16343, 16352, 16359, 16365,
    16369, 16372, 16375, 16377, 16379};
static const int32_t _nr_tanh_knots[33] = {
    0, 2037, 4013, 5871, 7571, 9087, 10406, 11533, 12478, 13260, 13898, 14415, 14830, 15161, 15423,
    15631, 15795, 15923, 16024, 16103, 16165, 16213, 16251, 16280, 16303, 16321, 16335, 16346, 16354,
    16361, 16366, 16370, 16373};

/* f(|x| / 2^frac) through knots spaced 2^−step: knot index and a 16-bit fraction of |x|·2^(step−frac)
   (truncated), interpolation rounding half up.  |x| < 2^31, so every shift fits in 64 bits. */
static int64_t _nr_pwl(int64_t x, int frac, int step, const int32_t *knots)
{
    const uint64_t a = (uint64_t)(x < 0 ? -x : x);
    const int sh = step + 16 - frac;
    const uint64_t pos = sh >= 0 ? a << sh : (-sh >= 64 ? 0 : a >> -sh);
    const uint64_t k = pos >> 16;
    if (k >= 32) return knots[32];
    return knots[k] + (((int64_t)(knots[k + 1] - knots[k]) * (int64_t)(pos & 0xFFFF) + 0x8000) >> 16);
}

/* one memory operand of `count` elements of type dt at addr: bounds, then alignment */
int _nr_voperand(nr_machine *m, uint64_t addr, uint64_t count, int dt)
{
    const uint64_t es = _nr_dsize[dt];
    if (count > m->cfg.mem_size || !_nr_in_mem(m, addr, count * es))
        return _nr_fault(m, NR_FAULT_MEM_BOUNDS, addr);
    if (addr & (es - 1)) return _nr_fault(m, NR_FAULT_MEM_ALIGN, addr);
    return _NR_DONE;
}

/* elements of the input of vpmax for VL outputs in groups of g (g ≥ 1, both ≤ mem_size):
   output o reads in[o + (o/g + 1)·g] at most, which grows with o */
static uint64_t _nr_vpmax_inputs(uint64_t vl, uint64_t g)
{
    return vl == 0 ? 0 : (vl - 1) + ((vl - 1) / g + 1) * g + 1;
}

/* the program checker over the memory operands (reads first, then the destination); vpmax
   reads its own extent.  Faults NR_FAULT_CHECK in strict mode. */
static int _nr_vcheck(nr_machine *m, const nr_insn *in, const uint64_t *reg_of, uint64_t vl)
{
    const nr_mem_operands *mo = &nr_op_mem[in->op];
    const uint64_t pc = m->pc, t = m->next_issue;
    if (vl > m->cfg.mem_size) return _NR_DONE;   /* vpmax's own check faults it */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < mo->n; i++) {
            const int write = mo->o[i].reg == NR_MEM_RD;
            if (write != pass) continue;
            const uint64_t es = _nr_dsize[_nr_mem_dtype(in, mo->o[i].dtype)];
            uint64_t n = vl;
            if (in->op == NR_OP_VPMAX && !write) {
                const uint64_t g = m->x[in->rs2];
                if (g == 0 || g > m->cfg.mem_size) return _NR_DONE;   /* faults in the instruction */
                n = _nr_vpmax_inputs(vl, g);
            }
            const uint64_t addr = reg_of[mo->o[i].reg];
            if (_nr_chk_access(m, pc, t, write, addr, n * es)) return _nr_fault(m, NR_FAULT_CHECK, addr);
        }
    }
    return _NR_DONE;
}

/* marks a vector instruction's destination written */
static void _nr_vwritten(nr_machine *m, const nr_insn *in, uint64_t d, uint64_t vl)
{
    const int f = nr_op_mem_dest[in->op];
    if (f != NR_MEM_NONE) _nr_chk_written(m->check, d, vl * _nr_dsize[_nr_mem_dtype(in, f)]);
}

/* The two-operand element-wise instructions and vcvt over n elements (dt the sources' type, dd
   the destination's), element by element in increasing order, or on the i16 fast path of
   vkernel.c where that gives the same: vadd … vmin and vcvt, and each row of vadd2, vmax2 and
   vcvt2 (batch.c). */
void _nr_velem(uint8_t *mem, int op, int dt, int dd, uint64_t d, uint64_t a, uint64_t b, uint64_t n)
{
    if (dt == NR_DTYPE_I16 && _nr_v16_ok(op, dd, d, a, b, 0, n)) {
        _nr_v16(mem, op, dd, d, a, b, 0, n);
        return;
    }
    const uint64_t es = _nr_dsize[dt], ds = _nr_dsize[dd];
    for (uint64_t k = 0; k < n; k++) {
        const int64_t p = _nr_vget(mem, a + k * es, dt);
        if (op == NR_OP_VCVT) {
            _nr_vput(mem, d + k * ds, dd, p);
            continue;
        }
        const int64_t q = _nr_vget(mem, b + k * es, dt);
        const int64_t r = op == NR_OP_VADD ? p + q : op == NR_OP_VSUB ? p - q : op == NR_OP_VMUL ? p * q
                        : op == NR_OP_VMAX ? (p > q ? p : q) : (p < q ? p : q);
        _nr_vput(mem, d + k * ds, dd, r);
    }
}

/* the index of the first largest of n elements at a (0 for n = 0): vargmax, and each row of
   vargmax2 (batch.c) */
uint64_t _nr_vargmax(const uint8_t *mem, uint64_t a, uint64_t n, int dt)
{
    if (dt == NR_DTYPE_I16) return _nr_argmax16(mem + a, n);
    const uint64_t es = _nr_dsize[dt];
    uint64_t best = 0;
    int64_t bv = n ? _nr_vget(mem, a, dt) : 0;
    for (uint64_t k = 1; k < n; k++) {
        int64_t p = _nr_vget(mem, a + k * es, dt);
        if (p > bv) { bv = p; best = k; }
    }
    return best;
}

int _nr_exec_vector(nr_machine *m, const nr_insn *in, uint64_t *cost)
{
    const uint64_t vl = m->vl;
    const int op = in->op, dt = in->a;
    const uint64_t es = _nr_dsize[dt];
    const uint64_t d = m->x[in->rd], a = m->x[in->rs1], b = m->x[in->rs2];
    uint8_t *mem = m->mem;
    int r = _NR_DONE;

    /* the memory operands the table declares (mem= in isa/nr48.isa), checked in its order before
       anything is written; an operand marked own_check is checked by its instruction below */
    const uint64_t reg_of[] = {[NR_MEM_RD] = d, [NR_MEM_RS1] = a, [NR_MEM_RS2] = b};
    const nr_mem_operands *mo = &nr_op_mem[op];
    for (int i = 0; i < mo->n && r == _NR_DONE; i++)
        if (!mo->o[i].own) r = _nr_voperand(m, reg_of[mo->o[i].reg], vl, _nr_mem_dtype(in, mo->o[i].dtype));
    if (r != _NR_DONE) return r;
    if (m->check && (r = _nr_vcheck(m, in, reg_of, vl)) != _NR_DONE) return r;

    uint64_t work = vl;   /* elements processed: the cost's ceil(work / vec_lanes) */
    if (dt == NR_DTYPE_I16) {   /* the i16 fast path of vkernel.c, where it gives the same */
        const int dd = op == NR_OP_VCVT ? in->b : dt;
        const int64_t p = op == NR_OP_VADDS ? _nr_clamp64((int64_t)b, (int64_t)1 << 40) : in->c;
        if (_nr_v16_ok(op, dd, d, a, b, p, vl)) {
            _nr_v16(mem, op, dd, d, a, b, p, vl);
            goto done;
        }
    }
    switch (op) {
    case NR_OP_VADD: case NR_OP_VSUB: case NR_OP_VMUL: case NR_OP_VMAX: case NR_OP_VMIN:
        _nr_velem(mem, op, dt, dt, d, a, b, vl);
        break;
    case NR_OP_VMULS: {
        /* |element| < 2^31, so a scalar clamped to ±(2^32−1) keeps every product in int64 and
           still saturates whenever the unclamped product would */
        const int64_t s = _nr_clamp64((int64_t)b, ((int64_t)1 << 32) - 1);
        for (uint64_t k = 0; k < vl; k++) _nr_vput(mem, d + k * es, dt, _nr_vget(mem, a + k * es, dt) * s);
        break;
    }
    case NR_OP_VADDS: {
        const int64_t s = _nr_clamp64((int64_t)b, (int64_t)1 << 40);
        for (uint64_t k = 0; k < vl; k++) _nr_vput(mem, d + k * es, dt, _nr_vget(mem, a + k * es, dt) + s);
        break;
    }
    case NR_OP_VRELU:
        for (uint64_t k = 0; k < vl; k++) {
            int64_t p = _nr_vget(mem, a + k * es, dt);
            _nr_vput(mem, d + k * es, dt, p > 0 ? p : 0);
        }
        break;
    case NR_OP_VSRA: {
        const int s = in->c;
        for (uint64_t k = 0; k < vl; k++) {
            int64_t p = _nr_vget(mem, a + k * es, dt);
            _nr_vput(mem, d + k * es, dt, s ? (p + ((int64_t)1 << (s - 1))) >> s : p);
        }
        break;
    }
    case NR_OP_VSLL: {
        const int s = in->c;
        for (uint64_t k = 0; k < vl; k++) {
            int64_t p = _nr_vget(mem, a + k * es, dt);
            /* beyond 31 places any non-zero element saturates; below, the product fits */
            int64_t q = p == 0 ? 0 : s >= 32 ? (p < 0 ? INT64_MIN : INT64_MAX) : p * ((int64_t)1 << s);
            _nr_vput(mem, d + k * es, dt, q);
        }
        break;
    }
    case NR_OP_VCLIP: {
        const int64_t lim = ((int64_t)1 << (in->c - 1)) - 1;
        for (uint64_t k = 0; k < vl; k++) _nr_vput(mem, d + k * es, dt, _nr_clamp64(_nr_vget(mem, a + k * es, dt), lim));
        break;
    }
    case NR_OP_VCLIPU: {
        const int64_t hi = ((int64_t)1 << in->c) - 1;
        for (uint64_t k = 0; k < vl; k++) {
            int64_t p = _nr_vget(mem, a + k * es, dt);
            _nr_vput(mem, d + k * es, dt, p < 0 ? 0 : p > hi ? hi : p);
        }
        break;
    }
    case NR_OP_VCVT: _nr_velem(mem, op, dt, in->b, d, a, 0, vl); break;
    case NR_OP_VPMAX:
        if (b == 0) return _nr_fault(m, NR_FAULT_BAD_CONFIG, 0);
        if (vl > 0 && b > m->cfg.mem_size) return _nr_fault(m, NR_FAULT_MEM_BOUNDS, a);
        r = _nr_voperand(m, a, vl > m->cfg.mem_size ? vl : _nr_vpmax_inputs(vl, b), dt);
        if (r == _NR_DONE) r = _nr_voperand(m, d, vl, dt);
        if (r != _NR_DONE) return r;
        work = 2 * vl;
        for (uint64_t o = 0; o < vl; o++) {
            uint64_t k = o / b, i = o % b;
            int64_t p = _nr_vget(mem, a + (2 * k * b + i) * es, dt);
            int64_t q = _nr_vget(mem, a + ((2 * k + 1) * b + i) * es, dt);
            _nr_vput(mem, d + o * es, dt, p > q ? p : q);
        }
        break;
    case NR_OP_VFILL: {
        const int64_t s = _nr_sat((int64_t)a, dt);
        for (uint64_t k = 0; k < vl; k++) _nr_vput(mem, d + k * es, dt, s);
        break;
    }
    case NR_OP_VARGMAX: m->x[in->rd] = _nr_vargmax(mem, a, vl, dt); break;
    case NR_OP_VSUM: {
        uint64_t s = 0;
        for (uint64_t k = 0; k < vl; k++) s += (uint64_t)_nr_vget(mem, a + k * es, dt);
        m->x[in->rd] = s;
        break;
    }
    case NR_OP_VSIGM:
        for (uint64_t k = 0; k < vl; k++) {
            int64_t p = _nr_vget(mem, a + k * es, dt), y = _nr_pwl(p, in->c, 2, _nr_sigm_knots);
            _nr_vput(mem, d + k * es, dt, p < 0 ? 16384 - y : y);
        }
        break;
    case NR_OP_VADD2:
    case NR_OP_VMAX2:
    case NR_OP_VCVT2:
    case NR_OP_VARGMAX2: return _nr_exec_rows(m, in, cost);   /* batch.c */
    case NR_OP_VTANH:
        for (uint64_t k = 0; k < vl; k++) {
            int64_t p = _nr_vget(mem, a + k * es, dt), y = _nr_pwl(p, in->c, 3, _nr_tanh_knots);
            _nr_vput(mem, d + k * es, dt, p < 0 ? -y : y);
        }
        break;
    default:
        return _nr_fault(m, NR_FAULT_ILLEGAL, in->word);
    }
done:
    if (m->check) _nr_vwritten(m, in, d, vl);
    const uint64_t lanes = m->cfg.vec_lanes;
    m->ev_vec_elems += work;
    _nr_prof(m, m->pc, NR_PF_VEC_ELEMS, work);
    *cost = m->cfg.t_vsetup + (work + lanes - 1) / lanes;
    return _NR_DONE;
}
