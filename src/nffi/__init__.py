"""nffi: a C foreign function interface for Python, with cffi's interface."""
from ._core import LibraryClosedError
from ._core import error
from .errors import (CDefError, FFIError, PkgConfigError, VerificationError,
                     VerificationMissing)
from .api import FFI

# The one place of the version: pyproject.toml reads it from here (setuptools' "attr:").
__version__ = "0.1.0"
__version_info__ = tuple(int(part) for part in __version__.split("."))

__all__ = ["FFI", "CDefError", "FFIError", "VerificationError", "VerificationMissing",
           "PkgConfigError", "LibraryClosedError", "error"]
