"""The flavour of an FFI object: a field of the native base, fixed at construction,
which selects the rules in which the FFI of compiled modules (cffi's, and nffi's API
mode) differs from cffi's FFI class.  The behaviour of each flavour is compared with
cffi's two FFI types."""
import _cffi_backend
import cffi
import pytest

import nffi
from nffi import _core
from nffi.compat import CompiledFFI


class APIModuleFFI(nffi.FFI):
    _nffi_flavour = _core.FLAVOUR_API_MODULE


def outcome(ffi, code):
    try:
        return "ok", eval(code, {"ffi": ffi})
    except Exception as e:      # the type of the error is what is compared
        error = getattr(ffi, "error", None)     # cffi's FFI class has none
        kind = "ffi.error" if error and isinstance(e, error) else type(e).__name__
        return "raise", kind


def test_flavour_is_fixed_at_construction():
    assert nffi.FFI()._flavour == _core.FLAVOUR_FFI
    assert CompiledFFI()._flavour == _core.FLAVOUR_CFFI_COMPILED
    assert APIModuleFFI()._flavour == _core.FLAVOUR_API_MODULE
    ffi = nffi.FFI()
    with pytest.raises(AttributeError):
        ffi._flavour = _core.FLAVOUR_CFFI_COMPILED
    ffi._nffi_compiled_flavour = True        # the old attribute means nothing any more
    with pytest.raises(ValueError, match="unknown size"):
        ffi.sizeof("void")
    with pytest.raises(ValueError, match="unknown FFI flavour"):
        _core.FFIBase(flavour=7)
    assert _core.FFIBase(flavour=_core.FLAVOUR_API_MODULE)._flavour == 2


CASES = ["ffi.sizeof('void')", "ffi.sizeof('struct nope')", "ffi.alignof(ffi.new('int *'))",
         "ffi.typeof('int[-1]')", "ffi.typeof('int[')", "ffi.typeof('struct nope *')",
         "ffi.typeof('struct { int a; } *')", "ffi.callback('int(', lambda: 0)",
         "ffi.callback('int(*)(struct { int a; })', lambda: 0)", "ffi.typeof('void[2]')",
         "ffi.new('int[-1]')"]


@pytest.mark.parametrize("code", CASES)
def test_each_flavour_follows_its_cffi_counterpart(code):
    plain = outcome(nffi.FFI(), code)
    assert plain[0] == outcome(cffi.FFI(), code)[0]
    if plain[0] == "raise":
        assert plain[1] == outcome(cffi.FFI(), code)[1]
    compiled = outcome(_cffi_backend.FFI(), code)
    assert outcome(CompiledFFI(), code)[0] == compiled[0]
    if compiled[0] == "raise":
        assert outcome(CompiledFFI(), code)[1] == compiled[1]
        # API mode's ffi is cffi's compiled one too
        assert outcome(APIModuleFFI(), code)[1] == compiled[1]


@pytest.mark.parametrize("text", [
    "", "]", "*", "int ]**", "char char", "int(int]", "int(*]", "int(]", "int[?]",
    "int[24)", "struct", "struct 24", "int a(*)", "struct struct", "struct nope",
    "union nope", "foo_t", "int[5", "int(*)(int", "unsigned struct", "_Complex",
    "X" * 501, "\t\n\x01\x1f~\x7f\x80\xff", "int *(", "int)", "int(*)(int,)", "enum",
    "enum nope",
])
def test_bad_type_strings_of_the_compiled_flavour_read_as_cffis(text):
    """The FFI of compiled modules words bad type strings as cffi's does (its users
    and cffi's own tests read them): the message, the string, a caret."""
    with pytest.raises(_cffi_backend.FFI.error) as expected:
        _cffi_backend.FFI().typeof(text)
    ffi = CompiledFFI()
    with pytest.raises(ffi.error) as got:
        ffi.typeof(text)
    assert str(got.value) == str(expected.value)
