"""cffi.verifier under nffi.compat: nffi.verifier, the same module object."""
import sys

import nffi.verifier

sys.modules[__name__] = nffi.verifier
