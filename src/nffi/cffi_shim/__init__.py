"""A directory that holds a package named ``cffi``: nffi standing in for cffi.

nffi.compat.install() imports ``cffi_shim/cffi`` as ``cffi``.  A fresh interpreter that
has this directory on its path (a build started by a test, a subprocess) gets nffi by
``import cffi`` too.  Nothing here is imported unless asked for.
"""
