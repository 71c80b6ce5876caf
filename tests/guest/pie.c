/* pie.c - a freestanding static-PIE program (Debian's cross toolchain has
 * no rcrt1.o for glibc static-PIE): _start reads argc/argv/auxv from the
 * initial stack the loader built and reports them through write(2). */
#include <stddef.h>

static long sys3(long nr, long a, long b, long c)
{
    register long a7 __asm__("a7") = nr;
    register long a0 __asm__("a0") = a;
    register long a1 __asm__("a1") = b;
    register long a2 __asm__("a2") = c;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a7), "r"(a1), "r"(a2) : "memory");
    return a0;
}

static size_t slen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static void puts1(const char *s)
{
    sys3(64, 1, (long)s, (long)slen(s));
}

static void putnum(unsigned long v)
{
    char b[24];
    int i = 23;
    b[i] = 0;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    puts1(b + i);
}

void cstart(unsigned long *sp);
void cstart(unsigned long *sp)
{
    unsigned long argc = sp[0];
    char **argv = (char **)(sp + 1);
    char **envp = argv + argc + 1;
    while (*envp)
        envp++;
    unsigned long *aux = (unsigned long *)(envp + 1);
    unsigned long pagesz = 0, phent = 0, entry_set = 0, random_set = 0;
    for (; aux[0]; aux += 2) {
        if (aux[0] == 6) pagesz = aux[1];
        if (aux[0] == 4) phent = aux[1];
        if (aux[0] == 9) entry_set = aux[1] == (unsigned long)&cstart || aux[1] != 0;
        if (aux[0] == 25) random_set = aux[1] != 0;
    }
    puts1("pie: argc=");
    putnum(argc);
    puts1(" argv1=");
    puts1(argc > 1 ? argv[1] : "-");
    puts1(" pagesz=");
    putnum(pagesz);
    puts1(" phent=");
    putnum(phent);
    puts1(" entry=");
    putnum(entry_set);
    puts1(" random=");
    putnum(random_set);
    puts1("\n");
    sys3(94, 7, 0, 0);
}

__asm__(".globl _start\n_start:\n  mv a0, sp\n  call cstart\n");
