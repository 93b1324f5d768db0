"""nffi: a C foreign function interface for Python, with cffi's interface."""
from .errors import (CDefError, FFIError, PkgConfigError, VerificationError,
                     VerificationMissing)
from .api import FFI

__version__ = "0.1.0"
__version_info__ = (0, 1, 0)

__all__ = ["FFI", "CDefError", "FFIError", "VerificationError", "VerificationMissing",
           "PkgConfigError"]
