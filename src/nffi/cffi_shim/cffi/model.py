"""cffi.model under nffi.compat, as far as code outside cffi reads it: PrimitiveType's
table of primitive names and their categories ('i' integer, 'f' float, 'c' char, 'j'
complex), from nffi's primitive table (cffi's test_verify reads it)."""
from nffi import primitives

_CATEGORIES = {"char": "c", "wchar": "c", "char16": "c", "char32": "c",
               "float": "f", "longdouble": "f", "complex": "j"}
_COMPLEX_NAMES = {"float _Complex": "_cffi_float_complex_t",
                  "double _Complex": "_cffi_double_complex_t"}


class PrimitiveType:
    ALL_PRIMITIVE_TYPES = {_COMPLEX_NAMES.get(row.name, row.name):
                           _CATEGORIES.get(row.kind, "i") for row in primitives.PRIMITIVES}

    def __init__(self, name):
        self.name = name

    def is_char_type(self):
        return self.ALL_PRIMITIVE_TYPES[self.name] == "c"

    def is_integer_type(self):
        return self.ALL_PRIMITIVE_TYPES[self.name] == "i"

    def is_float_type(self):
        return self.ALL_PRIMITIVE_TYPES[self.name] == "f"

    def is_complex_type(self):
        return self.ALL_PRIMITIVE_TYPES[self.name] == "j"
