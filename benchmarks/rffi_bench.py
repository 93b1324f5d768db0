"""The rffi front end against nffi's own FFI path on the same C functions.

    PYTHONPATH=src python benchmarks/rffi_bench.py [--only SUBSTRING] [--quick]

One row per kind of rffi operation (issue 14): an llexternal call of a scalar function
and of a CCHARP function given bytes, a struct field read/write through a Ptr, string
helpers, raw malloc+free (tracked and untracked), a callback (qsort).  Each row is timed
round-robin against the same operation through ``nffi.FFI`` (timing.py), and the ratio
rffi / ffi is printed with the target where issue 14 gives one (llexternal call <= 1.2,
field access <= 1.2).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from timing import Bench, Settings, format_ns, measure  # noqa: E402

import nffi  # noqa: E402
from nffi import lltype, rffi  # noqa: E402


def rows():
    ffi = nffi.FFI()
    ffi.cdef("""int abs(int); size_t strlen(const char *); struct pt { long x, y; };
                void qsort(void *, size_t, size_t, int (*)(const void *, const void *));
                void *malloc(size_t); void free(void *);""")
    libc = ffi.dlopen(None)
    c_abs = rffi.llexternal("abs", [rffi.INT], rffi.INT)
    c_strlen = rffi.llexternal("strlen", [rffi.CCHARP], rffi.SIZE_T)
    c_strlen_const = rffi.llexternal("strlen", [rffi.CONST_CCHARP], rffi.SIZE_T)
    PT = rffi.CStruct("pt", ("x", rffi.LONG), ("y", rffi.LONG))
    p = lltype.malloc(PT, zero=True)
    cp = ffi.new("struct pt *")
    CMP = rffi.CCallback([rffi.VOIDP, rffi.VOIDP], rffi.INT)
    qsort = rffi.llexternal("qsort", [rffi.VOIDP, rffi.SIZE_T, rffi.SIZE_T, CMP],
                            lltype.Void)
    arr = lltype.malloc(rffi.INTP.TO, 100)
    carr = ffi.new("int[100]")
    INTP = rffi.INTP

    def rcmp(a, b):
        return rffi.cast(INTP, a)[0] - rffi.cast(INTP, b)[0]

    @ffi.callback("int(const void *, const void *)")
    def ccmp(a, b):
        return ffi.cast("int *", a)[0] - ffi.cast("int *", b)[0]

    def fill():
        for i in range(100):
            arr[i] = rffi.cast(rffi.INT, (i * 37) % 101)
            carr[i] = (i * 37) % 101
    INTP_ = rffi.INTP
    s = rffi.str2charp(b"hello world, this is a string")
    cs = ffi.new("char[]", b"hello world, this is a string")
    vp = rffi.cast(rffi.VOIDP, arr)
    return [
        ("call abs(int)", 1.2, Bench("f(-5)", f=c_abs, unroll=10),
         Bench("f(-5)", f=libc.abs, unroll=10)),
        ("call strlen(bytes) CCHARP (a copy)", 1.2, Bench("f(b'hello')", f=c_strlen, unroll=10),
         Bench("f(b'hello')", f=libc.strlen, unroll=10)),
        ("call strlen(bytes) CONST_CCHARP", 1.2,
         Bench("f(b'hello')", f=c_strlen_const, unroll=10),
         Bench("f(b'hello')", f=libc.strlen, unroll=10)),
        ("field read p.x", 1.2, Bench("p.c_x", p=p, unroll=10), Bench("p.x", p=cp, unroll=10)),
        ("field write p.x = v", 1.2, Bench("p.c_x = 5", p=p, unroll=10),
         Bench("p.x = 5", p=cp, unroll=10)),
        ("array item read a[i]", None, Bench("a[7]", a=arr, unroll=10),
         Bench("a[7]", a=carr, unroll=10)),
        ("cast VOIDP -> INTP", None, Bench("cast(T, p)", cast=rffi.cast, T=INTP_, p=vp),
         Bench("cast('int *', p)", cast=ffi.cast, p=ffi.cast("void *", carr))),
        ("str2charp + free_charp", None,
         Bench("free(s2c(b'hello world'))", s2c=rffi.str2charp, free=rffi.free_charp),
         Bench("ffi.new('char[]', b'hello world')", ffi=ffi)),
        ("charp2str", None, Bench("c2s(s)", c2s=rffi.charp2str, s=s),
         Bench("ffi.string(s)", ffi=ffi, s=cs)),
        ("malloc+free untracked", None,
         Bench("free(malloc(PT, track_allocation=False), track_allocation=False)",
               malloc=lltype.malloc, free=lltype.free, PT=PT),
         Bench("free(malloc(16))", malloc=libc.malloc, free=libc.free)),
        ("malloc+free tracked", None,
         Bench(func=_tracked(PT)),
         Bench("free(malloc(16))", malloc=libc.malloc, free=libc.free)),
        ("qsort 100 ints, Python comparator", None,
         Bench("fill(); q(vp, 100, 4, cmp)", fill=fill, q=qsort, vp=vp, cmp=rcmp),
         Bench("fill(); q(a, 100, 4, cmp)", fill=fill, q=libc.qsort, a=carr, cmp=ccmp)),
    ]


def _tracked(PT):
    def run():
        lltype.free(lltype.malloc(PT))
    return run


def report(settings, only=None):
    """Time the rows (those whose name contains ``only``) and print the table."""
    print("rffi front end against nffi's own ffi path (median per operation; ratio = "
          "rffi / ffi)")
    print("%-38s %12s %12s %7s %7s" % ("operation", "rffi", "nffi ffi", "ratio", "target"))
    for name, target, rbench, fbench in rows():
        if only and only.lower() not in name.lower():
            continue
        tracked = "tracked" in name and "untracked" not in name
        prev = lltype.start_tracking_allocations() if tracked else None
        try:
            res = measure({"rffi": rbench, "ffi": fbench}, settings)
        finally:
            if tracked:
                lltype.stop_tracking_allocations(False, prev)
        r, f = res["rffi"], res["ffi"]
        if not hasattr(r, "median") or not hasattr(f, "median"):
            print("%-38s failed: %s %s" % (name, r, f))
            continue
        ratio = r.median / f.median if f.median > 0 else float("inf")
        print("%-38s %12s %12s %6.2fx %7s" % (name, format_ns(r.median), format_ns(f.median),
                                              ratio, "<= %.1f" % target if target else ""))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    report(Settings(samples=7 if args.quick else 31), args.only)


if __name__ == "__main__":
    main()
