"""cffi.error under nffi.compat: the exception classes (nffi.errors)."""
from nffi.errors import (CDefError, FFIError, PkgConfigError, VerificationError,
                         VerificationMissing)

__all__ = ["CDefError", "FFIError", "PkgConfigError", "VerificationError",
           "VerificationMissing"]
