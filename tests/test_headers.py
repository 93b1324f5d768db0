"""ffi.cdef_header(): declarations from real headers (issue 18).

Layouts are checked against the C compiler for every struct and union a header
declares (tests/header_layouts.py); the GNU C dialect cases go through the system
preprocessor too, as source text given to cdef_header()."""
import os
import shutil
import textwrap

import pytest

from nffi import FFI, CDefError
from nffi import headers
from nffi.errors import PkgConfigError, VerificationError
import header_layouts

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None,
                                reason="needs the C compiler (Debian package: gcc)")

GLIBC_HEADERS = ["stdio.h", "stdlib.h", "string.h", "unistd.h", "fcntl.h", "sys/stat.h",
                 "sys/socket.h", "netdb.h", "pthread.h", "time.h", "signal.h", "dirent.h",
                 "math.h", "sys/mman.h", "poll.h", "termios.h"]

# (headers, the Debian package that installs them)
LIBRARY_HEADERS = [
    (["zlib.h"], "zlib1g-dev"), (["sqlite3.h"], "libsqlite3-dev"),
    (["curl/curl.h"], "libcurl4-openssl-dev"),
    (["openssl/ssl.h", "openssl/evp.h"], "libssl-dev"), (["png.h"], "libpng-dev"),
    (["expat.h"], "libexpat1-dev"), (["ffi.h"], "libffi-dev")]

# more real headers, beyond the list (each skipped when not installed)
MORE_HEADERS = [
    (["sys/epoll.h", "sys/inotify.h", "sys/signalfd.h", "sched.h", "spawn.h"], "libc6-dev"),
    (["linux/input.h", "linux/netlink.h", "linux/perf_event.h", "linux/bpf.h"],
     "linux-libc-dev"),
    (["X11/Xlib.h"], "libx11-dev"), (["gmp.h"], "libgmp-dev"), (["lzma.h"], "liblzma-dev"),
    (["bzlib.h"], "libbz2-dev"), (["stdio.h", "jpeglib.h"], "libjpeg-dev"),
    (["yaml.h"], "libyaml-dev"), (["ncurses.h"], "libncurses-dev"),
    (["gnutls/gnutls.h"], "libgnutls28-dev")]

# what may be skipped in these headers, by a word of the reason: va_list, _Float128,
# inline bodies and macros that are no constants
EXPECTED_SKIPS = ("macro", "inline function", "va_list", "_Float128")


def _source(names):
    return "".join("#include <%s>\n" % name for name in names)


def _header_missing(names):
    try:
        headers.preprocess(_source(names), headers._command((), (), (), (), ()))
    except CDefError:
        return True
    return False


def _unexpected_skips(ffi):
    return [str(s) for s in ffi.skipped_declarations()
            if not any(word in s.reason or word in s.name for word in EXPECTED_SKIPS)]


def _check_layouts(names):
    ffi = FFI()
    source = _source(names)
    ffi.cdef_header(source)
    wrong, count = header_layouts.compare(ffi, source)
    assert wrong == []
    assert count > 0
    return ffi


@pytest.mark.parametrize("name", GLIBC_HEADERS)
def test_glibc_header_layouts_match_the_compiler(name):
    ffi = _check_layouts([name])
    assert _unexpected_skips(ffi) == []


@pytest.mark.parametrize("names, package", LIBRARY_HEADERS,
                         ids=[" ".join(n) for n, _ in LIBRARY_HEADERS])
def test_library_header_layouts_match_the_compiler(names, package):
    if _header_missing(names):
        pytest.skip("needs the Debian package %s" % package)
    ffi = _check_layouts(names)
    unexpected = _unexpected_skips(ffi)
    # openssl's dispatch typedefs of va_list functions are named *_fn (their uses go too)
    assert [s for s in unexpected if "_fn'" not in s] == []


@pytest.mark.parametrize("names, package", MORE_HEADERS,
                         ids=[" ".join(n) for n, _ in MORE_HEADERS])
def test_more_header_layouts_match_the_compiler(names, package):
    if _header_missing(names):
        pytest.skip("needs the Debian package %s" % package)
    ffi = _check_layouts(names)
    assert _unexpected_skips(ffi) == []


def test_zlib_round_trip():
    if _header_missing(["zlib.h"]):
        pytest.skip("needs the Debian package zlib1g-dev")
    ffi = FFI()
    ffi.cdef_header("#include <zlib.h>", only=["compress*", "uncompress", "Z_*", "ZLIB_*"])
    lib = ffi.dlopen("z")
    data = b"nffi reads real headers " * 100
    bound = lib.compressBound(len(data))
    compressed = ffi.new("unsigned char[]", bound)
    size = ffi.new("uLongf *", bound)
    assert lib.compress(compressed, size, data, len(data)) == lib.Z_OK
    assert size[0] < len(data)
    out = ffi.new("unsigned char[]", len(data))
    out_size = ffi.new("uLongf *", len(data))
    assert lib.uncompress(out, out_size, compressed, size[0]) == lib.Z_OK
    assert ffi.buffer(out, out_size[0])[:] == data
    assert isinstance(lib.ZLIB_VERSION, bytes)
    assert "deflate" not in dir(lib)        # only= kept what was asked for
    # and the skipped list is about the names asked for too
    assert all(s.name.startswith(("compress", "uncompress", "Z_", "ZLIB_"))
               for s in ffi.skipped_declarations())


def test_api_mode_uses_the_header_declarations(tmp_path):
    import importlib.util
    if _header_missing(["zlib.h"]):
        pytest.skip("needs the Debian package zlib1g-dev")
    ffi = FFI()
    ffi.cdef_header("#include <stdio.h>\n#include <zlib.h>\n",
                    only=["fputs", "fileno", "stdout", "compress", "uncompress",
                          "compressBound", "zlibVersion", "Z_OK", "struct _IO_FILE",
                          "struct z_stream_s"])
    ffi.cdef("int twice(int);")         # a cdef after it sees its typedefs too
    name = "_nffi_headers_api_%d" % os.getpid()
    ffi.set_source(name, "#include <stdio.h>\n#include <zlib.h>\n"
                   "static int twice(int x) { return 2 * x; }\n", libraries=["z"])
    spec = importlib.util.spec_from_file_location(name, ffi.compile(tmpdir=str(tmp_path)))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    api, lib = module.ffi, module.lib
    assert api.string(lib.zlibVersion()) == ffi.string(ffi.dlopen("z").zlibVersion())
    data = b"header declarations " * 20
    size = api.new("uLongf *", lib.compressBound(len(data)))
    out = api.new("unsigned char[]", size[0])
    assert lib.compress(out, size, data, len(data)) == lib.Z_OK
    back = api.new("uLongf *", len(data))
    result = api.new("unsigned char[]", len(data))
    assert lib.uncompress(result, back, out, size[0]) == lib.Z_OK
    assert api.buffer(result, back[0])[:] == data
    assert api.sizeof("FILE") == ffi.sizeof("FILE") and lib.fileno(lib.stdout) == 1
    assert api.sizeof("struct z_stream_s") == ffi.sizeof("struct z_stream_s")
    assert lib.twice(21) == 42
    path = tmp_path / "out.txt"
    with open(path, "w") as f:
        assert lib.fputs(b"api mode\n", f) >= 0
    assert path.read_text() == "api mode\n"


def test_sqlite3_session():
    if _header_missing(["sqlite3.h"]):
        pytest.skip("needs the Debian package libsqlite3-dev")
    ffi = FFI()
    ffi.cdef_header("#include <sqlite3.h>", only=["sqlite3_*", "SQLITE_*"])
    lib = ffi.dlopen("sqlite3")
    db = ffi.new("sqlite3 **")
    assert lib.sqlite3_open(b":memory:", db) == lib.SQLITE_OK
    db = db[0]
    try:
        assert lib.sqlite3_exec(db, b"create table t (id integer, name text)",
                                ffi.NULL, ffi.NULL, ffi.NULL) == lib.SQLITE_OK
        stmt = ffi.new("sqlite3_stmt **")
        assert lib.sqlite3_prepare_v2(db, b"insert into t values (?, ?)", -1, stmt,
                                      ffi.NULL) == lib.SQLITE_OK
        for i, name in enumerate([b"one", b"two", b"three"]):
            lib.sqlite3_reset(stmt[0])
            assert lib.sqlite3_bind_int(stmt[0], 1, i) == lib.SQLITE_OK
            assert lib.sqlite3_bind_text(stmt[0], 2, name, -1, ffi.NULL) == lib.SQLITE_OK
            assert lib.sqlite3_step(stmt[0]) == lib.SQLITE_DONE
        lib.sqlite3_finalize(stmt[0])
        assert lib.sqlite3_prepare_v2(db, b"select id, name from t order by id", -1,
                                      stmt, ffi.NULL) == lib.SQLITE_OK
        rows = []
        while lib.sqlite3_step(stmt[0]) == lib.SQLITE_ROW:
            rows.append((lib.sqlite3_column_int(stmt[0], 0),
                         ffi.string(ffi.cast("char *", lib.sqlite3_column_text(stmt[0], 1)))))
        lib.sqlite3_finalize(stmt[0])
        assert rows == [(0, b"one"), (1, b"two"), (2, b"three")]
    finally:
        assert lib.sqlite3_close(db) == lib.SQLITE_OK


# ---- the GNU C dialect, checked against the compiler ------------------------------------

GNU_LAYOUTS = textwrap.dedent("""
    struct __attribute__((packed)) p1 { char c; long x __attribute__((aligned(8))); };
    #pragma pack(push, 2)
    struct p2 { char c; long x __attribute__((aligned(8))); int y; };
    #pragma pack(pop)
    struct p3 { char c; int x; } __attribute__((aligned(32)));
    struct p4 { char c; int x; } __attribute__((packed, aligned(2)));
    struct p5 { char c; int x __attribute__((packed)); short s; };
    typedef int aligned_int __attribute__((aligned(8)));
    struct p6 { char c; aligned_int x; };
    #pragma pack(1)
    struct p7 { char c; int x; } __attribute__((aligned(8)));
    #pragma pack()
    struct p8 { char c; _Alignas(16) int x; };
    typedef int qi __attribute__((mode(QI)));
    struct p9 { char c; qi x; __extension__ union { int a; double b; }; };
    typedef struct { long a; char b; } p10 __attribute__((aligned(32)));
    struct p11 { char pad[sizeof(struct p1) + sizeof(unsigned long)]; int n[(int) 3.0 == 3 ? 2 : 1]; };
    struct p12 { unsigned a : 3; unsigned long long b : 40; signed c : 7; int d[]; };
    _Static_assert(sizeof(int) == 4, "int");
    enum big { BIG = 0x100000000 };
    struct p13 { enum big e; char c; };
    struct bp1 { char a; int b : 30 __attribute__((packed)); char c; };
    struct bp2 { char a : 3; long long b : 62 __attribute__((packed)); int c : 9; };
    struct bp3 { char a; int b : 8 __attribute__((aligned(8))); char c; };
    struct bp5 { char a; int b : 4 __attribute__((aligned(4))); int c : 30; };
    #pragma pack(2)
    struct bp6 { char a; int b : 4 __attribute__((aligned(8))); char c; };
    #pragma pack()
    struct __attribute__((packed)) bp7 { char a; int b : 4 __attribute__((aligned(4))); char c; };
    union bp8 { char a; int b : 4 __attribute__((aligned(8))); };
    typedef int int_a16 __attribute__((aligned(16)));
    typedef int int_a2 __attribute__((aligned(2)));
    typedef int_a16 again_a16;
    typedef short short_a8 __attribute__((aligned(8)));
    typedef long long ll_a4 __attribute__((aligned(4)));
    typedef double double_a32 __attribute__((aligned(32)));
    typedef int_a16 int_a4 __attribute__((aligned(4)));
    struct at1 { char c; int_a16 x; };
    struct at2 { char c; int_a2 x; char d; };
    struct at3 { char c; again_a16 x; short t; };
    struct at4 { short_a8 a; char b; };
    struct at5 { char c; ll_a4 x; ll_a4 y[3]; };
    struct at6 { char c; double_a32 d; int_a2 e; };
    struct at7 { char c; int_a2 x __attribute__((aligned(8))); };
    struct __attribute__((packed)) at8 { char c; int_a16 x; };
    struct at9 { char c; int_a16 x : 5; char d; };
    union at10 { char c; short_a8 s; };
    struct at11 { char c; int_a4 x; };
    #pragma pack(2)
    struct at12 { char c; int_a16 x; };
    #pragma pack()
    struct at13 { char c; struct at2 inner; char pad[__alignof__(int_a16) + sizeof(int_a2)]; };
""").replace("(int) 3.0 == 3 ? 2 : 1", "(int) 2")


def test_gnu_layout_attributes_match_the_compiler():
    ffi = FFI()
    ffi.cdef_header(GNU_LAYOUTS)
    wrong, count = header_layouts.compare(ffi, GNU_LAYOUTS)
    assert wrong == []
    assert count >= 100
    assert ffi.sizeof("qi") == 1
    assert _unexpected_skips(ffi) == []


def test_aligned_typedefs_of_scalar_types():
    source = textwrap.dedent("""
        typedef int int_a16 __attribute__((aligned(16)));
        typedef int_a16 again_a16;
        typedef long long ll_a4 __attribute__((aligned(4)));
        #define ALIGN_A16 __alignof__(int_a16)
        #define ALIGN_AGAIN _Alignof(again_a16)
        #define ALIGN_LL_A4 __alignof__(ll_a4)
        #define SIZE_A16 sizeof(int_a16)
        #define SIZE_LL_A4_ARRAY sizeof(ll_a4[3])
    """)
    ffi = FFI()
    ffi.cdef_header(source)
    lib = ffi.dlopen(None)
    assert (lib.ALIGN_A16, lib.ALIGN_AGAIN, lib.ALIGN_LL_A4) == (16, 16, 4)
    assert (lib.SIZE_A16, lib.SIZE_LL_A4_ARRAY) == (4, 24)
    assert ffi.sizeof("int_a16") == 4 and ffi.typeof("int_a16") is ffi.typeof("int")
    # a later cdef's struct with a member of such a type is laid out as gcc does too
    ffi.cdef("struct later { char c; again_a16 x; ll_a4 y; };")
    assert [f.offset for _, f in ffi.typeof("struct later").fields] == [0, 16, 20]


def test_file_is_glibc_struct_and_takes_python_files(tmp_path):
    ffi = FFI()
    ffi.cdef_header("#include <stdio.h>", only=["fputs", "fflush", "fileno", "stdout",
                                                "struct _IO_FILE"])
    assert "_IO_FILE" not in [s.name for s in ffi.skipped_declarations()]
    file_type = ffi.typeof("FILE")
    assert file_type is ffi.typeof("struct _IO_FILE") and file_type.fields is not None
    assert "_flags" in dict(file_type.fields)
    wrong, count = header_layouts.compare(ffi, "#include <stdio.h>\n")
    assert wrong == [] and count > 20
    libc = ffi.dlopen(None)
    # a Python file for a 'FILE *' argument, as before
    path = tmp_path / "out.txt"
    with open(path, "w") as f:
        assert libc.fputs(b"through FILE\n", f) >= 0
        assert libc.fflush(f) == 0
    assert path.read_text() == "through FILE\n"
    # its fields are readable, and a FILE * mixes with the FILE * of other FFIs
    assert libc.fileno(libc.stdout) == 1 and libc.stdout._fileno == 1
    other = FFI()
    other.cdef("int fileno(FILE *);")
    assert other.dlopen(None).fileno(libc.stdout) == 1
    assert other.typeof("FILE").fields is None      # (the process-wide opaque FILE)
    assert ffi.cast("FILE *", other.cast("FILE *", 0)) == ffi.NULL


def test_more_gnu_spellings():
    source = textwrap.dedent("""
        typedef __signed__ char s8;
        typedef unsigned int u32 __attribute__((mode(SI)));
        struct uses_file { FILE *f; s8 c; _Float64 d; };
        int vla(int n, int a[n], int b[*], int c[static 4]);
        __extension__ typedef long long ll;
        static const int seven = 7;
        int with_register(register int x);
        typedef __typeof__(unsigned long *) ulong_pointer;
        typedef __typeof__(1 + 1) from_expression;
        extern __thread int per_thread;
        extern _Thread_local int per_thread2;
    """)
    ffi = FFI()
    ffi.cdef_header(source)
    assert ffi.typeof("s8") is ffi.typeof("signed char")
    assert ffi.typeof("u32") is ffi.typeof("unsigned int")
    assert ffi.typeof("struct uses_file").fields[2][1].type is ffi.typeof("double")
    args = ffi._model.resolve(ffi._model.functions["vla"].type, allow_function=True).args
    assert [a.cname for a in args] == ["int", "int *", "int *", "int *"]
    assert ffi.dlopen(None).seven == 7
    assert "with_register" in ffi._model.functions
    assert ffi.typeof("ulong_pointer") is ffi.typeof("unsigned long *")
    reasons = {s.name: s.reason for s in ffi.skipped_declarations()}
    assert "thread-local" in reasons["per_thread"]
    assert "thread-local" in reasons["per_thread2"]
    assert "of an expression" in reasons["from_expression"]


def test_python_h_layouts_match_the_compiler():
    import sysconfig
    include = sysconfig.get_paths()["include"]
    if not os.path.exists(os.path.join(include, "Python.h")):
        pytest.skip("needs Python.h (Debian package: python3-dev)")
    ffi = FFI()
    ffi.cdef_header("#include <Python.h>", include_dirs=[include])
    wrong, count = header_layouts.compare(ffi, "#include <Python.h>", ["-I" + include])
    assert wrong == [] and count > 500
    assert _unexpected_skips(ffi) == []


def test_transparent_union_parameters_take_the_first_member():
    # under _GNU_SOURCE, glibc declares bind(int, __CONST_SOCKADDR_ARG, socklen_t) with
    # a transparent union: callers pass a struct sockaddr *
    ffi = FFI()
    ffi.cdef_header("#define _GNU_SOURCE\n#include <sys/socket.h>\n"
                    "#include <netinet/in.h>\n#include <arpa/inet.h>\n#include <unistd.h>\n")
    bind = ffi._model.resolve(ffi._model.functions["bind"].type, allow_function=True)
    assert bind.args[1].cname == "struct sockaddr *"
    lib = ffi.dlopen(None)
    sock = lib.socket(lib.AF_INET, lib.SOCK_STREAM, 0)
    assert sock >= 0
    try:
        address = ffi.new("struct sockaddr_in *")
        address.sin_family = lib.AF_INET
        address.sin_addr.s_addr = lib.htonl(0x7F000001)
        assert lib.bind(sock, ffi.cast("struct sockaddr *", address),
                        ffi.sizeof(address[0])) == 0
        length = ffi.new("socklen_t *", ffi.sizeof(address[0]))
        assert lib.getsockname(sock, ffi.cast("struct sockaddr *", address), length) == 0
        assert lib.ntohs(address.sin_port) > 0
    finally:
        lib.close(sock)


def test_asm_symbol_names_are_looked_up():
    ffi = FFI()
    ffi.cdef_header("#include <stdio.h>", only=["sscanf"])
    assert ffi._model.functions["sscanf"].symbol == "__isoc99_sscanf"
    lib = ffi.dlopen(None)
    value = ffi.new("int *")
    assert lib.sscanf(b"42", b"%d", ffi.cast("int *", value)) == 1
    assert value[0] == 42


def test_macros_become_constants():
    ffi = FFI()
    ffi.cdef_header(textwrap.dedent("""
        #define ANSWER (40 + 2)
        #define NEGATIVE (-ANSWER)
        #define HALF 0.5f
        #define NAME "nffi" "!"
        #define SQUARE(x) ((x) * (x))
        #define CAST ((void *)0)
        enum { E1 = 3 };
        #define E1 E1
        int answer(void);
    """))
    lib = ffi.dlopen(None)
    assert (lib.ANSWER, lib.NEGATIVE, lib.HALF, lib.NAME, lib.E1) == (42, -42, 0.5,
                                                                    b"nffi!", 3)
    reasons = {s.name: s.reason for s in ffi.skipped_declarations()}
    assert reasons["SQUARE"] == "function-like macro"
    assert "no constant" in reasons["CAST"]
    assert "EOF" not in dir(lib)


def test_only_brings_what_kept_declarations_need():
    ffi = FFI()
    ffi.cdef_header(textwrap.dedent("""
        typedef struct inner { int a; } inner_t;
        struct outer { inner_t i; struct other *p; };
        typedef struct outer outer_t;
        int use(outer_t *o);
        int unrelated(void);
        #define USE_MAX 10
        #define OTHER 1
    """), only=["use*", "USE_*"])
    model = ffi._model
    assert set(model.functions) == {"use"}
    assert "USE_MAX" in model.constants and "OTHER" not in model.constants
    assert ffi.offsetof("outer_t", "p") == 8
    assert ffi.sizeof("inner_t") == 4
    ffi2 = FFI()
    ffi2.cdef_header("int f(void); int g(void); int fg(void);", exclude=["f*"])
    assert set(ffi2._model.functions) == {"g"}


def test_skipped_declarations_name_the_header_position(tmp_path):
    header = tmp_path / "mine.h"
    header.write_text("int ok(void);\n\n"
                      "typedef int v4si __attribute__((vector_size(16)));\n"
                      "v4si add(v4si a, v4si b);\n"
                      "static inline int twice(int x) { return 2 * x; }\n")
    ffi = FFI()
    ffi.cdef_header('#include "mine.h"', include_dirs=[str(tmp_path)])
    found = {s.name: s for s in ffi.skipped_declarations()}
    assert found["v4si"].position == headers.HeaderPosition(str(header), 3)
    assert "vector_size" in found["v4si"].reason
    assert found["add"].position.line == 4
    assert found["add"].reason.startswith("uses the type 'v4si', which is skipped (")
    assert "not a symbol" in found["twice"].reason
    assert str(found["twice"]).startswith("%s:5: twice:" % header)
    assert set(ffi._model.functions) == {"ok"}


def test_preprocessor_errors_are_clear(tmp_path):
    with pytest.raises(CDefError) as info:
        FFI().cdef_header("#include <no_such_header_nffi.h>")
    assert "no_such_header_nffi.h" in str(info.value)
    with pytest.raises(TypeError):
        FFI().cdef_header(b"#include <stdio.h>")


def test_define_macros_and_two_calls_agree():
    ffi = FFI()
    ffi.cdef_header("#ifdef WANT\nint wanted(void);\n#endif\n", define_macros=[("WANT", 1)])
    assert "wanted" in ffi._model.functions
    ffi.cdef_header("#include <stdio.h>")
    ffi.cdef_header("#include <stdlib.h>\n#include <stdio.h>")    # again, and more: fine
    source = "#include <stdlib.h>\n#include <stdio.h>\n"
    wrong, count = header_layouts.compare(ffi, source)
    assert wrong == [] and count > 100


def test_cache_on_disk_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("NFFI_CACHE_DIR", str(tmp_path))
    source = "struct cached { int a; char b; };\nint cached_f(struct cached *);\n"
    headers.clear_memory_caches()
    FFI().cdef_header(source)
    files = sorted(os.listdir(os.path.join(str(tmp_path), "headers")))
    assert sorted(name.rsplit(".", 1)[1] for name in files) == ["outcome", "pickle",
                                                                 "request"]
    # a later process: nothing in memory, and no preprocessor run
    headers.clear_memory_caches()
    monkeypatch.setattr(headers, "_run", _no_preprocessor)
    ffi = FFI()
    ffi.cdef_header(source)
    assert ffi.sizeof("struct cached") == 8 and "cached_f" in ffi._model.functions
    # into an FFI that declared something already: the parse result, still no run
    headers.clear_memory_caches()
    ffi = FFI()
    ffi.cdef("int other(void);")
    ffi.cdef_header(source)
    assert ffi.sizeof("struct cached") == 8


def _no_preprocessor(source, command):
    raise AssertionError("the preprocessor ran")


def _load_in_fresh_memory(source, **options):
    headers.clear_memory_caches()
    ffi = FFI()
    ffi.cdef_header(source, **options)
    return ffi


def test_cache_sees_a_changed_header(tmp_path, monkeypatch):
    monkeypatch.setenv("NFFI_CACHE_DIR", str(tmp_path / "cache"))
    header = tmp_path / "changing.h"
    header.write_text("struct changing { int a; };\n")
    source = '#include "%s"\n' % header
    assert _load_in_fresh_memory(source).sizeof("struct changing") == 4
    header.write_text("struct changing { long long a; };\n")
    assert _load_in_fresh_memory(source).sizeof("struct changing") == 8
    stat = os.stat(header)      # the same size, an other modification time
    header.write_text("struct changing { long long b; };\n")
    os.utime(header, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert _load_in_fresh_memory(source).typeof("struct changing").fields[0][0] == "b"


def test_cache_sees_changed_defines_and_include_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("NFFI_CACHE_DIR", str(tmp_path / "cache"))
    first, second, later = tmp_path / "first", tmp_path / "second", tmp_path / "later"
    first.mkdir()
    second.mkdir()
    (second / "nffi_shadowed.h").write_text("#define WHERE 2\nint from_second(void);\n")
    source = "#include <nffi_shadowed.h>\n#ifdef EXTRA\nint extra(void);\n#endif\n"

    def load(*dirs, **options):
        ffi = _load_in_fresh_memory(source, include_dirs=[str(d) for d in dirs],
                                    **options)
        return ffi.dlopen(None).WHERE, sorted(ffi._model.functions)

    assert load(first, second) == (2, ["from_second"])
    assert load(first, second, define_macros=["EXTRA"]) == (2, ["extra", "from_second"])
    assert load(first, second) == (2, ["from_second"])
    # a header added to an earlier directory of the search path shadows the one read
    (first / "nffi_shadowed.h").write_text("#define WHERE 1\nint from_first(void);\n")
    assert load(first, second) == (1, ["from_first"])
    assert load(second) == (2, ["from_second"])
    # a directory that did not exist, then does
    assert load(later, second) == (2, ["from_second"])
    later.mkdir()
    (later / "nffi_shadowed.h").write_text("#define WHERE 3\n")
    assert load(later, second) == (3, [])


def test_cache_of_another_nffi_version_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setenv("NFFI_CACHE_DIR", str(tmp_path))
    source = "struct versioned { int a; };\n"
    _load_in_fresh_memory(source)
    monkeypatch.setattr(headers, "_run", _no_preprocessor)
    _load_in_fresh_memory(source)                       # this version: cached
    monkeypatch.setattr(headers, "_version", "another nffi")
    with pytest.raises(AssertionError, match="the preprocessor ran"):
        _load_in_fresh_memory(source)


def test_damaged_cache_files_are_misses(tmp_path, monkeypatch):
    monkeypatch.setenv("NFFI_CACHE_DIR", str(tmp_path))
    source = "struct damaged { short a; };\n"
    _load_in_fresh_memory(source)
    directory = os.path.join(str(tmp_path), "headers")
    for name in os.listdir(directory):
        with open(os.path.join(directory, name), "wb") as f:
            f.write(b"not a pickle")
    assert _load_in_fresh_memory(source).sizeof("struct damaged") == 2


def test_preprocessor_options():
    source = ("#ifdef A\nint a_on(void);\n#endif\n#ifdef B\nint b_on(void);\n#endif\n"
              "#if C == 3\nint c_three(void);\n#endif\n")
    ffi = FFI()
    ffi.cdef_header(source, define_macros=["A", ("B", None), ("C", 3)], undef_macros=["A"])
    assert set(ffi._model.functions) == {"b_on", "c_three"}
    ffi = FFI()
    ffi.cdef_header(source, extra_args=["-DA"])
    assert set(ffi._model.functions) == {"a_on"}


def test_pkg_config():
    if shutil.which("pkg-config") is None:
        pytest.skip("needs pkg-config (Debian package: pkg-config)")
    if _header_missing(["zlib.h"]):
        pytest.skip("needs the Debian package zlib1g-dev")
    ffi = FFI()
    ffi.cdef_header("#include <zlib.h>", pkg_config=["zlib"], only=["zlibVersion"])
    assert ffi.string(ffi.dlopen("z").zlibVersion()).startswith(b"1.")
    with pytest.raises(PkgConfigError) as info:
        FFI().cdef_header("#include <zlib.h>", pkg_config=["no-such-package-nffi"])
    assert "no-such-package-nffi" in str(info.value)


def test_missing_compiler_names_the_package(monkeypatch):
    import sysconfig
    real = sysconfig.get_config_var
    monkeypatch.setattr(sysconfig, "get_config_var",
                        lambda name: "no-such-cc-nffi" if name == "CC" else real(name))
    with pytest.raises(VerificationError) as info:     # (a source no cache has seen)
        FFI().cdef_header("#include <stdio.h>\n/* %s */" % os.urandom(8).hex())
    assert "no-such-cc-nffi" in str(info.value) and "apt-get install gcc" in str(info.value)


def test_conflicts_with_earlier_declarations_are_skipped():
    ffi = FFI()
    ffi.cdef_header("enum e1 { A = 1 }; int f(int); struct s { int a; };\n#define M 1\n")
    ffi.cdef_header("enum e2 { A = 2, B = 3 }; long f(long); struct s { long a; };\n"
                    "#define M 2\nenum e3 { C = 4 };\n#define C 5\nint g(void);\n")
    lib = ffi.dlopen(None)
    assert (lib.A, lib.M, lib.C) == (1, 1, 4)
    assert "g" in ffi._model.functions
    assert ffi.sizeof("struct s") == 4
    reasons = {s.name: s.reason for s in ffi.skipped_declarations()}
    assert "already declared" in reasons["f"] and "already declared" in reasons["s"]
    assert "A" in reasons["e2"] and "enumerator" in reasons["C"]
