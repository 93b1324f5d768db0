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

/* Globals: read and written through lib.gx / lib.gpt. */
int gx = 3;
struct pt gpt = { 1, 2 };

/* Calls cb(i) for i in 0..n-1 and sums the results: n entries from C into Python. */
int call_n(int (*cb)(int), int n)
{
    int total = 0;
    for (int i = 0; i < n; i++)
        total += cb(i);
    return total;
}

/* qsort with the comparator type of cffi's documentation ('void *' arguments). */
#include <stdlib.h>
void qsort_v(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    qsort(base, n, size, cmp);
}
