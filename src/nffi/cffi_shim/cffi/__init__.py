"""cffi, as nffi stands in for it (see nffi.compat): FFI, the exceptions, the version,
and the submodules build scripts and tests import (setuptools_ext, pkgconfig,
recompiler, ffiplatform, verifier, api, error, model).  Importing it makes ``cffi`` and
``_cffi_backend`` nffi's for the rest of the process."""
import sys

from nffi import compat as _compat

_compat.fill_cffi_package(sys.modules[__name__])
