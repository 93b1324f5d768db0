"""nffi in place of the ``cffi`` distribution: ``python -m nffi.compat provide-cffi``,
``unprovide-cffi`` and ``check``.

Packages that require cffi (``install_requires``, ``setup_requires``, ``[build-system]
requires``) make pip install the real cffi.  ``provide-cffi`` records, as metadata only,
that nffi provides it in an environment: it writes into site-packages

* ``cffi-<version>.dist-info/`` (METADATA naming cffi <version>, INSTALLER ``nffi``,
  RECORD), so that pip and importlib.metadata see cffi as installed;
* ``nffi-provides-cffi.pth``: one line, the path of nffi's ``cffi_shim`` directory,
  which Python appends to ``sys.path`` at start-up (no code runs): ``import cffi`` and
  ``import _cffi_backend`` then find nffi's stand-ins when no real cffi is installed.

RECORD lists these files only, so ``pip uninstall cffi`` or ``unprovide-cffi`` removes
exactly them.  A real cffi already installed is never touched (provide-cffi refuses).

``check`` reports what ``import cffi`` and ``import _cffi_backend`` give, and every
shared object named ``_cffi_backend*`` on ``sys.path`` (nffi ships none; a real one
loaded by mistake is what this finds).
"""
import base64
import hashlib
import importlib.machinery
import importlib.util
import os
import shutil
import sys
import sysconfig

from .compat import CFFI_VERSION, SHIM_DIR

__all__ = ["provide", "unprovide", "check", "real_backends"]

PTH_NAME = "nffi-provides-cffi.pth"
INSTALLER = "nffi\n"


def _site_packages(target):
    return target or sysconfig.get_path("purelib")


def _dist_infos(site):
    try:
        names = os.listdir(site)
    except OSError:
        return []
    return [os.path.join(site, n) for n in names
            if n.lower().startswith("cffi-") and n.endswith(".dist-info")]


def _ours(dist_info):
    try:
        with open(os.path.join(dist_info, "INSTALLER")) as f:
            return f.read() == INSTALLER
    except OSError:
        return False


def _record_line(site, path):
    with open(path, "rb") as f:
        data = f.read()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (os.path.relpath(path, site), digest, len(data))


def provide(target=None, version=CFFI_VERSION):
    """Write the metadata (see the module docstring) into site-packages 'target'
    (default: this interpreter's); returns the dist-info directory."""
    site = _site_packages(target)
    for existing in _dist_infos(site):
        if not _ours(existing):
            raise RuntimeError("a real cffi is installed in %s (%s): uninstall it first "
                               "(pip uninstall cffi)" % (site, os.path.basename(existing)))
        unprovide(target)
    dist_info = os.path.join(site, "cffi-%s.dist-info" % version)
    os.makedirs(dist_info)
    files = {
        "METADATA": "Metadata-Version: 2.1\nName: cffi\nVersion: %s\nSummary: provided "
                    "by nffi (metadata only: python -m nffi.compat unprovide-cffi "
                    "removes it)\n" % version,
        "INSTALLER": INSTALLER,
    }
    written = []
    for name, text in files.items():
        path = os.path.join(dist_info, name)
        with open(path, "w") as f:
            f.write(text)
        written.append(path)
    pth = os.path.join(site, PTH_NAME)
    with open(pth, "w") as f:
        f.write(SHIM_DIR + "\n")
    written.append(pth)
    record = os.path.join(dist_info, "RECORD")
    with open(record, "w") as f:
        for path in written:
            f.write(_record_line(site, path) + "\n")
        f.write("%s,,\n" % os.path.relpath(record, site))
    return dist_info


def unprovide(target=None):
    """Remove what provide() wrote; returns the paths removed (none: nothing to do)."""
    site = _site_packages(target)
    removed = []
    for dist_info in _dist_infos(site):
        if _ours(dist_info):
            shutil.rmtree(dist_info)
            removed.append(dist_info)
    pth = os.path.join(site, PTH_NAME)
    if removed and os.path.exists(pth):
        os.unlink(pth)
        removed.append(pth)
    return removed


def real_backends(path=None):
    """The files named _cffi_backend<extension suffix> on the path (nffi ships none)."""
    found = []
    for directory in sys.path if path is None else path:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            candidate = os.path.join(directory or ".", "_cffi_backend" + suffix)
            if os.path.isfile(candidate):
                found.append(os.path.abspath(candidate))
    return found


def check(out=sys.stdout):
    """Print what 'import cffi' and 'import _cffi_backend' resolve to and any real
    _cffi_backend on the path; returns 0, or 1 when a real _cffi_backend is loaded in
    this process while nffi.compat is installed."""
    status = 0
    for name in ("cffi", "_cffi_backend"):
        module = sys.modules.get(name)
        if module is not None:
            where = "loaded: %s" % ("nffi" if getattr(module, "nffi", False)
                                    else getattr(module, "__file__", "?"))
        else:
            spec = importlib.util.find_spec(name)
            where = "would import %s" % (spec.origin if spec else "nothing (not found)")
        print("%s: %s" % (name, where), file=out)
    backend = sys.modules.get("_cffi_backend")
    if backend is not None and not getattr(backend, "nffi", False) and \
            getattr(sys.modules.get("cffi"), "nffi", False):
        print("ERROR: a real _cffi_backend (%s) is loaded together with nffi.compat"
              % getattr(backend, "__file__", "?"), file=out)
        status = 1
    for path in real_backends():
        print("real _cffi_backend on sys.path: %s" % path, file=out)
    return status
