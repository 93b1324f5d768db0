/* Tiny C library called by the nffi benchmarks.
 *
 * ABI mode (nffi, cffi ABI, ctypes): compiled by benchmarks/run.py with
 *     cc -O2 -shared -fPIC _benchlib.c -o <cache>/_benchlib-<hash>.so
 * API mode (cffi API): the same text is embedded in the cffi extension module.
 */

struct pt { int x, y; };

long add6(long a, long b, long c, long d, long e, long f)
{
    return a + b + c + d + e + f;
}

double add3d(double a, double b, double c)
{
    return a + b + c;
}

struct pt mkpt(int x, int y)
{
    struct pt p;
    p.x = x;
    p.y = y;
    return p;
}

int sumpt(struct pt p)
{
    return p.x + p.y;
}
