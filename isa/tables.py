"""generated from isa/nr48.isa by isa/gen.py — do not edit.

Plain tables for the assembler, disassembler and emulator.
"""

VERSION = (1, 2)
VERSION_WORD = 0x0102
WORD_BITS = 32
NUM_REGS = 16
NUM_CORES = 48
CODE_WORDS = 4194304   # code memory, instructions

# name: (hi, lo, kind, lo_val, hi_val)
FIELDS = {
    'op': (31, 24, 'opcode', 0, 255),
    'rd': (23, 20, 'reg', 0, 15),
    'rt': (23, 20, 'reg', 0, 15),
    'csel': (23, 20, 'cfg', 0, 15),
    'rs1': (19, 16, 'reg', 0, 15),
    'rs2': (15, 12, 'reg', 0, 15),
    'imm16': (15, 0, 'simm', -32768, 32767),
    'uimm16': (15, 0, 'uimm', 0, 65535),
    'off16': (15, 0, 'pcrel', -32768, 32767),
    'off20': (19, 0, 'pcrel', -524288, 524287),
    'shamt': (5, 0, 'uimm', 0, 63),
    'vt': (11, 10, 'dtype', 0, 3),
    'vd': (9, 8, 'dtype', 0, 3),
    'dir': (9, 8, 'dir', 0, 3),
    'vimm': (7, 0, 'uimm', 0, 63),
    'vbits': (7, 0, 'uimm', 1, 32),
    'core': (5, 0, 'core', 0, 47),
    'xsel': (11, 0, 'uimm', 0, 4095),
}

ENUMS = {
    'dtype': {'i8': 0, 'i16': 1, 'i32': 2, 'u8': 3},
    'dir': {'fwd': 0, 'bwd': 1, 'rec': 2},
    'cfg': {'inbits': 0, 'insigned': 1, 'outbits': 2, 'outsigned': 3, 'readout': 4, 'stepmax': 5, 'pmul': 6, 'gain': 7, 'gshift': 8, 'offset': 9, 'row0': 10, 'nrows': 11, 'col0': 12, 'ncols': 13, 'noise': 14, 'ifthr': 16, 'ifleak': 17, 'ifsteps': 18, 'opdev': 19},
}

# name: (value, lo, hi, default, doc)
CFG = {
    'inbits': (0, 1, 8, 4, 'input code bits; signed codes are sign-magnitude (bits-1 magnitude bits); more than 4 magnitude bits run as two passes'),
    'insigned': (1, 0, 1, 1, '1: inputs are signed sign-magnitude codes, 0: unsigned'),
    'outbits': (2, 1, 8, 8, 'output code bits of the neuron readout (signed: sign + bits-1 magnitude bits)'),
    'outsigned': (3, 0, 1, 1, '1: signed outputs in ±(2^(bits-1)-1), 0: unsigned outputs in 0..2^bits-1'),
    'readout': (4, 0, 2, 0, '0: SAR binary search (one compare per output bit), 1: step counting (up to stepmax steps), 2: 1-bit sign (±1)'),
    'stepmax': (5, 1, 255, 100, "maximum decrement steps of the step-counting readout (the test system's default is 100)"),
    'pmul': (6, 1, 64, 1, 'pulse multiplier: sample+integrate pulses per input bit are pmul·2^b'),
    'gain': (7, 1, 32767, 1, 'output gain numerator: y = round(gain·acc / 2^gshift) + offset'),
    'gshift': (8, 0, 31, 0, 'output gain shift (denominator 2^gshift)'),
    'offset': (9, -32768, 32767, 0, 'output offset added after the gain, in output codes'),
    'row0': (10, 0, 127, 0, 'first logical row (row pair 2i, 2i+1) of the active window'),
    'nrows': (11, 1, 128, 128, 'number of logical rows in the active window'),
    'col0': (12, 0, 255, 0, 'first column of the active window'),
    'ncols': (13, 1, 256, 256, 'number of columns in the active window'),
    'noise': (14, 0, 32767, 1, 'amplitude A of the sampling noise of smp, in output codes (noise is uniform in [-A, A])'),
    'ifthr': (16, 1, 32767, 64, 'integrate-and-fire (ifrun/ifstep): threshold charge θ in output codes; a neuron whose charge reaches θ fires and loses θ (reset by subtraction)'),
    'ifleak': (17, 0, 32767, 0, 'integrate-and-fire: leak, in output codes per time step, that moves the stored charge toward 0 before each step integrates'),
    'ifsteps': (18, 1, 1023, 16, 'integrate-and-fire: time steps T of one ifrun (rate-coded output: spike counts 0..T)'),
    'opdev': (19, 0, 1, 0, 'outer-product update (opu): device of each row pair that the pulses hit, 0: G+ (row 2i: SET raises the weight), 1: G− (row 2i+1: SET lowers it)'),
}

# (csel code, selector field, instruction): that code of that instruction selects
# extended cfg field CFG_EXT_BASE + the selector field; None when the table has no escape
CFG_ESCAPE = (15, 'xsel', 'ccfgr')
CFG_EXT_BASE = 16

# name: (default, unit, doc)
PARAMS = {
    't_load': (1, 'cycles', 'extra cycles of a data-memory load'),
    't_branch': (2, 'cycles', 'extra cycles of a taken branch or a jump (pipeline refill)'),
    't_mul': (3, 'cycles', 'cycles of a multiply'),
    't_div': (20, 'cycles', 'cycles of a divide or remainder'),
    't_vsetup': (2, 'cycles', 'fixed cycles of a vector instruction'),
    'vec_lanes': (16, 'elements', 'vector elements processed per cycle'),
    't_wake': (100, 'cycles', 'cycles a core needs after power-on before it accepts work'),
    'scan_div': (4, 'cycles', 'controller cycles per scan-chain shift clock (25 MHz at 100 MHz)'),
    'neuron_div': (8, 'cycles', 'controller cycles per neuron clock (12.5 MHz at 100 MHz)'),
    't_cds': (3, 'neuron clocks', 'correlated double sampling at the start of each pass'),
    't_sample': (2, 'neuron clocks', 'sample phase of one input pulse'),
    't_integ': (63, 'neuron clocks', 'integrate phase of one input pulse'),
    't_comp': (2, 'neuron clocks', 'one comparison (SAR bit, sign or sample)'),
    't_step': (2, 'neuron clocks', 'one charge-decrement step of the step-counting readout'),
    't_verify': (200, 'cycles', 'one verify read of a cell during write-verify (0.2 V read + ADC)'),
    't_pulse': (100, 'cycles', 'one SET or RESET pulse (1 µs)'),
    't_cellread': (200, 'cycles', 'a single-cell read (cread)'),
    't_opsel': (2048, 'cycles', 'loading the row and column selection registers of one outer-product phase (opu)'),
}

GROUPS = {'control': 'Control and scalar ALU', 'memory': 'Data-memory loads and stores (byte-addressed, little-endian; accesses must be aligned)', 'branch': 'Branches, jumps and counters', 'vector': 'Vector unit: element-wise operations on data memory; rd, rs1, rs2 hold byte addresses and VL gives the element count. Results saturate to the element type.', 'chip': 'CIM cores: power, configuration, weights, scan chains, matrix-vector multiplies. Core masks are 48-bit register values, bit i = core i. Work on a core is asynchronous: the instruction issues in one cycle, the core is busy until its work ends, and a later instruction that needs a busy core (or its scan chain) waits for it.'}

# mnemonic: (opcode, match, mask, suffix fields, operands ((field, base|None), ...),
#            fields, group, cost, doc)
INSNS = {
    'nop': (0x01, 0x01000000, 0xffffffff, (), (), (), 'control', '1', 'do nothing'),
    'halt': (0x02, 0x02000000, 0xffffffff, (), (), (), 'control', '1', 'stop the machine; the run ends with reason "halt"'),
    'ebreak': (0x03, 0x03000000, 0xffffffff, (), (), (), 'control', '1', 'stop with reason "breakpoint" (a breakpoint compiled into the program)'),
    'add': (0x04, 0x04000000, 0xff000fff, (), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2'), 'control', '1', 'rd ← rs1 + rs2 (64-bit, wrapping)'),
    'sub': (0x05, 0x05000000, 0xff000fff, (), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2'), 'control', '1', 'rd ← rs1 − rs2'),
    'and': (0x06, 0x06000000, 0xff000fff, (), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2'), 'control', '1', 'rd ← rs1 & rs2'),
    'or': (0x07, 0x07000000, 0xff000fff, (), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2'), 'control', '1', 'rd ← rs1 | rs2'),
    'xor': (0x08, 0x08000000, 0xff000fff, (), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2'), 'control', '1', 'rd ← rs1 ^ rs2'),
    'sll': (0x09, 0x09000000, 0xff000fff, (), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2'), 'control', '1', 'rd ← rs1 << (rs2 & 63)'),
    'srl': (0x0a, 0x0a000000, 0xff000fff, (), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2'), 'control', '1', 'rd ← rs1 >> (rs2 & 63), logical'),
    'sra': (0x0b, 0x0b000000, 0xff000fff, (), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2'), 'control', '1', 'rd ← rs1 >> (rs2 & 63), arithmetic'),
    'slt': (0x0c, 0x0c000000, 0xff000fff, (), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2'), 'control', '1', 'rd ← 1 if rs1 < rs2 (signed) else 0'),
    'sltu': (0x0d, 0x0d000000, 0xff000fff, (), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2'), 'control', '1', 'rd ← 1 if rs1 < rs2 (unsigned) else 0'),
    'mul': (0x0e, 0x0e000000, 0xff000fff, (), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2'), 'control', 't_mul', 'rd ← low 64 bits of rs1 · rs2'),
    'div': (0x0f, 0x0f000000, 0xff000fff, (), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2'), 'control', 't_div', 'rd ← rs1 / rs2 signed, rounded toward zero; −1 if rs2 = 0'),
    'divu': (0x10, 0x10000000, 0xff000fff, (), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2'), 'control', 't_div', 'rd ← rs1 / rs2 unsigned; all ones if rs2 = 0'),
    'rem': (0x11, 0x11000000, 0xff000fff, (), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2'), 'control', 't_div', 'rd ← rs1 mod rs2 signed (sign of rs1); rs1 if rs2 = 0'),
    'remu': (0x12, 0x12000000, 0xff000fff, (), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2'), 'control', 't_div', 'rd ← rs1 mod rs2 unsigned; rs1 if rs2 = 0'),
    'addi': (0x14, 0x14000000, 0xff000000, (), (('rd', None), ('rs1', None), ('imm16', None)), ('rd', 'rs1', 'imm16'), 'control', '1', 'rd ← rs1 + imm16'),
    'andi': (0x15, 0x15000000, 0xff000000, (), (('rd', None), ('rs1', None), ('imm16', None)), ('rd', 'rs1', 'imm16'), 'control', '1', 'rd ← rs1 & imm16 (sign-extended)'),
    'ori': (0x16, 0x16000000, 0xff000000, (), (('rd', None), ('rs1', None), ('imm16', None)), ('rd', 'rs1', 'imm16'), 'control', '1', 'rd ← rs1 | imm16 (sign-extended)'),
    'xori': (0x17, 0x17000000, 0xff000000, (), (('rd', None), ('rs1', None), ('imm16', None)), ('rd', 'rs1', 'imm16'), 'control', '1', 'rd ← rs1 ^ imm16 (sign-extended)'),
    'slti': (0x18, 0x18000000, 0xff000000, (), (('rd', None), ('rs1', None), ('imm16', None)), ('rd', 'rs1', 'imm16'), 'control', '1', 'rd ← 1 if rs1 < imm16 (signed) else 0'),
    'sltiu': (0x19, 0x19000000, 0xff000000, (), (('rd', None), ('rs1', None), ('imm16', None)), ('rd', 'rs1', 'imm16'), 'control', '1', 'rd ← 1 if rs1 < imm16 (sign-extended, compared unsigned) else 0'),
    'slli': (0x1a, 0x1a000000, 0xff00ffc0, (), (('rd', None), ('rs1', None), ('shamt', None)), ('rd', 'rs1', 'shamt'), 'control', '1', 'rd ← rs1 << shamt'),
    'srli': (0x1b, 0x1b000000, 0xff00ffc0, (), (('rd', None), ('rs1', None), ('shamt', None)), ('rd', 'rs1', 'shamt'), 'control', '1', 'rd ← rs1 >> shamt, logical'),
    'srai': (0x1c, 0x1c000000, 0xff00ffc0, (), (('rd', None), ('rs1', None), ('shamt', None)), ('rd', 'rs1', 'shamt'), 'control', '1', 'rd ← rs1 >> shamt, arithmetic'),
    'movi': (0x1d, 0x1d000000, 0xff0f0000, (), (('rd', None), ('imm16', None)), ('rd', 'imm16'), 'control', '1', 'rd ← imm16 (sign-extended)'),
    'shori': (0x1e, 0x1e000000, 0xff0f0000, (), (('rd', None), ('uimm16', None)), ('rd', 'uimm16'), 'control', '1', 'rd ← (rd << 16) | uimm16 (builds wide constants 16 bits at a time)'),
    'lb': (0x20, 0x20000000, 0xff000000, (), (('rd', None), ('imm16', 'rs1')), ('rd', 'rs1', 'imm16'), 'memory', '1 + t_load', 'rd ← sign-extended byte at rs1 + imm16'),
    'lbu': (0x21, 0x21000000, 0xff000000, (), (('rd', None), ('imm16', 'rs1')), ('rd', 'rs1', 'imm16'), 'memory', '1 + t_load', 'rd ← zero-extended byte at rs1 + imm16'),
    'lh': (0x22, 0x22000000, 0xff000000, (), (('rd', None), ('imm16', 'rs1')), ('rd', 'rs1', 'imm16'), 'memory', '1 + t_load', 'rd ← sign-extended 16-bit half at rs1 + imm16'),
    'lhu': (0x23, 0x23000000, 0xff000000, (), (('rd', None), ('imm16', 'rs1')), ('rd', 'rs1', 'imm16'), 'memory', '1 + t_load', 'rd ← zero-extended half at rs1 + imm16'),
    'lw': (0x24, 0x24000000, 0xff000000, (), (('rd', None), ('imm16', 'rs1')), ('rd', 'rs1', 'imm16'), 'memory', '1 + t_load', 'rd ← sign-extended 32-bit word at rs1 + imm16'),
    'lwu': (0x25, 0x25000000, 0xff000000, (), (('rd', None), ('imm16', 'rs1')), ('rd', 'rs1', 'imm16'), 'memory', '1 + t_load', 'rd ← zero-extended word at rs1 + imm16'),
    'ld': (0x26, 0x26000000, 0xff000000, (), (('rd', None), ('imm16', 'rs1')), ('rd', 'rs1', 'imm16'), 'memory', '1 + t_load', 'rd ← 64-bit double word at rs1 + imm16'),
    'sb': (0x28, 0x28000000, 0xff000000, (), (('rt', None), ('imm16', 'rs1')), ('rt', 'rs1', 'imm16'), 'memory', '1', 'byte at rs1 + imm16 ← low 8 bits of rt'),
    'sh': (0x29, 0x29000000, 0xff000000, (), (('rt', None), ('imm16', 'rs1')), ('rt', 'rs1', 'imm16'), 'memory', '1', 'half at rs1 + imm16 ← low 16 bits of rt'),
    'sw': (0x2a, 0x2a000000, 0xff000000, (), (('rt', None), ('imm16', 'rs1')), ('rt', 'rs1', 'imm16'), 'memory', '1', 'word at rs1 + imm16 ← low 32 bits of rt'),
    'sd': (0x2b, 0x2b000000, 0xff000000, (), (('rt', None), ('imm16', 'rs1')), ('rt', 'rs1', 'imm16'), 'memory', '1', 'double word at rs1 + imm16 ← rt'),
    'beq': (0x30, 0x30000000, 0xff000000, (), (('rt', None), ('rs1', None), ('off16', None)), ('rt', 'rs1', 'off16'), 'branch', '1 (+ t_branch if taken)', 'branch if rt = rs1'),
    'bne': (0x31, 0x31000000, 0xff000000, (), (('rt', None), ('rs1', None), ('off16', None)), ('rt', 'rs1', 'off16'), 'branch', '1 (+ t_branch if taken)', 'branch if rt ≠ rs1'),
    'blt': (0x32, 0x32000000, 0xff000000, (), (('rt', None), ('rs1', None), ('off16', None)), ('rt', 'rs1', 'off16'), 'branch', '1 (+ t_branch if taken)', 'branch if rt < rs1 (signed)'),
    'bge': (0x33, 0x33000000, 0xff000000, (), (('rt', None), ('rs1', None), ('off16', None)), ('rt', 'rs1', 'off16'), 'branch', '1 (+ t_branch if taken)', 'branch if rt ≥ rs1 (signed)'),
    'bltu': (0x34, 0x34000000, 0xff000000, (), (('rt', None), ('rs1', None), ('off16', None)), ('rt', 'rs1', 'off16'), 'branch', '1 (+ t_branch if taken)', 'branch if rt < rs1 (unsigned)'),
    'bgeu': (0x35, 0x35000000, 0xff000000, (), (('rt', None), ('rs1', None), ('off16', None)), ('rt', 'rs1', 'off16'), 'branch', '1 (+ t_branch if taken)', 'branch if rt ≥ rs1 (unsigned)'),
    'jal': (0x38, 0x38000000, 0xff000000, (), (('rd', None), ('off20', None)), ('rd', 'off20'), 'branch', '1 + t_branch', 'rd ← pc + 4; pc ← target'),
    'jalr': (0x39, 0x39000000, 0xff000000, (), (('rd', None), ('imm16', 'rs1')), ('rd', 'rs1', 'imm16'), 'branch', '1 + t_branch', 'rd ← pc + 4; pc ← (rs1 + imm16) with the low two bits cleared'),
    'rdcycle': (0x3c, 0x3c000000, 0xff0fffff, (), (('rd', None),), ('rd',), 'branch', '1', 'rd ← the cycle at which this instruction issues'),
    'rdinstret': (0x3d, 0x3d000000, 0xff0fffff, (), (('rd', None),), ('rd',), 'branch', '1', 'rd ← instructions retired before this one'),
    'setvl': (0x3e, 0x3e000000, 0xfff0ffff, (), (('rs1', None),), ('rs1',), 'branch', '1', 'VL ← rs1, the element count of the following vector instructions'),
    'setvli': (0x3f, 0x3f000000, 0xffff0000, (), (('uimm16', None),), ('uimm16',), 'branch', '1', 'VL ← uimm16'),
    'vadd': (0x40, 0x40000000, 0xff0003ff, ('vt',), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2', 'vt'), 'vector', 't_vsetup + ceil(VL / vec_lanes)', 'mem[rd] ← mem[rs1] + mem[rs2]'),
    'vsub': (0x41, 0x41000000, 0xff0003ff, ('vt',), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2', 'vt'), 'vector', 't_vsetup + ceil(VL / vec_lanes)', 'mem[rd] ← mem[rs1] − mem[rs2]'),
    'vmul': (0x42, 0x42000000, 0xff0003ff, ('vt',), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2', 'vt'), 'vector', 't_vsetup + ceil(VL / vec_lanes)', 'mem[rd] ← mem[rs1] · mem[rs2]'),
    'vmax': (0x43, 0x43000000, 0xff0003ff, ('vt',), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2', 'vt'), 'vector', 't_vsetup + ceil(VL / vec_lanes)', 'mem[rd] ← max(mem[rs1], mem[rs2])'),
    'vmin': (0x44, 0x44000000, 0xff0003ff, ('vt',), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2', 'vt'), 'vector', 't_vsetup + ceil(VL / vec_lanes)', 'mem[rd] ← min(mem[rs1], mem[rs2])'),
    'vmuls': (0x45, 0x45000000, 0xff0003ff, ('vt',), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2', 'vt'), 'vector', 't_vsetup + ceil(VL / vec_lanes)', 'mem[rd] ← mem[rs1] · rs2 (rs2 is a scalar register value)'),
    'vadds': (0x46, 0x46000000, 0xff0003ff, ('vt',), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2', 'vt'), 'vector', 't_vsetup + ceil(VL / vec_lanes)', 'mem[rd] ← mem[rs1] + rs2 (rs2 is a scalar register value)'),
    'vrelu': (0x47, 0x47000000, 0xff00f3ff, ('vt',), (('rd', None), ('rs1', None)), ('rd', 'rs1', 'vt'), 'vector', 't_vsetup + ceil(VL / vec_lanes)', 'mem[rd] ← max(mem[rs1], 0)'),
    'vsra': (0x48, 0x48000000, 0xff00f300, ('vt',), (('rd', None), ('rs1', None), ('vimm', None)), ('rd', 'rs1', 'vt', 'vimm'), 'vector', 't_vsetup + ceil(VL / vec_lanes)', 'mem[rd] ← (mem[rs1] + 2^(vimm−1)) >> vimm, arithmetic shift rounding half up (vimm = 0: copy)'),
    'vsll': (0x49, 0x49000000, 0xff00f300, ('vt',), (('rd', None), ('rs1', None), ('vimm', None)), ('rd', 'rs1', 'vt', 'vimm'), 'vector', 't_vsetup + ceil(VL / vec_lanes)', 'mem[rd] ← mem[rs1] · 2^vimm'),
    'vclip': (0x4a, 0x4a000000, 0xff00f300, ('vt',), (('rd', None), ('rs1', None), ('vbits', None)), ('rd', 'rs1', 'vt', 'vbits'), 'vector', 't_vsetup + ceil(VL / vec_lanes)', 'mem[rd] ← clamp(mem[rs1], −(2^(vbits−1)−1), 2^(vbits−1)−1), a signed sign-magnitude input code'),
    'vclipu': (0x4b, 0x4b000000, 0xff00f300, ('vt',), (('rd', None), ('rs1', None), ('vbits', None)), ('rd', 'rs1', 'vt', 'vbits'), 'vector', 't_vsetup + ceil(VL / vec_lanes)', 'mem[rd] ← clamp(mem[rs1], 0, 2^vbits−1), ReLU and requantise to an unsigned code'),
    'vcvt': (0x4c, 0x4c000000, 0xff00f0ff, ('vd', 'vt'), (('rd', None), ('rs1', None)), ('rd', 'rs1', 'vt', 'vd'), 'vector', 't_vsetup + ceil(VL / vec_lanes)', 'mem[rd] (type vd) ← mem[rs1] (type vt), saturating'),
    'vpmax': (0x4d, 0x4d000000, 0xff0003ff, ('vt',), (('rd', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2', 'vt'), 'vector', 't_vsetup + ceil(2·VL / vec_lanes)', 'pairwise max of groups of rs2 elements: out[k·g+i] ← max(in[2k·g+i], in[(2k+1)·g+i]) for VL outputs (pooling)'),
    'vfill': (0x4e, 0x4e000000, 0xff00f3ff, ('vt',), (('rd', None), ('rs1', None)), ('rd', 'rs1', 'vt'), 'vector', 't_vsetup + ceil(VL / vec_lanes)', 'mem[rd] ← rs1 (scalar) in every element'),
    'vargmax': (0x4f, 0x4f000000, 0xff00f3ff, ('vt',), (('rd', None), ('rs1', None)), ('rd', 'rs1', 'vt'), 'vector', 't_vsetup + ceil(VL / vec_lanes)', 'rd (register) ← index of the first largest element of mem[rs1]'),
    'vsum': (0x50, 0x50000000, 0xff00f3ff, ('vt',), (('rd', None), ('rs1', None)), ('rd', 'rs1', 'vt'), 'vector', 't_vsetup + ceil(VL / vec_lanes)', 'rd (register) ← sum of the elements of mem[rs1] (64-bit)'),
    'vsigm': (0x51, 0x51000000, 0xff00f300, ('vt',), (('rd', None), ('rs1', None), ('vimm', None)), ('rd', 'rs1', 'vt', 'vimm'), 'vector', 't_vsetup + ceil(VL / vec_lanes)', 'mem[rd] ← σ(mem[rs1] / 2^vimm) in Q14 (16384 = 1): piecewise linear through round(16384·σ(k/4)), k = 0 … 32, flat beyond ±8, σ(−x) = 16384 − σ(x); |error| ≤ 0.0008 (use .i16 or .i32)'),
    'vtanh': (0x52, 0x52000000, 0xff00f300, ('vt',), (('rd', None), ('rs1', None), ('vimm', None)), ('rd', 'rs1', 'vt', 'vimm'), 'vector', 't_vsetup + ceil(VL / vec_lanes)', 'mem[rd] ← tanh(mem[rs1] / 2^vimm) in Q14 (16384 = 1): piecewise linear through round(16384·tanh(k/8)), k = 0 … 32, flat beyond ±4, tanh(−x) = −tanh(x); |error| ≤ 0.0016 (use .i16 or .i32)'),
    'cpon': (0x60, 0x60000000, 0xfff0ffff, (), (('rs1', None),), ('rs1',), 'chip', '1; cores busy t_wake', 'power on the cores in mask rs1; H, V and configuration start at their reset values'),
    'cpoff': (0x61, 0x61000000, 0xfff0ffff, (), (('rs1', None),), ('rs1',), 'chip', '1 (+ wait for the cores to be idle)', 'power off the cores in mask rs1; conductances are kept, registers and configuration are lost'),
    'ccfg': (0x62, 0x62000000, 0xff000000, ('csel',), (('rs1', None), ('imm16', None)), ('csel', 'rs1', 'imm16'), 'chip', '1 (+ wait for the cores to be idle)', 'set configuration field csel of the cores in mask rs1 to imm16'),
    'ccfgr': (0x63, 0x63000000, 0xff000000, ('csel',), (('rs1', None), ('rs2', None)), ('csel', 'rs1', 'rs2'), 'chip', '1 (+ wait for the cores to be idle)', 'set configuration field csel of the cores in mask rs1 to the value of rs2'),
    'hin': (0x64, 0x64000000, 0xfff0f3c0, ('vt',), (('core', None), ('rs1', None)), ('rs1', 'vt', 'core'), 'chip', '1; core busy until its chain has shifted 256·shifts(core, H)·scan_div cycles', 'scan nrows elements at rs1 into H[row0 …]'),
    'vin': (0x65, 0x65000000, 0xfff0f3c0, ('vt',), (('core', None), ('rs1', None)), ('rs1', 'vt', 'core'), 'chip', '1; core busy until its chain has shifted 256·shifts(core, V)·scan_div cycles', 'scan ncols elements at rs1 into V[col0 …]'),
    'hout': (0x66, 0x66000000, 0xfff0f3c0, ('vt',), (('core', None), ('rs1', None)), ('rs1', 'vt', 'core'), 'chip', '1; core busy until its chain has shifted 256·shifts(core, H)·scan_div cycles', 'scan H[row0 …] (nrows elements) out to memory at rs1; memory is written when the scan ends'),
    'vout': (0x67, 0x67000000, 0xfff0f3c0, ('vt',), (('core', None), ('rs1', None)), ('rs1', 'vt', 'core'), 'chip', '1; core busy until its chain has shifted 256·shifts(core, V)·scan_div cycles', 'scan V[col0 …] (ncols elements) out to memory at rs1; memory is written when the scan ends'),
    'cprog': (0x68, 0x68000000, 0xfff0ffc0, (), (('core', None), ('rs1', None)), ('rs1', 'core'), 'chip', '1; programmer busy Σ_cells (t_verify + pulses·(t_pulse + t_verify))', "write-verify the window's nrows × ncols int8 weight codes at rs1 (row-major) into row pairs: G+ on row 2i, G− on row 2i+1"),
    'cread': (0x69, 0x69000000, 0xff000fc0, (), (('rd', None), ('core', None), ('rs1', None), ('rs2', None)), ('rd', 'rs1', 'rs2', 'core'), 'chip', 't_cellread (+ wait for the core)', 'rd ← conductance in nS of the cell at physical row rs1, column rs2'),
    'mvm': (0x6a, 0x6a000000, 0xfff0fcff, ('dir',), (('rs1', None),), ('rs1', 'dir'), 'chip', '1; cores busy neuron_div·Σ_passes (t_cds + Σ_b 2·pmul·2^b·(t_sample + t_integ) + readout)', 'matrix-vector multiply on every core in mask rs1, concurrently: fwd H→V (y = Wᵀx), bwd V→H (x = Wy), rec H→H'),
    'smp': (0x6b, 0x6b000000, 0xfff0fcff, ('dir',), (('rs1', None),), ('rs1', 'dir'), 'chip', '1; cores busy as mvm with a one-compare readout', 'stochastic sample: like mvm, but each output is 1 if the pre-activation plus sampling noise is > 0, else 0'),
    'sync': (0x6c, 0x6c000000, 0xfff0ffff, (), (('rs1', None),), ('rs1',), 'chip', '1 (+ wait)', 'wait until every core in mask rs1 is idle (rs1 = x0: all cores)'),
    'cstat': (0x6d, 0x6d000000, 0xff0fffc0, (), (('rd', None), ('core', None)), ('rd', 'core'), 'chip', '1', 'rd ← core status: bit0 powered, bit1 busy, bits 8–15 phase, bits 16–63 cycles until idle'),
    'cage': (0x6e, 0x6e000000, 0xfff0ffff, (), (('rs1', None),), ('rs1',), 'chip', '1', "let rs1 milliseconds of chip wall-clock time pass without running (a shelf period): programmed conductances relax with the chip's age in the analog model; the cycle count does not change"),
    'ifrun': (0x76, 0x76000000, 0xfff0fcff, ('dir',), (('rs1', None),), ('rs1', 'dir'), 'chip', '1; cores busy neuron_div·(t_cds + ifsteps·(Σ_passes Σ_b 2·pmul·2^b·(t_sample + t_integ) + t_comp + t_step))', "integrate-and-fire run on every core in mask rs1: clear the neurons' charges and spike counts, then ifsteps time steps on the same input (fwd H→V, bwd V→H, rec H→H); each step adds the pre-activation (gain·acc / 2^gshift + offset, unclamped) to the charge after the leak, fires where charge ≥ ifthr and subtracts ifthr; outputs ← spike counts (rate code)"),
    'ifstep': (0x77, 0x77000000, 0xfff0fcff, ('dir',), (('rs1', None),), ('rs1', 'dir'), 'chip', '1; cores busy neuron_div·(t_cds + Σ_passes Σ_b 2·pmul·2^b·(t_sample + t_integ) + t_comp + t_step)', "one integrate-and-fire time step on every core in mask rs1, keeping the charges: outputs ← this step's spike vector (1 fired, 0 not), usable as the next layer's binary input; spike counts accumulate"),
    'opu': (0x79, 0x79000000, 0xfff0ffff, (), (('rs1', None),), ('rs1',), 'chip', '1; cores busy Σ_phases with a selected cell (t_opsel + t_pulse)', 'outer-product update on every core in mask rs1, all cells of the window in parallel: x = sign(H[row0 …]), y = sign(V[col0 …]) (ternary); four phases load the selections and pulse once: SET where x = y = +1, RESET where x = +1, y = −1, SET where x = y = −1, RESET where x = −1, y = +1, on the opdev device of each pair (ideal: ±g_lsb, analog: docs/analog.md)'),
    'oprefresh': (0x7a, 0x7a000000, 0xffffffc0, (), (('core', None),), ('core',), 'chip', '1; programmer busy 2·nrows·ncols·t_verify + Σ_cells (t_verify + pulses·(t_pulse + t_verify))', "pair refresh of the window: read each pair's Δ = G+ − G−, then write-verify the larger device to g_max and the other to g_max − |Δ| (the weight stays, both devices move away from the low bound); serialised on the programmer like cprog"),
    'ifclr': (0x78, 0x78000000, 0xfff0ffff, (), (('rs1', None),), ('rs1',), 'chip', '1 (+ wait for the cores to be idle)', 'initialise the integrate-and-fire neurons of the cores in mask rs1: charges and spike counts ← 0'),
}

OPCODES = {v[0]: k for k, v in INSNS.items()}

# mnemonic: the register operand field it writes (writes= in the table); instructions
# that write no register are absent (a vector instruction's rd that holds the destination
# address is only read)
WRITES = {
    'add': 'rd',
    'sub': 'rd',
    'and': 'rd',
    'or': 'rd',
    'xor': 'rd',
    'sll': 'rd',
    'srl': 'rd',
    'sra': 'rd',
    'slt': 'rd',
    'sltu': 'rd',
    'mul': 'rd',
    'div': 'rd',
    'divu': 'rd',
    'rem': 'rd',
    'remu': 'rd',
    'addi': 'rd',
    'andi': 'rd',
    'ori': 'rd',
    'xori': 'rd',
    'slti': 'rd',
    'sltiu': 'rd',
    'slli': 'rd',
    'srli': 'rd',
    'srai': 'rd',
    'movi': 'rd',
    'shori': 'rd',
    'lb': 'rd',
    'lbu': 'rd',
    'lh': 'rd',
    'lhu': 'rd',
    'lw': 'rd',
    'lwu': 'rd',
    'ld': 'rd',
    'jal': 'rd',
    'jalr': 'rd',
    'rdcycle': 'rd',
    'rdinstret': 'rd',
    'vargmax': 'rd',
    'vsum': 'rd',
    'cread': 'rd',
    'cstat': 'rd',
}

# mnemonic: bytes a scalar load or store accesses (size= in the table)
SIZES = {
    'lb': 1,
    'lbu': 1,
    'lh': 2,
    'lhu': 2,
    'lw': 4,
    'lwu': 4,
    'ld': 8,
    'sb': 1,
    'sh': 2,
    'sw': 4,
    'sd': 8,
}

# mnemonic: vector memory operands in check order ((register, dtype field, own check), ...)
# (mem= in the table; own check: the semantics snippet checks the extent, not VL)
MEM = {
    'vadd': (('rs1', 'vt', False), ('rs2', 'vt', False), ('rd', 'vt', False)),
    'vsub': (('rs1', 'vt', False), ('rs2', 'vt', False), ('rd', 'vt', False)),
    'vmul': (('rs1', 'vt', False), ('rs2', 'vt', False), ('rd', 'vt', False)),
    'vmax': (('rs1', 'vt', False), ('rs2', 'vt', False), ('rd', 'vt', False)),
    'vmin': (('rs1', 'vt', False), ('rs2', 'vt', False), ('rd', 'vt', False)),
    'vmuls': (('rs1', 'vt', False), ('rd', 'vt', False)),
    'vadds': (('rs1', 'vt', False), ('rd', 'vt', False)),
    'vrelu': (('rs1', 'vt', False), ('rd', 'vt', False)),
    'vsra': (('rs1', 'vt', False), ('rd', 'vt', False)),
    'vsll': (('rs1', 'vt', False), ('rd', 'vt', False)),
    'vclip': (('rs1', 'vt', False), ('rd', 'vt', False)),
    'vclipu': (('rs1', 'vt', False), ('rd', 'vt', False)),
    'vcvt': (('rs1', 'vt', False), ('rd', 'vd', False)),
    'vpmax': (('rs1', 'vt', True), ('rd', 'vt', True)),
    'vfill': (('rd', 'vt', False),),
    'vargmax': (('rs1', 'vt', False),),
    'vsum': (('rs1', 'vt', False),),
    'vsigm': (('rs1', 'vt', False), ('rd', 'vt', False)),
    'vtanh': (('rs1', 'vt', False), ('rd', 'vt', False)),
}

# mnemonic: (suffix fields, operands, expansion, doc)
PSEUDOS = {
    'li': ((), (('rd', None), ('imm', None)), 'builtin', 'load any 64-bit constant (movi, then shori for each further 16 bits)'),
    'la': ((), (('rd', None), ('imm', None)), 'builtin', 'load an address (movi + shori, two instructions)'),
    'mv': ((), (('rd', None), ('rs1', None)), 'addi rd, rs1, 0', 'copy a register'),
    'not': ((), (('rd', None), ('rs1', None)), 'xori rd, rs1, -1', 'bitwise complement'),
    'neg': ((), (('rd', None), ('rs1', None)), 'sub rd, x0, rs1', "two's complement negation"),
    'j': ((), (('off20', None),), 'jal x0, off20', 'jump'),
    'call': ((), (('off20', None),), 'jal x1, off20', 'call a subroutine (return address in x1)'),
    'ret': ((), (), 'jalr x0, 0(x1)', 'return from a subroutine'),
    'beqz': ((), (('rt', None), ('off16', None)), 'beq rt, x0, off16', 'branch if zero'),
    'bnez': ((), (('rt', None), ('off16', None)), 'bne rt, x0, off16', 'branch if not zero'),
    'bgt': ((), (('rt', None), ('rs1', None), ('off16', None)), 'blt rs1, rt, off16', 'branch if rt > rs1 (signed)'),
    'ble': ((), (('rt', None), ('rs1', None), ('off16', None)), 'bge rs1, rt, off16', 'branch if rt ≤ rs1 (signed)'),
    'vmov': (('vt',), (('rd', None), ('rs1', None)), 'vcvt.{vt}.{vt} rd, rs1', 'copy VL elements'),
}
