"""cffi.setuptools_ext under nffi.compat: nffi.setuptools_ext, the same module object
(cffi's 'cffi_modules' entry point lands here when cffi is nffi)."""
import sys

import nffi.setuptools_ext

sys.modules[__name__] = nffi.setuptools_ext
