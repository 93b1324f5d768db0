"""_cffi_backend, as nffi stands in for it: a Python module (nffi ships no shared object
of this name) that installs nffi.compat, which puts nffi's backend in its place in
sys.modules.  Found only when this directory is on the path (provide-cffi's .pth file,
or a test that puts it there) and no real cffi comes first."""
from nffi import compat as _compat

_compat.install()
