/* decode.c — the one place words are decoded: nr_load (and a snapshot restore) turn every
   program word into a compact nr_insn with its operands extracted, immediates sign-extended,
   branch offsets in bytes and writes to x0 redirected to a sink register, so the run loop
   never touches the encoding.  Field layouts, which instructions write rd (nr_op_writes_rd,
   from writes=rd in isa/nr48.isa) and which run on the vector unit (nr_op_vector, group
   vector) come from the generated nr_isa.h, so no decision here depends on opcode order. */
#include <string.h>

#include "nr_private.h"

void _nr_predecode(uint32_t w, nr_insn *in)
{
    const int op = nr_decode(w);
    memset(in, 0, sizeof *in);
    in->op = (uint8_t)op;
    in->word = w;
    in->rd = (uint8_t)NR_F_RD(w);
    in->rt = (uint8_t)NR_F_RT(w);
    in->rs1 = (uint8_t)NR_F_RS1(w);
    in->rs2 = (uint8_t)NR_F_RS2(w);
    if (NR_WRITES_RD(op) && in->rd == 0) in->rd = NR_XSINK;
    switch (op) {
    case NR_OP_SHORI: case NR_OP_SETVLI: in->imm = (int32_t)NR_F_UIMM16(w); break;
    case NR_OP_BEQ: case NR_OP_BNE: case NR_OP_BLT: case NR_OP_BGE: case NR_OP_BLTU:
    case NR_OP_BGEU: in->imm = (int32_t)(NR_F_OFF16(w) * 4); break;
    case NR_OP_JAL: in->imm = (int32_t)(NR_F_OFF20(w) * 4); break;
    case NR_OP_SLLI: case NR_OP_SRLI: case NR_OP_SRAI: in->c = (uint8_t)NR_F_SHAMT(w); break;
    case NR_OP_CCFG: in->imm = (int32_t)NR_F_IMM16(w); in->a = (uint8_t)NR_F_CSEL(w); break;
    case NR_OP_CCFGR:
        /* csel = NR_CFG_ESCAPE: an extended field, selected by the spare bits (isa/nr48.isa) */
        in->a = (uint8_t)(NR_F_CSEL(w) == NR_CFG_ESCAPE ? NR_CFG_EXT_BASE + NR_F_CFG_EXT(w) : NR_F_CSEL(w));
        break;
    case NR_OP_HIN: case NR_OP_VIN: case NR_OP_HOUT: case NR_OP_VOUT:
        in->a = (uint8_t)NR_F_VT(w); in->c = (uint8_t)NR_F_CORE(w); break;
    case NR_OP_CPROG: case NR_OP_CREAD: case NR_OP_CSTAT: case NR_OP_OPREFRESH: case NR_OP_BKEY: in->c = (uint8_t)NR_F_CORE(w); break;
    case NR_OP_MVM: case NR_OP_SMP: case NR_OP_IFRUN: case NR_OP_IFSTEP: in->b = (uint8_t)NR_F_DIR(w); break;
    case NR_OP_BMVM: case NR_OP_BSMP:   /* direction in imm: b holds the output type */
        in->a = (uint8_t)NR_F_VT(w); in->b = (uint8_t)NR_F_VD(w); in->c = (uint8_t)NR_F_CORE(w);
        in->imm = (int32_t)NR_F_BDIR(w); break;
    default:
        if (nr_op_vector[op]) {
            in->a = (uint8_t)NR_F_VT(w);
            in->b = (uint8_t)NR_F_VD(w);
            in->c = (uint8_t)NR_F_VIMM(w);   /* vimm and vbits share bits 7:0 */
        } else {
            in->imm = (int32_t)NR_F_IMM16(w);
        }
        break;
    }
}
