"""nffi.cbuild.ExternalCompilationInfo: fields, merge, flag parsing, the header, compiling.

Ports the untranslated checks of RPython's test_cbuild.py that rffi-api.md keeps.
"""
import io
import os
import shutil
import stat
import subprocess

import pytest

from nffi import rffi
from nffi.cbuild import CompilationError, ExternalCompilationInfo as ECI


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NFFI_CACHE_DIR", str(tmp_path / "cache"))


def test_fields_are_tuples_and_checked():
    e = ECI(includes=["a.h"], libraries=("m",))
    assert e.includes == ("a.h",) and e.libraries == ("m",)
    with pytest.raises(TypeError):
        ECI(includes="x.h")
    with pytest.raises(AttributeError):
        e.includes = ()
    assert e == ECI(includes=("a.h",), libraries=["m"])
    assert hash(e) == hash(ECI(includes=("a.h",), libraries=["m"]))
    assert e != ECI(includes=["a.h"])
    assert "includes=('a.h',)" in repr(e)


def test_merge():
    e1 = ECI(includes=["x.h"], pre_include_bits=["1"], compile_extra=["-a"])
    e2 = ECI(includes=["x.h", "y.h"], compile_extra=["-a", "-b"])
    e3 = ECI(includes=["y.h", "z.h"], use_cpp_linker=True)
    m = e1.merge(e2, e3)
    assert m.includes == ("x.h", "y.h", "z.h")
    assert m.compile_extra == ("-a", "-a", "-b")
    assert m.use_cpp_linker
    assert e1.includes == ("x.h",)            # operands unchanged
    assert e1.merge(e3, e3) == e1.merge(e3)
    assert e1.merge(e1).compile_extra == ("-a", "-a")


def test_from_compiler_flags():
    e = ECI.from_compiler_flags("-I/inc -DFOO -DBAR=2 -D_XOPEN_SOURCE=600 -O2 -pthread")
    assert e.include_dirs == ("/inc",)
    assert e.pre_include_bits == ("#define FOO 1", "#define BAR 2")
    assert e.compile_extra == ("-O2", "-pthread")
    with pytest.raises(ValueError, match="linker flag found in compiler options"):
        ECI.from_compiler_flags("-lm")


def test_from_linker_flags():
    e = ECI.from_linker_flags("-L/lib -lfoo -Wl,-rpath,/x")
    assert e.library_dirs == ("/lib",) and e.libraries == ("foo",)
    assert e.link_extra == ("-Wl,-rpath,/x",)
    with pytest.raises(ValueError):
        ECI.from_linker_flags("-I/inc")


def test_from_config_tool(tmp_path, monkeypatch):
    tool = tmp_path / "fake-config"
    tool.write_text("#!/bin/sh\ncase $1 in --cflags) echo -I/opt/inc -DX;; "
                    "--libs) echo -L/opt/lib -lfake;; esac\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ["PATH"])
    e = ECI.from_config_tool("fake-config")
    assert e.include_dirs == ("/opt/inc",) and e.libraries == ("fake",)
    assert e.pre_include_bits == ("#define X 1",)
    with pytest.raises(ImportError, match="cannot find"):
        ECI.from_config_tool("no-such-config-tool-nffi")


def test_from_pkg_config():
    with pytest.raises(TypeError):
        ECI.from_pkg_config(b"zlib")
    with pytest.raises(ImportError, match="pkg-config no_such_pkg_nffi --exists"):
        ECI.from_pkg_config("no_such_pkg_nffi")
    if shutil.which("pkg-config") is None or subprocess.run(
            ["pkg-config", "zlib", "--exists"]).returncode != 0:
        pytest.skip("zlib's pkg-config file is not installed")
    assert "z" in ECI.from_pkg_config("zlib").libraries


def test_write_c_header():
    e = ECI(pre_include_bits=["#define A 1"], includes=["stdio.h"],
            post_include_bits=["int f(void);"])
    out = io.StringIO()
    e.write_c_header(out)
    text = out.getvalue()
    assert "typedef long Signed;" in text and "RPY_EXTERN" in text
    assert text.index("#define A 1") < text.index("#include <stdio.h>") < \
        text.index("int f(void);")


def test_sources_are_separate_files():
    e = ECI(post_include_bits=["int shared(void);"], separate_module_sources=[
        "static int helper(void) { return 1; } int shared(void) { return helper() + 1; }",
        "static int helper(void) { return 10; } int other(void) { return shared() + helper(); }"])
    other = rffi.llexternal("other", [], rffi.INT, compilation_info=e)
    assert other() == 12


def test_compile_shared_lib(tmp_path):
    e = ECI(separate_module_sources=["int seven(void) { return 7; }"])
    lib = e.compile_shared_lib()
    assert lib.separate_module_sources == () and os.path.isabs(lib.libraries[0])
    assert os.path.exists(lib.libraries[0])
    assert e.compile_shared_lib() == lib                # cached
    assert ECI().compile_shared_lib() == ECI()
    named = e.compile_shared_lib(outputfilename=str(tmp_path / "mylib"))
    assert named.libraries[0] == str(tmp_path / "mylib.so")
    seven = rffi.llexternal("seven", [], rffi.INT, compilation_info=named)
    assert seven() == 7


def test_separate_module_files_and_conversion(tmp_path):
    c_file = tmp_path / "f.c"
    c_file.write_text("int from_file(void) { return 5; }\n")
    e = ECI(separate_module_files=[str(c_file)],
            separate_module_sources=["RPY_EXTERN int from_source(void) { return 6; }"])
    conv = e.convert_sources_to_files(cache_dir=tmp_path / "out")
    assert conv.separate_module_sources == ()
    assert conv.separate_module_files[0] == str(c_file)
    assert conv.separate_module_files[1].endswith("module_0.c")
    f = rffi.llexternal("from_file", [], rffi.INT, compilation_info=conv)
    g = rffi.llexternal("from_source", [], rffi.INT, compilation_info=conv)
    assert f() + g() == 11
    files, rest = e.get_module_files()
    assert files == (str(c_file),) and rest.separate_module_files == ()
    assert e.copy_without("separate_module_sources").separate_module_sources == ()


def test_compilation_error():
    e = ECI(separate_module_sources=["int f(void) { return nope; }"])
    with pytest.raises(CompilationError) as info:
        e.compile_shared_lib()
    assert "nope" in str(info.value) and "nope" in info.value.err


def test_cache_is_on_disk(tmp_path):
    e = ECI(separate_module_sources=["int cached_fn(void) { return 1; }"])
    path = e.compile_shared_lib().libraries[0]
    assert path.startswith(os.environ["NFFI_CACHE_DIR"])
