"""Compare the layouts cdef_header() gives with the C compiler's, for every struct and
union a header declares (used by tests/test_headers*.py).

compare(ffi, source) generates one C program that includes the same headers and prints
sizeof and _Alignof of every struct/union the FFI declared and offsetof every named,
non-bit-field member (members of anonymous members included); it returns the list of
disagreements (empty when nffi and the compiler agree on everything) and the number
of facts compared."""
import os
import subprocess
import sysconfig
import tempfile


def _c_name(kind, tag):
    if tag.startswith("$"):
        rest = tag[1:]
        return None if rest.isdigit() else rest     # '$foo_t': 'typedef struct {} foo_t'
    return "%s %s" % (kind, tag)


def facts(ffi):
    """(C expression, nffi's value) for every fact to check."""
    model = ffi._model
    out = []
    for (kind, tag), decl in sorted(model.struct_defs.items()):
        if decl.fields is None:
            continue
        cname = _c_name(kind, tag)
        if cname is None:
            continue
        try:
            ct = ffi.typeof(cname)
        except Exception as e:          # declared but not usable: a disagreement too
            out.append(("sizeof(%s)" % cname, "unusable: %s" % e))
            continue
        out.append(("sizeof(%s)" % cname, ffi.sizeof(ct)))
        out.append(("_Alignof(%s)" % cname, ffi.alignof(ct)))
        for name, field in ct.fields or ():
            if field.bitsize >= 0 or not name:
                continue
            out.append(("__builtin_offsetof(%s, %s)" % (cname, name), field.offset))
    return out


def compare(ffi, source, extra_args=()):
    checks = facts(ffi)
    lines = [source, "#include <stdio.h>", "int main(void) {"]
    for expression, _ in checks:
        lines.append('    printf("%%lu\\n", (unsigned long)(%s));' % expression)
    lines.append("    return 0;\n}\n")
    with tempfile.TemporaryDirectory() as directory:
        c_file = os.path.join(directory, "layouts.c")
        exe = os.path.join(directory, "layouts")
        with open(c_file, "w") as f:
            f.write("\n".join(lines))
        cc = (sysconfig.get_config_var("CC") or "cc").split()
        subprocess.run(cc + ["-w", c_file, "-o", exe] + list(extra_args), check=True)
        output = subprocess.run([exe], capture_output=True, text=True,
                                check=True).stdout.split()
    wrong = [(expression, ours, int(theirs))
             for (expression, ours), theirs in zip(checks, output) if ours != int(theirs)]
    return wrong, len(checks)
