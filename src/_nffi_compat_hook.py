"""NFFI_COMPAT at interpreter start-up: nffi-compat.pth imports this module, which puts a
finder on ``sys.meta_path`` that installs nffi.compat the first time the program imports
``cffi`` or ``_cffi_backend``. A program that never imports them pays for this small
module only, not for nffi.

It lives outside the nffi package on purpose: importing ``nffi._anything`` would run
nffi/__init__.py (the core, the FFI class) at every interpreter start.
"""
import sys

COMPAT_NAMES = frozenset({"cffi", "_cffi_backend"})


class _InstalledModuleLoader:
    """Loads a name that nffi.compat.install() has just put into sys.modules: the
    import statement that triggered the finder receives that module."""

    @staticmethod
    def create_module(spec):
        return sys.modules[spec.name]

    @staticmethod
    def exec_module(module):
        pass


class CompatFinder:
    """A meta-path finder that answers for cffi and _cffi_backend only, once: it
    removes itself, installs nffi.compat, and hands out the module compat made."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name not in COMPAT_NAMES:
            return None
        remove_finder()
        import nffi.compat
        nffi.compat.install()
        from importlib.machinery import ModuleSpec
        return ModuleSpec(name, _InstalledModuleLoader, origin="nffi.compat")


def install_finder():
    """Put CompatFinder first on sys.meta_path (once), or install nffi.compat at once
    if cffi was imported already."""
    if any(name in sys.modules for name in COMPAT_NAMES):
        import nffi.compat
        nffi.compat.install()
    elif CompatFinder not in sys.meta_path:
        sys.meta_path.insert(0, CompatFinder)


def remove_finder():
    """Take CompatFinder off sys.meta_path (it answers once)."""
    try:
        sys.meta_path.remove(CompatFinder)
    except ValueError:        # another thread's import got here first
        pass
