/* testlib.c -- the C library tests/test_calls.py calls through nffi and cffi.
 *
 * Compiled at test time with `cc -shared -fPIC` (cached by source hash).  Covers every
 * primitive argument/result type, many arguments, structs by value, variadic functions,
 * callbacks (also from threads C starts), errno and global variables.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <uchar.h>
#include <wchar.h>

/* ---- every primitive type: identity and a small arithmetic ---------------------- */

#define PRIM(name, T)                                                  \
    T id_##name(T x) { return x; }                                     \
    T add_##name(T a, T b) { return (T)(a + b); }

PRIM(schar, signed char)
PRIM(uchar, unsigned char)
PRIM(short, short)
PRIM(ushort, unsigned short)
PRIM(int, int)
PRIM(uint, unsigned int)
PRIM(long, long)
PRIM(ulong, unsigned long)
PRIM(llong, long long)
PRIM(ullong, unsigned long long)
PRIM(int8, int8_t)
PRIM(uint8, uint8_t)
PRIM(int16, int16_t)
PRIM(uint16, uint16_t)
PRIM(int32, int32_t)
PRIM(uint32, uint32_t)
PRIM(int64, int64_t)
PRIM(uint64, uint64_t)
PRIM(size, size_t)
PRIM(ssize, ssize_t)
PRIM(intptr, intptr_t)
PRIM(float, float)
PRIM(double, double)
PRIM(ldouble, long double)

_Bool id_bool(_Bool x) { return x; }
_Bool not_bool(_Bool x) { return !x; }
char id_char(char x) { return x; }
char next_char(char x) { return (char)(x + 1); }
wchar_t id_wchar(wchar_t x) { return x; }
char16_t id_char16(char16_t x) { return x; }
char32_t id_char32(char32_t x) { return x; }
char16_t next_char16(char16_t x) { return (char16_t)(x + 1); }
char32_t next_char32(char32_t x) { return x + 1; }

enum color { RED, GREEN = 5, BLUE };
enum color next_color(enum color c) { return c == RED ? GREEN : BLUE; }

/* ---- many arguments --------------------------------------------------------------- */

long sum6l(long a, long b, long c, long d, long e, long f)
{
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f;
}

double sum3d(double a, double b, double c) { return a + 2 * b + 3 * c; }

double mixed(int a, double b, int c, float d, long long e, double f)
{
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f;
}

/* beyond the registers: spills to the stack */
double many_args(int i1, double d1, int i2, double d2, int i3, double d3, int i4,
                 double d4, int i5, double d5, int i6, double d6, int i7, double d7,
                 int i8, double d8, int i9, double d9, int i10, double d10)
{
    return i1 + 2 * d1 + 3 * i2 + 4 * d2 + 5 * i3 + 6 * d3 + 7 * i4 + 8 * d4 + 9 * i5
        + 10 * d5 + 11 * i6 + 12 * d6 + 13 * i7 + 14 * d7 + 15 * i8 + 16 * d8
        + 17 * i9 + 18 * d9 + 19 * i10 + 20 * d10;
}

long double ld_mix(int a, long double b, double c, long double d)
{
    return a + 2 * b + 3 * c + 4 * d;
}

void do_nothing(void) { }

/* ---- structs by value -------------------------------------------------------------- */

struct small { int x, y; };
struct large { long a, b, c, d, e; };
struct fl { float f; double d; };
struct ff3 { float a, b, c; };
struct three { unsigned char a, b, c; };
struct nested { struct small s; double d; char tag[3]; };
struct bf { int a : 3; int b : 5; };
struct ldbl { long double x; int tag; };
union iu { int i; float f; };

struct small small_make(int x, int y) { struct small s = { x, y }; return s; }
struct small small_add(struct small a, struct small b)
{
    struct small s = { a.x + b.x, a.y + b.y };
    return s;
}
int small_sum(struct small s) { return s.x * 10 + s.y; }
int small_sum_p(struct small *s) { return s->x * 10 + s->y; }

struct large large_make(long base)
{
    struct large s = { base, base + 1, base + 2, base + 3, base + 4 };
    return s;
}
long large_sum(struct large s) { return s.a + 2 * s.b + 3 * s.c + 4 * s.d + 5 * s.e; }

struct fl fl_scale(struct fl s, double k) { s.f = (float)(s.f * k); s.d *= k; return s; }
struct ff3 ff3_rot(struct ff3 s) { struct ff3 r = { s.b, s.c, s.a }; return r; }
struct three three_make(void) { struct three t = { 12, 34, 56 }; return t; }
int three_sum(struct three t) { return t.a + t.b * 2 + t.c * 3; }

struct nested nested_make(int x, int y, double d)
{
    struct nested n = { { x, y }, d, "ab" };
    return n;
}
double nested_sum(struct nested n) { return n.s.x + n.s.y + n.d + n.tag[0]; }

struct bf bf_make(void) { struct bf b = { 1, 2 }; return b; }
int bf_sum(struct bf b) { return b.a + b.b; }
struct ldbl ldbl_make(long double x) { struct ldbl s = { x, 7 }; return s; }
int iu_get(union iu u) { return u.i; }

void modify_small(struct small s) { s.x = s.y = 500; (void)s; }

struct big { char data[5000]; int tail; };
struct big big_make(int tail) { struct big b; memset(&b, 'x', sizeof(b)); b.tail = tail; return b; }
int big_check(struct big b, int k) { return b.data[0] + b.data[4999] + b.tail * k; }

struct anon { int a; struct { char b; double c; }; short d; };
double anon_sum(struct anon s) { return s.a + s.b + s.c + s.d; }
struct anon anon_make(int a) { struct anon s = { a, { 2, 0.5 }, -1 }; return s; }

/* ---- pointers, strings, arrays ------------------------------------------------------ */

size_t my_strlen(const char *s) { return strlen(s); }
size_t my_ustrlen(const unsigned char *s) { return strlen((const char *)s); }
size_t my_vstrlen(const void *s) { return strlen((const char *)s); }
size_t my_wcslen(const wchar_t *s) { return wcslen(s); }
size_t my_c16len(const char16_t *s) { size_t n = 0; while (s[n]) n++; return n; }
int sum_ints(const int *a, int n) { int s = 0; for (int i = 0; i < n; i++) s += a[i]; return s; }
double sum_doubles(const double *a, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += a[i];
    return s;
}
int sum_points(const struct small *p, int n)
{
    int s = 0;
    for (int i = 0; i < n; i++) s += p[i].x * 10 + p[i].y;
    return s;
}
void fill_ints(int *a, int n) { for (int i = 0; i < n; i++) a[i] = i * i; }
int count_strings(char **argv) { int n = 0; while (argv[n]) n++; return n; }
const char *greeting(void) { return "hello, world"; }
void *null_pointer(void) { return NULL; }
int *int_pointer(void) { static int x = 99; return &x; }
int write_to(FILE *f, const char *s) { return fputs(s, f); }

/* ---- variadic ------------------------------------------------------------------------ */

long sum_va_long(int n, ...)
{
    va_list ap;
    long s = 0;
    va_start(ap, n);
    for (int i = 0; i < n; i++) s += va_arg(ap, long);
    va_end(ap);
    return s;
}

double sum_va_double(int n, ...)
{
    va_list ap;
    double s = 0;
    va_start(ap, n);
    for (int i = 0; i < n; i++) s += va_arg(ap, double);
    va_end(ap);
    return s;
}

/* 'i' int, 'l' long, 'd' double, 's' string, 'p' struct small by value */
int va_format(char *buf, size_t size, const char *spec, ...)
{
    va_list ap;
    size_t pos = 0;
    va_start(ap, spec);
    for (const char *c = spec; *c && pos < size; c++) {
        int k = 0;
        switch (*c) {
        case 'i': k = snprintf(buf + pos, size - pos, "%d;", va_arg(ap, int)); break;
        case 'l': k = snprintf(buf + pos, size - pos, "%ld;", va_arg(ap, long)); break;
        case 'd': k = snprintf(buf + pos, size - pos, "%g;", va_arg(ap, double)); break;
        case 's': k = snprintf(buf + pos, size - pos, "%s;", va_arg(ap, char *)); break;
        case 'p': {
            struct small s = va_arg(ap, struct small);
            k = snprintf(buf + pos, size - pos, "(%d,%d);", s.x, s.y);
            break;
        }
        }
        pos += (size_t)k;
    }
    va_end(ap);
    return (int)pos;
}

/* ---- callbacks ----------------------------------------------------------------------- */

int call_int_cb(int (*cb)(int), int x) { return cb(x) * 2; }
double call_double_cb(double (*cb)(double, double), double a, double b) { return cb(a, b); }
struct small call_struct_cb(struct small (*cb)(struct small, int), struct small s)
{
    return cb(s, 3);
}
int call_large_cb(long (*cb)(struct large), long base) { return (int)cb(large_make(base)); }
void call_void_cb(void (*cb)(int), int n) { for (int i = 0; i < n; i++) cb(i); }
int call_char_cb(char (*cb)(char), char c) { return cb(c); }
int call_short_cb(short (*cb)(short), short x) { return cb(x); }
unsigned int call_uchar_cb(unsigned char (*cb)(unsigned char), unsigned char x) { return cb(x); }
int call_bool_cb(_Bool (*cb)(int), int x) { return cb(x) ? 1 : 0; }
long double call_ld_cb(long double (*cb)(long double), long double x) { return cb(x); }
float call_float_cb(float (*cb)(float), float x) { return cb(x); }
const char *call_ptr_cb(const char *(*cb)(void)) { return cb(); }
int call_errno_cb(void (*cb)(void)) { errno = 77; cb(); return errno; }

struct thread_arg { int (*cb)(int); int base, count; long total; };

static void *thread_main(void *p)
{
    struct thread_arg *a = p;
    for (int i = 0; i < a->count; i++)
        a->total += a->cb(a->base + i);
    return NULL;
}

/* nthreads threads (at most 16) each call cb(base + i) count times; the sum of results */
long run_threads(int nthreads, int count, int (*cb)(int))
{
    pthread_t threads[16];
    struct thread_arg args[16];
    long total = 0;
    if (nthreads > 16) nthreads = 16;
    for (int t = 0; t < nthreads; t++) {
        args[t].cb = cb;
        args[t].base = t * 1000;
        args[t].count = count;
        args[t].total = 0;
        pthread_create(&threads[t], NULL, thread_main, &args[t]);
    }
    for (int t = 0; t < nthreads; t++) {
        pthread_join(threads[t], NULL);
        total += args[t].total;
    }
    return total;
}

/* ---- errno ---------------------------------------------------------------------------- */

int set_errno(int value) { errno = value; return -1; }
int get_errno(void) { return errno; }

/* ---- globals --------------------------------------------------------------------------- */

int g_int = 42;
double g_double = 2.5;
long long g_llong = -1234567890123LL;
unsigned char g_uchar = 200;
char g_str[16] = "hello";
int g_array[5] = { 1, 2, 3, 4, 5 };
struct small g_small = { 3, 4 };
int *g_ptr = &g_int;
const char *g_name = "testlib";
int (*g_fn)(int) = id_int;
_Bool g_bool = 1;
float g_float = 1.5f;

int read_g_int(void) { return g_int; }
int read_g_small(void) { return g_small.x * 10 + g_small.y; }
