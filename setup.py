"""Builds nffi._core, the native core, against the system libffi, and installs
nffi-compat.pth (NFFI_COMPAT=1 runs any interpreter with nffi.compat installed)."""
import glob
import os
import subprocess
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_py import build_py


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
# -Werror=implicit-function-declaration: a private CPython function that a newer Python
# removed would otherwise only warn here and fail at import time (undefined symbol)
extra_compile_args = ["-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter",
                      "-Wno-missing-field-initializers", "-Wno-cast-function-type",
                      "-Werror=implicit-function-declaration"]
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

# nffi-compat.pth goes at the root of site-packages: Python runs its one line at start-up;
# it imports nothing unless NFFI_COMPAT is set (see nffi/compat.py).
PTH_NAME = "nffi-compat.pth"
PTH_SOURCE = os.path.join("src", PTH_NAME)


class build_py_with_pth(build_py):
    """Regular builds (wheels): the .pth file at the root of the build, which is where
    site-packages is when the wheel is installed."""

    def run(self):
        super().run()
        if not getattr(self, "editable_mode", False):
            self.copy_file(PTH_SOURCE, os.path.join(self.build_lib, PTH_NAME),
                           preserve_mode=0)


cmdclass = {"build_py": build_py_with_pth}

try:
    from setuptools.command.editable_wheel import editable_wheel
except ImportError:        # setuptools < 64: no PEP 660 editable wheels
    editable_wheel = None

if editable_wheel is not None:
    class editable_wheel_with_pth(editable_wheel):
        """pip install -e: setuptools builds an 'editable' wheel holding only its own
        .pth file (build outputs are not copied into it), so add ours to that wheel."""

        def run(self):
            super().run()
            wheels = glob.glob(os.path.join(str(self.dist_dir), "*.whl"))
            if not wheels:
                raise SystemExit("nffi: editable wheel not found in %s" % self.dist_dir)
            add_to_wheel(max(wheels, key=os.path.getmtime), PTH_SOURCE, PTH_NAME)

    cmdclass["editable_wheel"] = editable_wheel_with_pth


def add_to_wheel(wheel_path, source, name):
    """Rewrite a wheel with one more file at its root (and a RECORD listing it)."""
    from wheel.wheelfile import WheelFile
    with WheelFile(wheel_path) as old:
        entries = [(info, old.read(info)) for info in old.infolist()
                   if not info.filename.endswith(".dist-info/RECORD")]
    with WheelFile(wheel_path, "w") as new:
        for info, data in entries:
            new.writestr(info, data)
        new.write(source, name)


setup(ext_modules=[core], cmdclass=cmdclass)
