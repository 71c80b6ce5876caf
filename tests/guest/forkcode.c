/* forkcode.c - after fork, parent and child each run code neither ran
 * before, in a fixed order: the parent first (and keeps using it), then the
 * child (a lot of it), then the parent again.  A translator whose code
 * cache the two processes still share after fork hands the parent the
 * child's translations (or jumps patched by the child): wrong results or a
 * crash.  Portable: compared with qemu-riscv64 and the native build. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Many small distinct functions: each is new code to translate. */
#define F(n)                                                            \
    static __attribute__((noinline)) unsigned long f##n(unsigned long x) \
    {                                                                   \
        for (int i = 0; i < 3; i++)                                     \
            x = x * (2 * n + 3) + (x >> (n % 7 + 1)) + n;               \
        return x;                                                       \
    }
#define F10(n) F(n##0) F(n##1) F(n##2) F(n##3) F(n##4) F(n##5) F(n##6) F(n##7) F(n##8) F(n##9)
F10(1) F10(2) F10(3) F10(4) F10(5) F10(6) F10(7) F10(8) F10(9)

#define C(n) x = f##n(x);
#define C10(n) C(n##0) C(n##1) C(n##2) C(n##3) C(n##4) C(n##5) C(n##6) C(n##7) C(n##8) C(n##9)

/* The parent's post-fork code. */
static __attribute__((noinline)) unsigned long parent_work(unsigned long x)
{
    C10(1) C10(2) C10(3)
    return x;
}

/* The child's post-fork code: more of it than the parent's. */
static __attribute__((noinline)) unsigned long child_work(unsigned long x)
{
    C10(9) C10(8) C10(7) C10(6) C10(5) C10(4)
    return x;
}

int main(void)
{
    int go[2];
    if (pipe(go) < 0)
        return 1;
    for (int round = 0; round < 3; round++) {
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        char c;
        if (pid == 0) {
            close(go[1]);       /* a parent that dies must not leave us waiting */
            if (read(go[0], &c, 1) != 1)
                _exit(2);
            unsigned long x = child_work(round);
            _exit((int)(x & 0x7f));
        }
        unsigned long a = parent_work(round + 100);
        if (write(go[1], "g", 1) != 1)
            return 1;
        int status = 0;
        if (waitpid(pid, &status, 0) != pid)
            return 1;
        unsigned long b = parent_work(round + 100);
        printf("round %d: parent %lx again %s, child exit %d\n", round, a,
               a == b ? "same" : "DIFFERENT", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    return 0;
}
