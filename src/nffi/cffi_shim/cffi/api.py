"""cffi.api under nffi.compat: the FFI class."""
from nffi.compat import FFI

__all__ = ["FFI"]
