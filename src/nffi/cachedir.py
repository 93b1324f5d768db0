"""Where nffi keeps what it caches between processes (kept out of nffi.build, whose
imports a later process loading cached headers should not pay for)."""
import os


def cache_dir(kind):
    """nffi's cache directory for one kind of thing ("build-stamps", "eci", "headers"):
    $NFFI_CACHE_DIR/kind, else <$XDG_CACHE_HOME or ~/.cache>/nffi/kind."""
    base = os.environ.get("NFFI_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "nffi")
    return os.path.join(base, kind)
