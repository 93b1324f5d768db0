"""cffi.api under nffi.compat: the FFI class."""
from nffi.compat import CffiFFI as FFI

__all__ = ["FFI"]
