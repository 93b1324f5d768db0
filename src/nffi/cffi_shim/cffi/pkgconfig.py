"""cffi.pkgconfig under nffi.compat: nffi.pkgconfig, the same module object."""
import sys

import nffi.pkgconfig

sys.modules[__name__] = nffi.pkgconfig
