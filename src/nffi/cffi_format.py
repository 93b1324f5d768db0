"""The numbers of cffi's serialized type tables, in one place for the reader
(nffi.cffi_tables: loads modules that cffi wrote in out-of-line ABI mode) and the writer
(nffi.cffi_writer: writes such modules itself).  The layout of the tables is described
in nffi.cffi_tables; primitive type numbers are the ``cffi_number`` column of
nffi.primitives.

An opcode is a 32-bit word: the low byte is the operation, the rest a signed argument.
"""
from . import primitives

# operations (cffi's cffi_opcode.py / parse_c_type.h)
OP_PRIMITIVE = 1
OP_POINTER = 3
OP_ARRAY = 5
OP_OPEN_ARRAY = 7
OP_STRUCT_UNION = 9
OP_ENUM = 11
OP_FUNCTION = 13
OP_FUNCTION_END = 15
OP_NOOP = 17
OP_BITFIELD = 19
OP_TYPENAME = 21
OP_CPYTHON_BLTN_V = 23
OP_CPYTHON_BLTN_N = 25
OP_CPYTHON_BLTN_O = 27
OP_CONSTANT = 29
OP_CONSTANT_INT = 31
OP_GLOBAL_VAR = 33
OP_DLOPEN_FUNC = 35
OP_DLOPEN_CONST = 37
OP_GLOBAL_VAR_F = 39
OP_EXTERN_PYTHON = 41

# the names cffi prints for each operation ('(FUNCTION 1)'), as in its tests
OP_NAMES = {value: name[3:] for name, value in globals().items() if name.startswith("OP_")}

PRIM_VOID = 0

# struct/union flags
F_UNION = 0x01
F_CHECK_FIELDS = 0x02
F_PACKED = 0x04
F_EXTERNAL = 0x08
F_OPAQUE = 0x10

# _version of the modules: base, with embedding, with char16_t/char32_t
VERSION_BASE = 0x2601
VERSION_EMBEDDED = 0x2701
VERSION_CHAR16CHAR32 = 0x2801
KNOWN_VERSIONS = range(VERSION_BASE, 0x2900)


def check_version(module_name, version):
    """An out-of-line module written by a cffi whose format we do not know: ImportError."""
    if version not in KNOWN_VERSIONS:
        raise ImportError("cffi out-of-line Python module '%s' has unknown version %s"
                          % (module_name, hex(version) if isinstance(version, int)
                             else repr(version)))


def enum_primitive(size, signed):
    """The primitive number cffi's tables give an enum of this size and signedness."""
    return primitives.BY_NAME["%sint%d_t" % ("" if signed else "u", size * 8)].cffi_number


def four_bytes(number):
    """A 32-bit word as the escaped bytes-literal text cffi writes ('\\x00\\x00\\x01\\x0D')."""
    return "".join("\\x%02X" % ((number >> shift) & 0xFF) for shift in (24, 16, 8, 0))


def opcode(op, arg):
    """The 32-bit word of (operation, argument)."""
    return ((arg << 8) | op) & 0xFFFFFFFF
