/* generated from isa/nr48.isa by isa/gen.py — do not edit.
 *
 * Decoder tables of the NR48 ISA: opcode enum, match/mask per instruction, field
 * extraction macros, enumerations, configuration field ranges, timing parameter
 * defaults and the register each instruction writes.  nr_decode(word) returns the
 * instruction or NR_OP_ILLEGAL. */
#ifndef NR_ISA_H
#define NR_ISA_H

#include <stdint.h>

#define NR_ISA_VERSION 0x0103u
#define NR_NUM_REGS 16
#define NR_NUM_CORES 48
#define NR_MAX_CODE_WORDS 4194304u  /* code memory, instructions */

typedef enum {
    NR_OP_ILLEGAL = 0,
    NR_OP_NOP,
    NR_OP_HALT,
    NR_OP_EBREAK,
    NR_OP_ADD,
    NR_OP_SUB,
    NR_OP_AND,
    NR_OP_OR,
    NR_OP_XOR,
    NR_OP_SLL,
    NR_OP_SRL,
    NR_OP_SRA,
    NR_OP_SLT,
    NR_OP_SLTU,
    NR_OP_MUL,
    NR_OP_DIV,
    NR_OP_DIVU,
    NR_OP_REM,
    NR_OP_REMU,
    NR_OP_ADDI,
    NR_OP_ANDI,
    NR_OP_ORI,
    NR_OP_XORI,
    NR_OP_SLTI,
    NR_OP_SLTIU,
    NR_OP_SLLI,
    NR_OP_SRLI,
    NR_OP_SRAI,
    NR_OP_MOVI,
    NR_OP_SHORI,
    NR_OP_LB,
    NR_OP_LBU,
    NR_OP_LH,
    NR_OP_LHU,
    NR_OP_LW,
    NR_OP_LWU,
    NR_OP_LD,
    NR_OP_SB,
    NR_OP_SH,
    NR_OP_SW,
    NR_OP_SD,
    NR_OP_BEQ,
    NR_OP_BNE,
    NR_OP_BLT,
    NR_OP_BGE,
    NR_OP_BLTU,
    NR_OP_BGEU,
    NR_OP_JAL,
    NR_OP_JALR,
    NR_OP_RDCYCLE,
    NR_OP_RDINSTRET,
    NR_OP_SETVL,
    NR_OP_SETVLI,
    NR_OP_VADD,
    NR_OP_VSUB,
    NR_OP_VMUL,
    NR_OP_VMAX,
    NR_OP_VMIN,
    NR_OP_VMULS,
    NR_OP_VADDS,
    NR_OP_VRELU,
    NR_OP_VSRA,
    NR_OP_VSLL,
    NR_OP_VCLIP,
    NR_OP_VCLIPU,
    NR_OP_VCVT,
    NR_OP_VPMAX,
    NR_OP_VFILL,
    NR_OP_VARGMAX,
    NR_OP_VSUM,
    NR_OP_VSIGM,
    NR_OP_VTANH,
    NR_OP_VADD2,
    NR_OP_VMAX2,
    NR_OP_VCVT2,
    NR_OP_VARGMAX2,
    NR_OP_CPON,
    NR_OP_CPOFF,
    NR_OP_CCFG,
    NR_OP_CCFGR,
    NR_OP_HIN,
    NR_OP_VIN,
    NR_OP_HOUT,
    NR_OP_VOUT,
    NR_OP_CPROG,
    NR_OP_CREAD,
    NR_OP_MVM,
    NR_OP_SMP,
    NR_OP_SYNC,
    NR_OP_CSTAT,
    NR_OP_CAGE,
    NR_OP_BCOUNT,
    NR_OP_BSTRIDE,
    NR_OP_BMVM,
    NR_OP_BSMP,
    NR_OP_BKEY,
    NR_OP_IFRUN,
    NR_OP_IFSTEP,
    NR_OP_OPU,
    NR_OP_OPREFRESH,
    NR_OP_IFCLR,
    NR_OP_SEND,
    NR_OP_RECV,
    NR_OP_BARRIER,
    NR_OP_CHIPID,
    NR_OP_NCHIPS,
    NR_OP_COUNT
} nr_op;

/* field extraction: unsigned fields give uint32_t, signed ones int64_t */
#define NR_F_OP(w) (((uint32_t)(w) >> 24) & 0xffu)
#define NR_F_RD(w) (((uint32_t)(w) >> 20) & 0xfu)
#define NR_F_RT(w) (((uint32_t)(w) >> 20) & 0xfu)
#define NR_F_CSEL(w) (((uint32_t)(w) >> 20) & 0xfu)
#define NR_F_RS1(w) (((uint32_t)(w) >> 16) & 0xfu)
#define NR_F_RS2(w) (((uint32_t)(w) >> 12) & 0xfu)
#define NR_F_IMM16(w) ((int64_t)(((int32_t)((uint32_t)(w) << 16)) >> 16))
#define NR_F_UIMM16(w) (((uint32_t)(w) >> 0) & 0xffffu)
#define NR_F_OFF16(w) ((int64_t)(((int32_t)((uint32_t)(w) << 16)) >> 16))
#define NR_F_OFF20(w) ((int64_t)(((int32_t)((uint32_t)(w) << 12)) >> 12))
#define NR_F_SHAMT(w) (((uint32_t)(w) >> 0) & 0x3fu)
#define NR_F_VT(w) (((uint32_t)(w) >> 10) & 0x3u)
#define NR_F_VD(w) (((uint32_t)(w) >> 8) & 0x3u)
#define NR_F_DIR(w) (((uint32_t)(w) >> 8) & 0x3u)
#define NR_F_VIMM(w) (((uint32_t)(w) >> 0) & 0xffu)
#define NR_F_VBITS(w) (((uint32_t)(w) >> 0) & 0xffu)
#define NR_F_CORE(w) (((uint32_t)(w) >> 0) & 0x3fu)
#define NR_F_BDIR(w) (((uint32_t)(w) >> 6) & 0x3u)
#define NR_F_XSEL(w) (((uint32_t)(w) >> 0) & 0xfffu)

#define NR_DTYPE_I8 0
#define NR_DTYPE_I16 1
#define NR_DTYPE_I32 2
#define NR_DTYPE_U8 3

#define NR_DIR_FWD 0
#define NR_DIR_BWD 1
#define NR_DIR_REC 2

#define NR_CFG_COUNT 20
#define NR_CFG_INBITS 0
#define NR_CFG_INSIGNED 1
#define NR_CFG_OUTBITS 2
#define NR_CFG_OUTSIGNED 3
#define NR_CFG_READOUT 4
#define NR_CFG_STEPMAX 5
#define NR_CFG_PMUL 6
#define NR_CFG_GAIN 7
#define NR_CFG_GSHIFT 8
#define NR_CFG_OFFSET 9
#define NR_CFG_ROW0 10
#define NR_CFG_NROWS 11
#define NR_CFG_COL0 12
#define NR_CFG_NCOLS 13
#define NR_CFG_NOISE 14
#define NR_CFG_IFTHR 16
#define NR_CFG_IFLEAK 17
#define NR_CFG_IFSTEPS 18
#define NR_CFG_OPDEV 19
#define NR_CFG_ESCAPE 15u     /* csel code of ccfgr that selects an extended field */
#define NR_CFG_EXT_BASE 16   /* extended field = NR_CFG_EXT_BASE + xsel */
#define NR_F_CFG_EXT(w) NR_F_XSEL(w)
static const int32_t nr_cfg_lo[NR_CFG_COUNT] = {1, 0, 1, 0, 0, 1, 1, 1, 0, -32768, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0};
static const int32_t nr_cfg_hi[NR_CFG_COUNT] = {8, 1, 10, 1, 2, 255, 64, 32767, 31, 32767, 127, 128, 255, 256, 32767, 0, 32767, 32767, 1023, 1};
static const int32_t nr_cfg_default[NR_CFG_COUNT] = {4, 1, 8, 1, 0, 100, 1, 1, 0, 0, 0, 128, 0, 256, 1, 0, 64, 0, 16, 0};
static const char *const nr_cfg_name[NR_CFG_COUNT] = {"inbits", "insigned", "outbits", "outsigned", "readout", "stepmax", "pmul", "gain", "gshift", "offset", "row0", "nrows", "col0", "ncols", "noise", "", "ifthr", "ifleak", "ifsteps", "opdev"};

/* timing parameters: X(name, default) */
#define NR_PARAMS(X) \
    X(t_load, 1) \
    X(t_branch, 2) \
    X(t_mul, 3) \
    X(t_div, 20) \
    X(t_vsetup, 2) \
    X(vec_lanes, 16) \
    X(t_wake, 100) \
    X(scan_div, 4) \
    X(neuron_div, 8) \
    X(t_cds, 3) \
    X(t_sample, 2) \
    X(t_integ, 63) \
    X(t_comp, 2) \
    X(t_step, 2) \
    X(bit_phases, 2) \
    X(phase_bits, 4) \
    X(phase_split, 0) \
    X(adc_skip, 0) \
    X(t_verify, 200) \
    X(t_pulse, 100) \
    X(t_cellread, 200) \
    X(t_opsel, 2048) \


static const uint8_t nr_opcode_to_op[256] = {
    NR_OP_ILLEGAL, NR_OP_NOP, NR_OP_HALT, NR_OP_EBREAK,
    NR_OP_ADD, NR_OP_SUB, NR_OP_AND, NR_OP_OR,
    NR_OP_XOR, NR_OP_SLL, NR_OP_SRL, NR_OP_SRA,
    NR_OP_SLT, NR_OP_SLTU, NR_OP_MUL, NR_OP_DIV,
    NR_OP_DIVU, NR_OP_REM, NR_OP_REMU, NR_OP_ILLEGAL,
    NR_OP_ADDI, NR_OP_ANDI, NR_OP_ORI, NR_OP_XORI,
    NR_OP_SLTI, NR_OP_SLTIU, NR_OP_SLLI, NR_OP_SRLI,
    NR_OP_SRAI, NR_OP_MOVI, NR_OP_SHORI, NR_OP_ILLEGAL,
    NR_OP_LB, NR_OP_LBU, NR_OP_LH, NR_OP_LHU,
    NR_OP_LW, NR_OP_LWU, NR_OP_LD, NR_OP_ILLEGAL,
    NR_OP_SB, NR_OP_SH, NR_OP_SW, NR_OP_SD,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_BEQ, NR_OP_BNE, NR_OP_BLT, NR_OP_BGE,
    NR_OP_BLTU, NR_OP_BGEU, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_JAL, NR_OP_JALR, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_RDCYCLE, NR_OP_RDINSTRET, NR_OP_SETVL, NR_OP_SETVLI,
    NR_OP_VADD, NR_OP_VSUB, NR_OP_VMUL, NR_OP_VMAX,
    NR_OP_VMIN, NR_OP_VMULS, NR_OP_VADDS, NR_OP_VRELU,
    NR_OP_VSRA, NR_OP_VSLL, NR_OP_VCLIP, NR_OP_VCLIPU,
    NR_OP_VCVT, NR_OP_VPMAX, NR_OP_VFILL, NR_OP_VARGMAX,
    NR_OP_VSUM, NR_OP_VSIGM, NR_OP_VTANH, NR_OP_VADD2,
    NR_OP_VMAX2, NR_OP_VCVT2, NR_OP_VARGMAX2, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_CPON, NR_OP_CPOFF, NR_OP_CCFG, NR_OP_CCFGR,
    NR_OP_HIN, NR_OP_VIN, NR_OP_HOUT, NR_OP_VOUT,
    NR_OP_CPROG, NR_OP_CREAD, NR_OP_MVM, NR_OP_SMP,
    NR_OP_SYNC, NR_OP_CSTAT, NR_OP_CAGE, NR_OP_ILLEGAL,
    NR_OP_BCOUNT, NR_OP_BSTRIDE, NR_OP_BMVM, NR_OP_BSMP,
    NR_OP_BKEY, NR_OP_ILLEGAL, NR_OP_IFRUN, NR_OP_IFSTEP,
    NR_OP_IFCLR, NR_OP_OPU, NR_OP_OPREFRESH, NR_OP_SEND,
    NR_OP_RECV, NR_OP_BARRIER, NR_OP_CHIPID, NR_OP_NCHIPS,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
    NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL, NR_OP_ILLEGAL,
};
static const uint32_t nr_op_match[NR_OP_COUNT] = {0xffffffffu, 0x01000000u, 0x02000000u, 0x03000000u, 0x04000000u, 0x05000000u, 0x06000000u, 0x07000000u, 0x08000000u, 0x09000000u, 0x0a000000u, 0x0b000000u, 0x0c000000u, 0x0d000000u, 0x0e000000u, 0x0f000000u, 0x10000000u, 0x11000000u, 0x12000000u, 0x14000000u, 0x15000000u, 0x16000000u, 0x17000000u, 0x18000000u, 0x19000000u, 0x1a000000u, 0x1b000000u, 0x1c000000u, 0x1d000000u, 0x1e000000u, 0x20000000u, 0x21000000u, 0x22000000u, 0x23000000u, 0x24000000u, 0x25000000u, 0x26000000u, 0x28000000u, 0x29000000u, 0x2a000000u, 0x2b000000u, 0x30000000u, 0x31000000u, 0x32000000u, 0x33000000u, 0x34000000u, 0x35000000u, 0x38000000u, 0x39000000u, 0x3c000000u, 0x3d000000u, 0x3e000000u, 0x3f000000u, 0x40000000u, 0x41000000u, 0x42000000u, 0x43000000u, 0x44000000u, 0x45000000u, 0x46000000u, 0x47000000u, 0x48000000u, 0x49000000u, 0x4a000000u, 0x4b000000u, 0x4c000000u, 0x4d000000u, 0x4e000000u, 0x4f000000u, 0x50000000u, 0x51000000u, 0x52000000u, 0x53000000u, 0x54000000u, 0x55000000u, 0x56000000u, 0x60000000u, 0x61000000u, 0x62000000u, 0x63000000u, 0x64000000u, 0x65000000u, 0x66000000u, 0x67000000u, 0x68000000u, 0x69000000u, 0x6a000000u, 0x6b000000u, 0x6c000000u, 0x6d000000u, 0x6e000000u, 0x70000000u, 0x71000000u, 0x72000000u, 0x73000000u, 0x74000000u, 0x76000000u, 0x77000000u, 0x79000000u, 0x7a000000u, 0x78000000u, 0x7b000000u, 0x7c000000u, 0x7d000000u, 0x7e000000u, 0x7f000000u};
static const uint32_t nr_op_mask[NR_OP_COUNT] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xff000fffu, 0xff000fffu, 0xff000fffu, 0xff000fffu, 0xff000fffu, 0xff000fffu, 0xff000fffu, 0xff000fffu, 0xff000fffu, 0xff000fffu, 0xff000fffu, 0xff000fffu, 0xff000fffu, 0xff000fffu, 0xff000fffu, 0xff000000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff00ffc0u, 0xff00ffc0u, 0xff00ffc0u, 0xff0f0000u, 0xff0f0000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff000000u, 0xff0fffffu, 0xff0fffffu, 0xfff0ffffu, 0xffff0000u, 0xff0003ffu, 0xff0003ffu, 0xff0003ffu, 0xff0003ffu, 0xff0003ffu, 0xff0003ffu, 0xff0003ffu, 0xff00f3ffu, 0xff00f300u, 0xff00f300u, 0xff00f300u, 0xff00f300u, 0xff00f0ffu, 0xff0003ffu, 0xff00f3ffu, 0xff00f3ffu, 0xff00f3ffu, 0xff00f300u, 0xff00f300u, 0xff0003ffu, 0xff0003ffu, 0xff00f0ffu, 0xff00f0ffu, 0xfff0ffffu, 0xfff0ffffu, 0xff000000u, 0xff000000u, 0xfff0f3c0u, 0xfff0f3c0u, 0xfff0f3c0u, 0xfff0f3c0u, 0xfff0ffc0u, 0xff000fc0u, 0xfff0fcffu, 0xfff0fcffu, 0xfff0ffffu, 0xff0fffc0u, 0xfff0ffffu, 0xfff0ffffu, 0xff000fffu, 0xff00f000u, 0xff00f000u, 0xfff00fc0u, 0xfff0fcffu, 0xfff0fcffu, 0xfff0ffffu, 0xffffffc0u, 0xfff0ffffu, 0xff000fffu, 0xff000fffu, 0xffffffffu, 0xff0fffffu, 0xff0fffffu};
static const char *const nr_op_name[NR_OP_COUNT] = {"illegal", "nop", "halt", "ebreak", "add", "sub", "and", "or", "xor", "sll", "srl", "sra", "slt", "sltu", "mul", "div", "divu", "rem", "remu", "addi", "andi", "ori", "xori", "slti", "sltiu", "slli", "srli", "srai", "movi", "shori", "lb", "lbu", "lh", "lhu", "lw", "lwu", "ld", "sb", "sh", "sw", "sd", "beq", "bne", "blt", "bge", "bltu", "bgeu", "jal", "jalr", "rdcycle", "rdinstret", "setvl", "setvli", "vadd", "vsub", "vmul", "vmax", "vmin", "vmuls", "vadds", "vrelu", "vsra", "vsll", "vclip", "vclipu", "vcvt", "vpmax", "vfill", "vargmax", "vsum", "vsigm", "vtanh", "vadd2", "vmax2", "vcvt2", "vargmax2", "cpon", "cpoff", "ccfg", "ccfgr", "hin", "vin", "hout", "vout", "cprog", "cread", "mvm", "smp", "sync", "cstat", "cage", "bcount", "bstride", "bmvm", "bsmp", "bkey", "ifrun", "ifstep", "opu", "oprefresh", "ifclr", "send", "recv", "barrier", "chipid", "nchips"};
typedef enum { NR_GROUP_CONTROL, NR_GROUP_MEMORY, NR_GROUP_BRANCH, NR_GROUP_VECTOR, NR_GROUP_CHIP, NR_GROUP_LINK } nr_group;
static const uint8_t nr_op_group[NR_OP_COUNT] = {0, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_CONTROL, NR_GROUP_MEMORY, NR_GROUP_MEMORY, NR_GROUP_MEMORY, NR_GROUP_MEMORY, NR_GROUP_MEMORY, NR_GROUP_MEMORY, NR_GROUP_MEMORY, NR_GROUP_MEMORY, NR_GROUP_MEMORY, NR_GROUP_MEMORY, NR_GROUP_MEMORY, NR_GROUP_BRANCH, NR_GROUP_BRANCH, NR_GROUP_BRANCH, NR_GROUP_BRANCH, NR_GROUP_BRANCH, NR_GROUP_BRANCH, NR_GROUP_BRANCH, NR_GROUP_BRANCH, NR_GROUP_BRANCH, NR_GROUP_BRANCH, NR_GROUP_BRANCH, NR_GROUP_BRANCH, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_VECTOR, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_CHIP, NR_GROUP_LINK, NR_GROUP_LINK, NR_GROUP_LINK, NR_GROUP_LINK, NR_GROUP_LINK};
/* 1 when the instruction writes register rd (writes=rd in the table), 0 when it writes no
 * register: a vector instruction that reads rd as its destination address gives 0. */
static const uint8_t nr_op_writes_rd[NR_OP_COUNT] = {0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1};
#define NR_WRITES_RD(op) (nr_op_writes_rd[(op)] != 0)

/* bytes a scalar load or store accesses (size= in the table), 0 for other instructions */
static const uint8_t nr_op_size[NR_OP_COUNT] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 4, 4, 8, 1, 2, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
/* 1 for the instructions of the vector unit (group vector): run.c dispatches them to
 * vector.c and the decoder keeps their vt/vd/vimm fields */
static const uint8_t nr_op_vector[NR_OP_COUNT] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
/* vector memory operands (mem= in the table), in the order they are checked: the register
 * holding the address, the dtype field of its elements, and whether the semantics snippet
 * checks its extent itself (own = 1) instead of the generic check of VL elements */
typedef enum { NR_MEM_RD = 0, NR_MEM_RS1 = 1, NR_MEM_RS2 = 2 } nr_mem_reg;
typedef enum { NR_MEM_DT_VT = 0, NR_MEM_DT_VD = 1, NR_MEM_NONE = 255 } nr_mem_dtype;
typedef struct { uint8_t reg, dtype, own; } nr_mem_operand;
typedef struct { uint8_t n; nr_mem_operand o[3]; } nr_mem_operands;
static const nr_mem_operands nr_op_mem[NR_OP_COUNT] = {{0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {3, {{NR_MEM_RS1, NR_MEM_DT_VT, 0}, {NR_MEM_RS2, NR_MEM_DT_VT, 0}, {NR_MEM_RD, NR_MEM_DT_VT, 0}}}, {3, {{NR_MEM_RS1, NR_MEM_DT_VT, 0}, {NR_MEM_RS2, NR_MEM_DT_VT, 0}, {NR_MEM_RD, NR_MEM_DT_VT, 0}}}, {3, {{NR_MEM_RS1, NR_MEM_DT_VT, 0}, {NR_MEM_RS2, NR_MEM_DT_VT, 0}, {NR_MEM_RD, NR_MEM_DT_VT, 0}}}, {3, {{NR_MEM_RS1, NR_MEM_DT_VT, 0}, {NR_MEM_RS2, NR_MEM_DT_VT, 0}, {NR_MEM_RD, NR_MEM_DT_VT, 0}}}, {3, {{NR_MEM_RS1, NR_MEM_DT_VT, 0}, {NR_MEM_RS2, NR_MEM_DT_VT, 0}, {NR_MEM_RD, NR_MEM_DT_VT, 0}}}, {2, {{NR_MEM_RS1, NR_MEM_DT_VT, 0}, {NR_MEM_RD, NR_MEM_DT_VT, 0}}}, {2, {{NR_MEM_RS1, NR_MEM_DT_VT, 0}, {NR_MEM_RD, NR_MEM_DT_VT, 0}}}, {2, {{NR_MEM_RS1, NR_MEM_DT_VT, 0}, {NR_MEM_RD, NR_MEM_DT_VT, 0}}}, {2, {{NR_MEM_RS1, NR_MEM_DT_VT, 0}, {NR_MEM_RD, NR_MEM_DT_VT, 0}}}, {2, {{NR_MEM_RS1, NR_MEM_DT_VT, 0}, {NR_MEM_RD, NR_MEM_DT_VT, 0}}}, {2, {{NR_MEM_RS1, NR_MEM_DT_VT, 0}, {NR_MEM_RD, NR_MEM_DT_VT, 0}}}, {2, {{NR_MEM_RS1, NR_MEM_DT_VT, 0}, {NR_MEM_RD, NR_MEM_DT_VT, 0}}}, {2, {{NR_MEM_RS1, NR_MEM_DT_VT, 0}, {NR_MEM_RD, NR_MEM_DT_VD, 0}}}, {2, {{NR_MEM_RS1, NR_MEM_DT_VT, 1}, {NR_MEM_RD, NR_MEM_DT_VT, 1}}}, {1, {{NR_MEM_RD, NR_MEM_DT_VT, 0}}}, {1, {{NR_MEM_RS1, NR_MEM_DT_VT, 0}}}, {1, {{NR_MEM_RS1, NR_MEM_DT_VT, 0}}}, {2, {{NR_MEM_RS1, NR_MEM_DT_VT, 0}, {NR_MEM_RD, NR_MEM_DT_VT, 0}}}, {2, {{NR_MEM_RS1, NR_MEM_DT_VT, 0}, {NR_MEM_RD, NR_MEM_DT_VT, 0}}}, {3, {{NR_MEM_RS1, NR_MEM_DT_VT, 1}, {NR_MEM_RS2, NR_MEM_DT_VT, 1}, {NR_MEM_RD, NR_MEM_DT_VT, 1}}}, {3, {{NR_MEM_RS1, NR_MEM_DT_VT, 1}, {NR_MEM_RS2, NR_MEM_DT_VT, 1}, {NR_MEM_RD, NR_MEM_DT_VT, 1}}}, {2, {{NR_MEM_RS1, NR_MEM_DT_VT, 1}, {NR_MEM_RD, NR_MEM_DT_VD, 1}}}, {2, {{NR_MEM_RS1, NR_MEM_DT_VT, 1}, {NR_MEM_RD, NR_MEM_DT_VD, 1}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}, {0, {{0, 0, 0}}}};
/* the dtype field of the memory operand addressed by rd (the destination), or NR_MEM_NONE */
static const uint8_t nr_op_mem_dest[NR_OP_COUNT] = {NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_DT_VT, NR_MEM_DT_VT, NR_MEM_DT_VT, NR_MEM_DT_VT, NR_MEM_DT_VT, NR_MEM_DT_VT, NR_MEM_DT_VT, NR_MEM_DT_VT, NR_MEM_DT_VT, NR_MEM_DT_VT, NR_MEM_DT_VT, NR_MEM_DT_VT, NR_MEM_DT_VD, NR_MEM_DT_VT, NR_MEM_DT_VT, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_DT_VT, NR_MEM_DT_VT, NR_MEM_DT_VT, NR_MEM_DT_VT, NR_MEM_DT_VD, NR_MEM_DT_VD, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE, NR_MEM_NONE};

static inline int nr_field_in(uint32_t v, const uint64_t set) { return v < 64 && ((set >> v) & 1u); }

/* Decode one word: the instruction, or NR_OP_ILLEGAL when no row of the table accepts it. */
static inline nr_op nr_decode(uint32_t w)
{
    nr_op op = (nr_op)nr_opcode_to_op[w >> 24];
    if ((w & nr_op_mask[op]) != nr_op_match[op]) return NR_OP_ILLEGAL;
    switch (op) {
    case NR_OP_VSRA: return ((NR_F_VIMM(w) <= 63u)) ? op : NR_OP_ILLEGAL;
    case NR_OP_VSLL: return ((NR_F_VIMM(w) <= 63u)) ? op : NR_OP_ILLEGAL;
    case NR_OP_VCLIP: return ((NR_F_VBITS(w) >= 1u && NR_F_VBITS(w) <= 32u)) ? op : NR_OP_ILLEGAL;
    case NR_OP_VCLIPU: return ((NR_F_VBITS(w) >= 1u && NR_F_VBITS(w) <= 32u)) ? op : NR_OP_ILLEGAL;
    case NR_OP_VSIGM: return ((NR_F_VIMM(w) <= 63u)) ? op : NR_OP_ILLEGAL;
    case NR_OP_VTANH: return ((NR_F_VIMM(w) <= 63u)) ? op : NR_OP_ILLEGAL;
    case NR_OP_CCFG: return ((nr_field_in(NR_F_CSEL(w), 0xf7fffull))) ? op : NR_OP_ILLEGAL;
    case NR_OP_CCFGR: return ((NR_F_CSEL(w) == 15u ? nr_field_in(NR_F_XSEL(w), 0xfull) : (nr_field_in(NR_F_CSEL(w), 0x7fffull) && NR_F_XSEL(w) == 0u))) ? op : NR_OP_ILLEGAL;
    case NR_OP_HIN: return ((NR_F_CORE(w) <= 47u)) ? op : NR_OP_ILLEGAL;
    case NR_OP_VIN: return ((NR_F_CORE(w) <= 47u)) ? op : NR_OP_ILLEGAL;
    case NR_OP_HOUT: return ((NR_F_CORE(w) <= 47u)) ? op : NR_OP_ILLEGAL;
    case NR_OP_VOUT: return ((NR_F_CORE(w) <= 47u)) ? op : NR_OP_ILLEGAL;
    case NR_OP_CPROG: return ((NR_F_CORE(w) <= 47u)) ? op : NR_OP_ILLEGAL;
    case NR_OP_CREAD: return ((NR_F_CORE(w) <= 47u)) ? op : NR_OP_ILLEGAL;
    case NR_OP_MVM: return ((nr_field_in(NR_F_DIR(w), 0x7ull))) ? op : NR_OP_ILLEGAL;
    case NR_OP_SMP: return ((nr_field_in(NR_F_DIR(w), 0x7ull))) ? op : NR_OP_ILLEGAL;
    case NR_OP_CSTAT: return ((NR_F_CORE(w) <= 47u)) ? op : NR_OP_ILLEGAL;
    case NR_OP_BMVM: return ((nr_field_in(NR_F_BDIR(w), 0x7ull)) && (NR_F_CORE(w) <= 47u)) ? op : NR_OP_ILLEGAL;
    case NR_OP_BSMP: return ((nr_field_in(NR_F_BDIR(w), 0x7ull)) && (NR_F_CORE(w) <= 47u)) ? op : NR_OP_ILLEGAL;
    case NR_OP_BKEY: return ((NR_F_CORE(w) <= 47u)) ? op : NR_OP_ILLEGAL;
    case NR_OP_IFRUN: return ((nr_field_in(NR_F_DIR(w), 0x7ull))) ? op : NR_OP_ILLEGAL;
    case NR_OP_IFSTEP: return ((nr_field_in(NR_F_DIR(w), 0x7ull))) ? op : NR_OP_ILLEGAL;
    case NR_OP_OPREFRESH: return ((NR_F_CORE(w) <= 47u)) ? op : NR_OP_ILLEGAL;
    default: return op;
    }
}

#endif /* NR_ISA_H */
