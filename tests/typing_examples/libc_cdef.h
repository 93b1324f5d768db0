#define LIMIT 42
enum color { RED, GREEN = 5 };
struct pt { int x, y; };
typedef int (*cmp_t)(const void *, const void *);
int abs(int);
size_t strlen(const char *);
double ldexp(double, int);
int snprintf(char *, size_t, const char *, ...);
void qsort(void *, size_t, size_t, cmp_t);
char *getenv(const char *);
int atoi(const char *);
extern char **environ;
