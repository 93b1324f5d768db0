"""Builds nffi._core, the native core, against the system libffi."""
import glob
import os
import subprocess
import sysconfig

from setuptools import Extension, setup


def libffi_flags():
    """Include and library flags for libffi, or a clear failure naming the package."""
    try:
        cflags = subprocess.run(["pkg-config", "--cflags", "libffi"], capture_output=True,
                                text=True, check=True).stdout.split()
        libs = subprocess.run(["pkg-config", "--libs", "libffi"], capture_output=True,
                              text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        cflags, libs = [], ["-lffi"]
    include_dirs = [f[2:] for f in cflags if f.startswith("-I")]
    candidates = include_dirs + ["/usr/include", "/usr/local/include"]
    multiarch = sysconfig.get_config_var("MULTIARCH")
    if multiarch:
        candidates.append(os.path.join("/usr/include", multiarch))
    if not any(os.path.exists(os.path.join(d, "ffi.h")) for d in candidates):
        raise SystemExit(
            "nffi: libffi's header ffi.h was not found. Install it first: on Debian/Ubuntu "
            "'apt-get install libffi-dev' (Fedora: libffi-devel), then retry.")
    libraries = [f[2:] for f in libs if f.startswith("-l")] or ["ffi"]
    library_dirs = [f[2:] for f in libs if f.startswith("-L")]
    return include_dirs, libraries, library_dirs


include_dirs, libraries, library_dirs = libffi_flags()
# hidden visibility: only PyInit__core is exported, so calls between the core's files
# are direct instead of going through the PLT
extra_compile_args = ["-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter",
                      "-Wno-missing-field-initializers", "-Wno-cast-function-type"]
extra_link_args = []
if os.environ.get("NFFI_SANITIZE"):
    extra_compile_args += ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1", "-g"]
    extra_link_args += ["-fsanitize=address,undefined"]

core = Extension(
    "nffi._core",
    sources=sorted(glob.glob("src/nffi/_core/*.c")),
    depends=glob.glob("src/nffi/_core/*.h"),
    include_dirs=include_dirs,
    libraries=libraries + ["dl"],
    library_dirs=library_dirs,
    extra_compile_args=extra_compile_args,
    extra_link_args=extra_link_args,
)

setup(ext_modules=[core])
