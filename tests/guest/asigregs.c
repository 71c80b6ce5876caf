/* asigregs.c - a storm of timer signals while loops keep many values in
 * registers (a few, more than the translator can keep resident, floating
 * point): every result must equal the one computed without signals, so an
 * interrupt that loses or misplaces a register shows.  A handler that
 * itself uses many registers makes a missed save visible.  Portable:
 * compared with qemu-riscv64 and the native build. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static volatile sig_atomic_t ticks;
static volatile unsigned long sink;

static void on_alarm(int sig)
{
    /* busy with registers of its own */
    unsigned long a = (unsigned long)sig, b = a * 3, c = b ^ 0x55, d = c + a, e = d * b;
    for (int i = 0; i < 20; i++) {
        a += e;
        b ^= a >> 3;
        c -= b;
        d += c * 7;
        e ^= d << 1;
    }
    sink = a + b + c + d + e;
    ticks++;
}

static __attribute__((noipa)) unsigned long few(unsigned long n)
{
    unsigned long a = 1, b = 2, c = 3, d = 4;
    for (unsigned long i = 0; i < n; i++) {
        a = a * 6364136223846793005ul + b;
        b ^= a >> 17;
        c += b | 1;
        d = (d << 5) ^ (d >> 3) ^ c;
    }
    return a ^ b ^ c ^ d;
}

static __attribute__((noipa)) unsigned long many(unsigned long n)
{
    unsigned long v0 = 1, v1 = 2, v2 = 3, v3 = 4, v4 = 5, v5 = 6, v6 = 7, v7 = 8;
    unsigned long v8 = 9, v9 = 10, v10 = 11, v11 = 12, v12 = 13, v13 = 14;
    for (unsigned long i = 0; i < n; i++) {
        v0 += v13 ^ i;
        v1 ^= v0 * 3;
        v2 += v1 >> 2;
        v3 ^= v2 + 5;
        v4 += v3 * 7;
        v5 ^= v4 >> 3;
        v6 += v5 | 9;
        v7 ^= v6 * 11;
        v8 += v7 >> 4;
        v9 ^= v8 + 13;
        v10 += v9 * 15;
        v11 ^= v10 >> 5;
        v12 += v11 | 17;
        v13 ^= v12 * 19;
    }
    return v0 ^ v1 ^ v2 ^ v3 ^ v4 ^ v5 ^ v6 ^ v7 ^ v8 ^ v9 ^ v10 ^ v11 ^ v12 ^ v13;
}

static __attribute__((noipa)) double fp(unsigned long n)
{
    double x = 1.0, y = 0.5, z = 0.25, w = 2.0, s = 0.0;
    for (unsigned long i = 0; i < n; i++) {
        x = x * 0.999 + y;
        y = y * 0.5 + z * 0.125;
        z = z + w * 1e-9;
        w = w * 1.0000001;
        s += x - y;
    }
    return s + x + y + z + w;
}

static void storm(int on)
{
    struct itimerval it = { { 0, on ? 100 : 0 }, { 0, on ? 100 : 0 } };
    setitimer(ITIMER_REAL, &it, NULL);
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    const unsigned long n = 3000000;
    unsigned long want_few = few(n), want_many = many(n);
    double want_fp = fp(n);
    int bad = 0;
    storm(1);
    for (int round = 0; round < 4; round++) {
        bad += few(n) != want_few;
        bad += many(n) != want_many;
        bad += fp(n) != want_fp;
    }
    storm(0);
    printf("few %lx many %lx\n", want_few, want_many);
    printf("results under a signal storm: %s\n", bad ? "WRONG" : "all right");
    printf("signals arrived: %s\n", ticks > 0 ? "yes" : "no");
    return bad != 0;
}
