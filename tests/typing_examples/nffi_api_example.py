"""A typed program using nffi's own API: tests/test_typing.py checks that mypy --strict
accepts it (and that it runs)."""
from nffi import FFI, CDefError, FFIError, LibraryClosedError, error

ffi = FFI()
ffi.cdef("struct pt { int x, y; }; int abs(int); size_t strlen(const char *);")
lib = ffi.dlopen(None)
p = ffi.new("struct pt *", {"x": 1, "y": 2})
p.x = 5
total: int = p.x + p.y
arr = ffi.new("int[10]")
arr[3] = 7
n: int = ffi.sizeof("struct pt") + ffi.alignof("int") + ffi.offsetof("struct pt", "y")
ct = ffi.typeof(p)
kind: str = ct.kind
name: str = ct.cname
s = ffi.string(ffi.new("char[]", b"hi"))
buf = ffi.buffer(arr)
raw: bytes = buf[:]
q = ffi.cast("int *", 0)
h = ffi.new_handle(object())
obj = ffi.from_handle(h)
cb = ffi.callback("int(int)", lambda v: v)
types: tuple[list[str], list[str], list[str]] = ffi.list_types()
try:
    ffi.cdef("bad")
except CDefError as e:
    where = (e.line, e.column)
except (FFIError, LibraryClosedError, error):
    pass
print(total, n, kind, name, s, raw, q, obj, cb, types, lib.abs(-3))
