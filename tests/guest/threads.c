/* threads.c - guest threads: pthread_create/join, atomic read-modify-
 * write (AMOs) and compare-and-swap loops (LR/SC) from several threads on
 * shared counters, a mutex, a condition variable, thread-local storage.
 * Every total is exact only if the atomics are atomic across threads.
 * Portable: compared with qemu-riscv64 and the native build. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#define THREADS 4
#define ITERS 200000

static _Atomic long amo_counter;
static _Atomic uint32_t cas_counter;
static long locked_counter;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int arrived;
static __thread long tls_value;

static void *worker(void *arg)
{
    long id = (long)arg;
    tls_value = id * 1000;
    for (int i = 0; i < ITERS; i++) {
        atomic_fetch_add(&amo_counter, 1);
        uint32_t old = atomic_load(&cas_counter);
        while (!atomic_compare_exchange_weak(&cas_counter, &old, old + 2))
            ;
        if ((i & 1023) == 0) {
            pthread_mutex_lock(&lock);
            locked_counter += id;
            pthread_mutex_unlock(&lock);
        }
        tls_value++;
    }
    pthread_mutex_lock(&lock);
    arrived++;
    pthread_cond_broadcast(&cond);
    while (arrived < THREADS)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    return (void *)(tls_value - id * 1000);
}

int main(void)
{
    pthread_t th[THREADS];
    for (long i = 0; i < THREADS; i++)
        if (pthread_create(&th[i], NULL, worker, (void *)(i + 1)) != 0) {
            printf("pthread_create failed\n");
            return 1;
        }
    long sum = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(th[i], &r);
        sum += (long)r;
    }
    printf("amo %ld cas %u locked %ld tls %ld\n", (long)amo_counter, (unsigned)cas_counter,
           locked_counter, sum);
    return 0;
}
