"""Uses the lib of libc_cdef.h correctly: mypy accepts it with the stub that
python -m nffi.stubgen writes (as _libc_stub.pyi), and it runs."""
import os
from typing import TYPE_CHECKING

from nffi import FFI

if TYPE_CHECKING:
    from _libc_stub import Lib

ffi = FFI()
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "libc_cdef.h")) as f:
    ffi.cdef(f.read())
lib: "Lib" = ffi.dlopen(None)

a: int = lib.abs(-5)
n: int = lib.strlen(b"hello")
x: float = lib.ldexp(1.5, 2)
buf = ffi.new("char[32]")
written: int = lib.snprintf(buf, 32, b"%d-%s", ffi.cast("int", 7), ffi.new("char[]", b"x"))
values = ffi.new("int[]", [3, 1, 2])


@ffi.callback("int(const void *, const void *)")
def compare(p: object, q: object) -> int:
    return int(ffi.cast("int *", p)[0]) - int(ffi.cast("int *", q)[0])


lib.qsort(values, 3, ffi.sizeof("int"), compare)
home = lib.getenv(b"NFFI_NOT_SET_ANYWHERE")
limit: int = lib.LIMIT + lib.RED + lib.GREEN
env = lib.environ
print(a, n, x, ffi.string(buf), written, list(values), home == ffi.NULL, limit,
      env != ffi.NULL, lib.atoi(b"12"))
