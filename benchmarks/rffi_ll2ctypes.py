"""The rffi rows timed with timeit, runnable on nffi (Python 3) and on RPython's untranslated
ll2ctypes (Python 2.7 with the 'rpython' package), to give ll2ctypes' figures for scale:

    PYTHONPATH=src python benchmarks/rffi_ll2ctypes.py
    ~/.pyenv/versions/2.7.18/bin/python benchmarks/rffi_ll2ctypes.py    # pip install rpython

Each figure is the best of 5 repeats, in ns per operation (ll2ctypes runs 1/1000 of
the loop counts: it is that much slower).
"""
from __future__ import print_function

import timeit

try:
    from nffi import lltype, rffi
    from nffi.cbuild import ExternalCompilationInfo
    WHO = "nffi"
except ImportError:
    from rpython.rtyper.lltypesystem import lltype, rffi
    from rpython.rtyper.annlowlevel import llhelper  # noqa: F401
    from rpython.translator.tool.cbuild import ExternalCompilationInfo
    WHO = "ll2ctypes"

c_abs = rffi.llexternal("abs", [rffi.INT], rffi.INT)
c_strlen = rffi.llexternal("strlen", [rffi.CCHARP], rffi.SIZE_T,
                           compilation_info=ExternalCompilationInfo(includes=["string.h"]))
PT = rffi.CStruct("pt", ("x", rffi.LONG), ("y", rffi.LONG))
p = lltype.malloc(PT, flavor="raw")
p.c_x = 0
CMP = rffi.CCallback([rffi.VOIDP, rffi.VOIDP], rffi.INT)
qsort = rffi.llexternal("qsort", [rffi.VOIDP, rffi.SIZE_T, rffi.SIZE_T, CMP], lltype.Void)
arr = lltype.malloc(rffi.INTP.TO, 100, flavor="raw", zero=True)
s = rffi.str2charp(b"hello world, this is a string")


def rcmp(a, b):
    return rffi.cast(rffi.INT, rffi.cast(rffi.INTP, a)[0] - rffi.cast(rffi.INTP, b)[0])


def sort():
    for i in range(100):
        arr[i] = rffi.cast(rffi.INT, (i * 37) % 101)
    qsort(rffi.cast(rffi.VOIDP, arr), 100, 4, rcmp)


def malloc_free():
    lltype.free(lltype.malloc(PT, flavor="raw"), flavor="raw")


def s2c():
    rffi.free_charp(rffi.str2charp(b"hello world"))


ROWS = [
    ("call abs(int)", "c_abs(-5)", 20000),
    ("call strlen(bytes)", "c_strlen(b'hello')", 20000),
    ("field read p.c_x", "p.c_x", 20000),
    ("field write p.c_x = 5", "p.c_x = 5", 20000),
    ("array item read a[7]", "arr[7]", 20000),
    ("str2charp + free_charp", "s2c()", 5000),
    ("charp2str", "rffi.charp2str(s)", 20000),
    ("malloc + free (struct)", "malloc_free()", 5000),
    ("qsort 100 ints, Python comparator", "sort()", 10),
]

if __name__ == "__main__":
    print("%s:" % WHO)
    for name, stmt, n in ROWS:
        if WHO == "ll2ctypes":          # ~1000x slower: fewer runs
            n = max(2, n // 1000)
        setup = "from __main__ import c_abs, c_strlen, p, arr, s, rffi, s2c, malloc_free, sort"
        best = min(timeit.Timer(stmt, setup=setup).repeat(5, n))
        print("  %-36s %12.0f ns" % (name, best / n * 1e9))
