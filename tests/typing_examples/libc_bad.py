"""Misuses the lib of libc_cdef.h: mypy must report each marked line."""
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _libc_stub import Lib
    from nffi._core import CData
    lib: Lib
    ffi_null: CData

    lib.abs("5")                        # E: arg-type
    lib.strlen(5)                       # E: arg-type
    lib.ldexp(1.0)                      # E: call-arg
    lib.abs(1, 2)                       # E: call-arg
    lib.no_such_function()              # E: attr-defined
    s: str = lib.abs(1)                 # E: assignment
    lib.LIMIT = 3                       # E: misc
    lib.snprintf()                      # E: call-arg
    lib.qsort(None, 1, 1, ffi_null)     # E: arg-type
    b: bytes = lib.atoi(b"1")           # E: assignment
