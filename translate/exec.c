/* exec.c - translation blocks, their cache, and the execution loop. */
#include <config.h>

#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "exec.h"
#include "i18n.h"
#include "prog.h"
#include "log.h"
#include "loop.h"
#include "trace/translate.h"

#define TR_CODE_CACHE_SIZE (64u << 20)
#define TR_PAGE_HASH_BITS 14
#define TR_BLOCK_ROOM (96u << 10)      /* a block never needs more */


/* Per-thread state of the loop, for the fault handler. */
struct tr_thread {
    struct tr *tr;
    struct cpu *cpu;
    sigjmp_buf jb;
    sigjmp_buf *jbp;        /* where a fault goes: &jb or a nested one */
    volatile int in_helper;
    volatile int armed;
    volatile int smc;           /* the fault was a write to translated code */
    struct tr_slot *slot;       /* in tr_global's slots, once it ran code */
};
static __thread struct tr_thread tr_self;

static struct tr *tr_global;    /* for fault lookup; one translator per process */

/* EMU_PERF_MAP=1: describe every block in /tmp/perf-PID.map, so that
 * `perf report` names translated code by guest pc. */
static void tr_perf_map(const struct tb *tb)
{
    static FILE *fp;
    static int state;           /* 0 unknown, 1 on, -1 off */
    if (state == 0) {
        const char *e = getenv("EMU_PERF_MAP");
        state = e && *e && strcmp(e, "0") != 0 ? 1 : -1;
        if (state > 0) {
            char name[64];
            snprintf(name, sizeof(name), "/tmp/perf-%d.map", (int)getpid());
            fp = fopen(name, "w");
            if (!fp)
                state = -1;
        }
    }
    if (state < 0)
        return;
    fprintf(fp, "%" PRIxPTR " %x guest_0x%" PRIx64 "\n", (uintptr_t)tb->code, tb->code_size, tb->pc);
    fflush(fp);
}

int tr_new(struct tr **out, const struct tr_frontend *fe, const struct tr_backend *be,
           enum tr_mode mode, uint64_t features, tr_fetch_fn fetch, void *opaque,
           struct error **errp)
{
    struct tr *tr = calloc(1, sizeof(*tr));
    if (!tr)
        return err_set(errp, ENOMEM, _("out of memory"));
    tr->fe = fe;
    tr->be = be;
    tr->mode = mode;
    tr->features = features;
    tr->fetch = fetch;
    tr->fetch_opaque = opaque;
    tr->max_insns = fe->max_insns;
    tr->fork_fd = -1;
    /* -d exec wants to see every block: no direct jumps between blocks */
    tr->no_chain = mode == TR_MODE_COMPARE || log_on(LOG_EXEC);
    tr->hash = calloc((size_t)1 << TR_HASH_BITS, sizeof(*tr->hash));
    tr->irb = malloc(sizeof(*tr->irb));
    tr->ref = malloc(sizeof(*tr->ref));
    if (!tr->hash || !tr->irb || !tr->ref) {
        tr_free(tr);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    int r = tr_code_cache_init(tr, TR_CODE_CACHE_SIZE, errp);
    if (r < 0) {
        tr_free(tr);
        return r;
    }
    r = be->gen_prologue(tr, tr->rw, tr->rx, 4096);
    if (r < 0) {
        tr_free(tr);
        return err_set(errp, -r, "code cache prologue");
    }
    tr->prologue_size = tr->used = ALIGN_UP((size_t)r, 64);
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&tr->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    tr_global = tr;
    *out = tr;
    return 0;
}

/* Blocks' arrays come from chunks, not one malloc each: translation made
 * up to six calls per block, and a flush as many frees (a tenth of a
 * Debian boot's time went to malloc).  All go at the flush: the chunks
 * are reused from the first one. */
#define TR_CHUNK_SIZE (1u << 20)
struct tr_chunk {
    struct tr_chunk *next;
    uint8_t data[];
};

void *tr_alloc(struct tr *tr, size_t n)
{
    n = ALIGN_UP(n ? n : 1, 16);
    if (n > TR_CHUNK_SIZE)
        return NULL;
    if (!tr->meta_cur || tr->meta_used + n > TR_CHUNK_SIZE) {
        struct tr_chunk *c = tr->meta_cur ? tr->meta_cur->next : tr->meta_head;
        if (!c) {
            /* chunks of a generation given back (tr_reclaim_gens) first */
            c = tr->free_chunks;
            if (c)
                tr->free_chunks = c->next;
            else
                c = malloc(sizeof(*c) + TR_CHUNK_SIZE);
            if (!c)
                return NULL;
            c->next = NULL;
            if (tr->meta_cur)
                tr->meta_cur->next = c;
            else
                tr->meta_head = c;
        }
        tr->meta_cur = c;
        tr->meta_used = 0;
    }
    void *p = tr->meta_cur->data + tr->meta_used;
    tr->meta_used += n;
    memset(p, 0, n);
    return p;
}

static void tb_free(struct tb *tb)
{
    free(tb);
}

/* A block struct for tb_translate: recycled from the pool when there is
 * one (see tr_drop_all), zeroed. */
static struct tb *tb_alloc(struct tr *tr)
{
    struct tb *tb = tr->tb_pool;
    if (!tb)
        return calloc(1, sizeof(*tb));
    tr->tb_pool = tb->pool_next;
    memset(tb, 0, sizeof(*tb));
    return tb;
}

/* Once threads share the translator, lookups read blocks without the lock
 * (tr_lookup_fast), so a flush must not give a block's memory back: the
 * struct goes to a pool that only ever hands it out as a block again, and
 * a reader that raced with the flush sees n_flushes move and looks again. */
static void tb_retire(struct tr *tr, struct tb *tb)
{
    if (!tr->multi_threaded) {
        tb_free(tb);
        return;
    }
    tb->insn_off = NULL;        /* (the arrays go with tr_alloc's chunks) */
    tb->insn_pc = NULL;
    tb->fault_map = NULL;
    tb->slow_insn = NULL;
    tb->slow_off = NULL;
    tb->ops = NULL;
    __atomic_store_n(&tb->invalid, true, __ATOMIC_RELAXED);
    tb->pool_next = tr->tb_pool;
    tr->tb_pool = tb;
}

static void tr_drop_all(struct tr *tr)
{
    for (size_t i = 0; i < tr->n_tbs; i++)
        tb_retire(tr, tr->tbs[i]);
    tr->n_tbs = 0;
    for (size_t i = 0; i < ((size_t)1 << TR_HASH_BITS); i++)
        __atomic_store_n(&tr->hash[i], NULL, __ATOMIC_RELAXED);
    tr->meta_cur = NULL;
    tr->meta_used = 0;
    if (tr->page_hash)
        memset(tr->page_hash, 0, ((size_t)1 << TR_PAGE_HASH_BITS) * sizeof(*tr->page_hash));
    tr->used = tr->prologue_size;
}

void tr_free(struct tr *tr)
{
    if (!tr)
        return;
    /* Giving back tens of thousands of blocks one by one is most of a
     * machine's teardown (18 ms after a Linux boot): not when the process
     * exits anyway (prog_exiting) */
    if (prog_exiting())
        return;     /* (tr_global keeps it reachable for leak checkers) */
    if (tr->hash) {
        tr->multi_threaded = false;
        tr_drop_all(tr);
    }
    for (int g = 0; g < TR_MAX_GENS; g++) {
        struct tr_gen *gen = &tr->gens[g];
        if (!gen->rx)
            continue;
        munmap(gen->rx, tr->size);
        for (size_t i = 0; i < gen->n_tbs; i++)
            free(gen->tbs[i]);
        free(gen->tbs);
        while (gen->chunks) {
            struct tr_chunk *c = gen->chunks;
            gen->chunks = c->next;
            free(c);
        }
        gen->rx = NULL;
    }
    while (tr->free_chunks) {
        struct tr_chunk *c = tr->free_chunks;
        tr->free_chunks = c->next;
        free(c);
    }
    free(tr->slots);
    while (tr->tb_pool) {
        struct tb *tb = tr->tb_pool;
        tr->tb_pool = tb->pool_next;
        free(tb);
    }
    while (tr->meta_head) {
        struct tr_chunk *c = tr->meta_head;
        tr->meta_head = c->next;
        free(c);
    }
    free(tr->be_scratch);
    free(tr->tbs);
    free(tr->hash);
    free(tr->page_hash);
    free(tr->irb);
    free(tr->ref);
    free(tr->undo);
    tr_code_cache_free(tr);
    if (tr_global == tr)
        tr_global = NULL;
    free(tr);
}

void tr_lock(struct tr *tr)
{
    /* Held for a translation (microseconds) or less: spinning a little is
     * cheaper than sleeping in the kernel and being woken, which in a VM
     * costs tens of microseconds. */
    for (int i = 0; i < 400; i++) {
        if (pthread_mutex_trylock(&tr->lock) == 0)
            return;
        __builtin_ia32_pause();
    }
    pthread_mutex_lock(&tr->lock);
}

void tr_unlock(struct tr *tr)
{
    pthread_mutex_unlock(&tr->lock);
}

int tr_fork_prepare(struct tr *tr)
{
    tr_lock(tr);
    int fd;
    int r = tr_code_cache_fork_copy(tr, &fd);
    if (r < 0) {
        tr_unlock(tr);
        return r;
    }
    tr->fork_fd = fd;
    return 0;
}

void tr_fork_parent(struct tr *tr)
{
    if (tr->fork_fd >= 0)
        close(tr->fork_fd);
    tr->fork_fd = -1;
    tr_unlock(tr);
}

int tr_fork_child(struct tr *tr)
{
    /* the lock was held across fork by the thread that is now the only
     * one; its owner id is the parent's, so make a fresh, unlocked one */
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&tr->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    /* the parent's other threads are not here: only this one may run old code */
    for (int k = 0; tr->slots && k < TR_MAX_SLOTS; k++)
        if (&tr->slots[k] != tr_self.slot)
            tr->slots[k].used = 0;
    /* and a code cache of its own (the memfd is shared with the parent) */
    int fd = tr->fork_fd;
    tr->fork_fd = -1;
    return fd >= 0 ? tr_code_cache_fork_map(tr, fd) : 0;
}

void tr_set_multi_threaded(struct tr *tr)
{
    tr_lock(tr);
    tr->multi_threaded = true;
    tr_unlock(tr);
}

static struct tb *tb_find_in(struct tb *const *tbs, size_t n, uintptr_t rip);

/* Give back the retired generations no thread can be running in any
 * more: every thread is either outside tr_run or has been at the top of
 * its dispatch loop since the generation was retired.  (A thread that
 * enters tr_run stores in_run, then reads n_flushes; we advanced
 * n_flushes, then read in_run; both sequentially consistent, so if we
 * see it outside, it sees the new count and goes to the locked path,
 * which never leads into a retired generation.)  Lock held. */
static void tr_reclaim_gens(struct tr *tr)
{
    if (__atomic_load_n(&tr->untracked, __ATOMIC_ACQUIRE))
        return;
    for (int g = 0; g < TR_MAX_GENS; g++) {
        struct tr_gen *gen = &tr->gens[g];
        if (!gen->rx)
            continue;
        bool busy = false;
        for (int k = 0; k < TR_MAX_SLOTS && !busy; k++) {
            struct tr_slot *sl = &tr->slots[k];
            busy = __atomic_load_n(&sl->used, __ATOMIC_ACQUIRE) &&
                   __atomic_load_n(&sl->in_run, __ATOMIC_SEQ_CST) &&
                   __atomic_load_n(&sl->quiet, __ATOMIC_ACQUIRE) < gen->retired;
        }
        if (busy)
            continue;
        munmap(gen->rx, tr->size);
        /* block structs stay blocks (tr_lookup_fast may still read one) */
        for (size_t i = 0; i < gen->n_tbs; i++) {
            struct tb *tb = gen->tbs[i];
            tb->pool_next = tr->tb_pool;
            tr->tb_pool = tb;
        }
        free(gen->tbs);
        while (gen->chunks) {
            struct tr_chunk *c = gen->chunks;
            gen->chunks = c->next;
            c->next = tr->free_chunks;
            tr->free_chunks = c;
        }
        __atomic_store_n(&gen->rx, NULL, __ATOMIC_RELEASE);
    }
}

/* Multi-threaded flush: every block goes, but with its code, its arrays
 * and its struct kept as a retired generation, because other threads may
 * be running that code, fault in it (tr_fault_handler) or raise a guest
 * exception from it (tr_sys_raise), and need the block to find the guest
 * pc; translation continues in a fresh code cache.  Lock held. */
static void tr_kick_stale(struct tr *tr);

static int free_gen(struct tr *tr)
{
    for (int g = 0; g < TR_MAX_GENS; g++)
        if (!tr->gens[g].rx)
            return g;
    return -1;
}

static void tr_retire_gen(struct tr *tr)
{
    tr_reclaim_gens(tr);
    int g = free_gen(tr);
    /* Every slot taken: the threads keeping the old generations were
     * asked out at the flushes that retired them, and are on their way
     * unless they have no CPU (a loaded host).  Give them a moment: they
     * mark themselves at the top of their dispatch loop, before they
     * would want the lock we hold. */
    for (uint64_t t0 = loop_now_ns(); g < 0 && loop_now_ns() - t0 < 100000000;) {
        tr_kick_stale(tr);
        sched_yield();
        tr_reclaim_gens(tr);
        g = free_gen(tr);
    }
    uint8_t *old_rw = tr->rw, *old_rx = tr->rx;
    if (tr_code_cache_init(tr, tr->size, NULL) < 0) {
        /* no memory for a fresh cache: reuse this one, as a one-thread
         * translator does (a thread still inside may then crash) */
        tr->rw = old_rw;
        tr->rx = old_rx;
        if (log_on(LOG_UNIMP))
            log_msg(LOG_UNIMP, "translator: no memory for a fresh code cache at a flush");
        tr_drop_all(tr);
        return;
    }
    for (size_t i = 0; i < tr->n_tbs; i++)
        __atomic_store_n(&tr->tbs[i]->invalid, true, __ATOMIC_RELAXED);
    for (size_t i = 0; i < ((size_t)1 << TR_HASH_BITS); i++)
        __atomic_store_n(&tr->hash[i], NULL, __ATOMIC_RELAXED);
    if (tr->page_hash)
        memset(tr->page_hash, 0, ((size_t)1 << TR_PAGE_HASH_BITS) * sizeof(*tr->page_hash));
    if (old_rw != old_rx)
        munmap(old_rw, tr->size);   /* keep only the executable view */
    if (g >= 0) {
        struct tr_gen *gen = &tr->gens[g];
        gen->tbs = tr->tbs;
        gen->n_tbs = tr->n_tbs;
        gen->chunks = tr->meta_head;
        gen->retired = tr->n_flushes + 1;       /* tr_flush counts this flush next */
        __atomic_store_n(&gen->rx, old_rx, __ATOMIC_RELEASE);
    } else {
        /* every slot holds a generation some thread is still in (it
         * would take 32 flushes while one thread never left its code):
         * leave this one mapped for good, unknown to the fault handler,
         * rather than reuse memory a thread may be executing */
        if (log_on(LOG_UNIMP))
            log_msg(LOG_UNIMP, "translator: %d code caches in use; one more kept for good",
                    TR_MAX_GENS);
        free(tr->tbs);
    }
    tr->tbs = NULL;
    tr->n_tbs = tr->tbs_cap = 0;
    tr->meta_head = tr->meta_cur = NULL;
    tr->meta_used = 0;
    int r = tr->be->gen_prologue(tr, tr->rw, tr->rx, 4096);
    tr->prologue_size = tr->used = ALIGN_UP((size_t)(r > 0 ? r : 0), 64);
}

/* After a multi-threaded flush (n_flushes advanced): a thread whose jump
 * cache and chains keep it inside old code (a loop over blocks it already
 * found) would hold its generation, and every later one, for as long as
 * it loops.  Ask the threads that have not been through their dispatch
 * loop since to come out, as an interrupt would, so that the next flush
 * can give the generation back.  (tr_thread_exit takes the lock, so a
 * cpu in a slot is still there.)  Lock held. */
static void tr_kick_stale(struct tr *tr)
{
    for (int k = 0; tr->slots && k < TR_MAX_SLOTS; k++) {
        struct tr_slot *sl = &tr->slots[k];
        if (sl->used && sl->cpu && __atomic_load_n(&sl->in_run, __ATOMIC_SEQ_CST) &&
            __atomic_load_n(&sl->quiet, __ATOMIC_ACQUIRE) < tr->n_flushes)
            __atomic_store_n(&sl->cpu->exit_req, 1, __ATOMIC_RELEASE);
    }
}

void tr_flush(struct tr *tr, struct cpu *cpu)
{
    tr_lock(tr);
    trace_tb_flush(tr->n_tbs, tr->used);
    if (tr->multi_threaded)
        tr_retire_gen(tr);
    else
        tr_drop_all(tr);
    /* a full fence before the jump caches are emptied (on_flush): see
     * tr_lookup_fast */
    __atomic_add_fetch(&tr->n_flushes, 1, __ATOMIC_SEQ_CST);
    if (tr->on_flush)
        tr->on_flush(tr->mem_opaque);
    if (tr->multi_threaded)
        tr_kick_stale(tr);
    if (cpu) {
        memset(cpu->jc, 0, sizeof(cpu->jc));
        cpu->chain_from = NULL;
        cpu->flush_req = 0;
        cpu->seen_flushes = tr->n_flushes;
    }
    tr_unlock(tr);
}

void tr_invalidate_range(struct tr *tr, struct cpu *cpu, uint64_t start, uint64_t end)
{
    tr_lock(tr);
    /* Blocks may be chained into each other; dropping them one by one
     * would need unchaining.  Flush everything if any block overlaps. */
    for (size_t i = 0; i < tr->n_tbs; i++) {
        struct tb *tb = tr->tbs[i];
        if (tb->pc < end && tb->end_pc > start) {
            tr_flush(tr, cpu);
            break;
        }
    }
    tr_unlock(tr);
}

static inline size_t tr_hash(uint64_t pc)
{
    return (size_t)((pc >> 1) ^ (pc >> 17)) & (((size_t)1 << TR_HASH_BITS) - 1);
}

/* The block for pc translated under the cpu's run-time flags (and, in
 * system mode, from the physical page the pc maps to now: blocks outlive
 * address-space switches and are found again by what they were made of). */
static struct tb *tb_lookup(struct tr *tr, uint64_t pc, uint64_t flags, uint64_t phys)
{
    struct tb *tb = __atomic_load_n(&tr->hash[tr_hash(pc)], __ATOMIC_ACQUIRE);
    for (; tb; tb = __atomic_load_n(&tb->hash_next, __ATOMIC_ACQUIRE))
        if (tb->pc == pc && tb->flags == flags && (!tr->sys || tb->phys == phys))
            return tb;
    return NULL;
}

static inline size_t tr_page_hash(uint64_t page)
{
    return (size_t)((page >> 12) ^ (page >> 26)) & (((size_t)1 << TR_PAGE_HASH_BITS) - 1);
}

/* Per-page lists: an entry is a block pointer tagged with the slot (0:
 * its first page, 1: its second) whose page_next continues the list. */
static void tb_page_add(struct tr *tr, struct tb *tb, int slot, uint64_t page)
{
    size_t h = tr_page_hash(page);
    tb->page_next[slot] = (uintptr_t)tr->page_hash[h];
    tr->page_hash[h] = (struct tb *)((uintptr_t)tb | (uintptr_t)slot);
}

int tr_sys_enable(struct tr *tr, struct error **errp)
{
    tr->page_hash = calloc((size_t)1 << TR_PAGE_HASH_BITS, sizeof(*tr->page_hash));
    if (!tr->page_hash)
        return err_set(errp, ENOMEM, _("out of memory"));
    tr->sys = true;
    /* the stubs the slow paths need are part of the prologue */
    tr_lock(tr);
    tr_drop_all(tr);
    int r = tr->be->gen_prologue(tr, tr->rw, tr->rx, 4096);
    tr->prologue_size = tr->used = ALIGN_UP((size_t)(r > 0 ? r : 0), 64);
    tr_unlock(tr);
    return r < 0 ? err_set(errp, -r, "code cache prologue") : 0;
}

static void tb_unhash(struct tr *tr, struct tb *tb)
{
    struct tb **pp = &tr->hash[tr_hash(tb->pc)];
    while (*pp && *pp != tb)
        pp = &(*pp)->hash_next;
    if (*pp)
        __atomic_store_n(pp, tb->hash_next, __ATOMIC_RELEASE);
}

/* A block whose code overlaps [lo, hi) of its page in list slot slot. */
static bool tb_overlaps(const struct tb *tb, int slot, uint64_t page, uint64_t lo, uint64_t hi)
{
    uint64_t size = tb->end_pc - tb->pc;
    uint64_t b_lo = slot ? page : tb->phys;
    uint64_t b_hi = slot ? (tb->phys2 & ~UINT64_C(0xfff)) + ((tb->pc + size) & 0xfff)
                         : MIN(tb->phys + size, page + 0x1000);
    return b_lo < hi && lo < b_hi;
}

int tr_invalidate_phys(struct tr *tr, uint64_t pa, uint64_t len, int *remaining)
{
    int n = 0, left = 0;
    uint64_t page = pa & ~UINT64_C(0xfff);
    tr_lock(tr);
    struct tb **head = &tr->page_hash[tr_page_hash(page)];
    /* A store that misses every block of the page changes no code: all
     * stay (pages that mix code and data keep their translations).  One
     * that hits a block drops every block of the page, because blocks of a
     * page chain straight into each other: a survivor could still jump
     * into a dropped one. */
    bool hit = false;
    for (uintptr_t e = (uintptr_t)*head; e && !hit;) {
        struct tb *tb = (struct tb *)(e & ~(uintptr_t)1);
        int slot = (int)(e & 1);
        uint64_t p = slot ? tb->phys2 : tb->phys;
        if ((p & ~UINT64_C(0xfff)) == page && !tb->invalid) {
            left++;
            hit = tb_overlaps(tb, slot, page, pa, pa + len);
        }
        e = tb->page_next[slot];
    }
    if (!hit) {
        tr_unlock(tr);
        if (remaining)
            *remaining = left;      /* the loop saw every block of the page */
        return 0;
    }
    left = 0;
    struct tb **pp = head;
    while (*pp) {
        uintptr_t e = (uintptr_t)*pp;
        struct tb *tb = (struct tb *)(e & ~(uintptr_t)1);
        int slot = (int)(e & 1);
        uint64_t p = slot ? tb->phys2 : tb->phys;
        if ((p & ~UINT64_C(0xfff)) != page) {
            pp = (struct tb **)&tb->page_next[slot];
            continue;
        }
        *pp = (struct tb *)tb->page_next[slot];       /* unlink from this page */
        if (!tb->invalid) {
            /* The block stays in memory (another hart may be inside it);
             * it is only never found again.  Its other page's list keeps
             * the dead entry until a flush: harmless, it is skipped there. */
            __atomic_store_n(&tb->invalid, true, __ATOMIC_SEQ_CST);   /* see tr_lookup_fast */
            tb_unhash(tr, tb);
            if (tr->sys_jc_drop)
                tr->sys_jc_drop(tr->sys_opaque, tb->pc, tb->code);
            n++;
        }
    }
    tr->n_invalidated += (uint64_t)n;
    tr_unlock(tr);
    if (remaining)
        *remaining = left;
    return n;
}

/* Enter pc -> code in the jump cache translated code looks in: the cpu's
 * own (user mode) or its current translation context's (system mode). */
static struct cpu_jc_entry *jc_install(struct tr *tr, struct cpu *cpu, uint64_t pc, void *code)
{
    struct cpu_jc_entry *jc = tr->sys ? ((struct cpu_tlb_ctx *)(uintptr_t)cpu->guest_base)->jc
                                      : cpu->jc;
    unsigned ji = (unsigned)(pc >> 1) & ((tr->sys ? CPU_CTX_JC_SIZE : CPU_JC_SIZE) - 1);
    struct cpu_jc_entry *e = &jc[ji];
    __atomic_store_n(&e->pc, pc, __ATOMIC_RELAXED);
    __atomic_store_n(&e->code, code, __ATOMIC_RELAXED);
    if (tr->sys) {
        struct cpu_tlb_ctx *c = (struct cpu_tlb_ctx *)(uintptr_t)cpu->guest_base;
        unsigned bit = cpu_jc_page_bit(pc);
        c->jc_pages[bit / 64] |= UINT64_C(1) << (bit % 64);
        cpu_ctx_log(c, ji | CPU_CTX_LOG_JC);
        if (!c->code_global)
            c->jc_ng[ji / 64] |= UINT64_C(1) << (ji % 64);
    }
    return e;
}

/* The lookup of an existing block without the lock, which every other
 * thread wants for its own lookups and which a translation holds for
 * microseconds.  NULL sends the caller to the locked path: nothing to
 * chain, no flush unseen, the block found, within one page.
 *
 * Against writers: blocks are published with release stores and their
 * memory stays a block's while threads share the translator (tb_retire),
 * so what is read here is at worst stale.  A writer that drops a block
 * stores tb->invalid (or n_flushes) with a full fence before it empties
 * the jump caches; this side stores the jump-cache entry, fences, then
 * reads both.  So either it sees the block go and takes its entry back,
 * or the writer's emptying comes after the entry and removes it. */
static void *tr_lookup_fast(struct tr *tr, struct cpu *cpu, uint64_t pc, uint64_t phys)
{
    uint64_t seq = __atomic_load_n(&tr->n_flushes, __ATOMIC_ACQUIRE);
    if (cpu->chain_from || seq != cpu->seen_flushes || log_on(LOG_EXEC))
        return NULL;
    uint64_t flags = cpu->features & ~UINT64_C(0xffff);
    struct tb *tb = __atomic_load_n(&tr->hash[tr_hash(pc)], __ATOMIC_ACQUIRE);
    /* bounded: a chain read across a flush may lead through recycled
     * blocks; a long chain goes to the locked path */
    for (int n = 0;; n++) {
        if (!tb || n == 32)
            return NULL;
        if (tb->pc == pc && tb->flags == flags && (!tr->sys || tb->phys == phys))
            break;
        tb = __atomic_load_n(&tb->hash_next, __ATOMIC_ACQUIRE);
    }
    if (tb->phys2 != TB_NO_PAGE || __atomic_load_n(&tb->invalid, __ATOMIC_ACQUIRE))
        return NULL;
    void *code = tb->code;
    if (tb->pc != pc)
        return NULL;
    struct cpu_jc_entry *e = jc_install(tr, cpu, pc, code);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&tb->invalid, __ATOMIC_RELAXED) ||
        __atomic_load_n(&tr->n_flushes, __ATOMIC_RELAXED) != seq) {
        __atomic_store_n(&e->pc, ~UINT64_C(0), __ATOMIC_RELAXED);   /* odd: never a pc */
        return NULL;
    }
    return code;
}

static void log_block(struct tr *tr, const struct ir_block *b, bool optimized)
{
    FILE *fp = log_stream();
    if (!optimized && log_on(LOG_IN_ASM)) {
        fprintf(fp, "IN: 0x%" PRIx64 "\n", b->pc);
        for (int i = 0; i < b->n_insns; i++) {
            char line[160];
            uint32_t raw = b->insn_word[i];
            tr->fe->describe(line, sizeof(line), b->insn_pc[i], raw, (raw & 3) == 3 ? 4 : 2,
                             tr->features);
            fprintf(fp, "  %s\n", line);
        }
    }
    if (optimized && log_on(LOG_OP))
        ir_dump(fp, b);
}

/* Translate the block at cpu->pc.  NULL with cpu->fault_* set when the
 * code cannot be fetched. */
static struct tb *tb_translate(struct tr *tr, struct cpu *cpu)
{
    uint64_t pc = cpu->pc;
    struct ir_block *b = tr->irb;
    /* bits above the first 16 are run-time state of the cpu (see riscv.h) */
    uint64_t features = tr->features | (cpu->features & ~UINT64_C(0xffff));
    tr->tb_phys2 = TB_NO_PAGE;
    if (tr->fe->translate(b, pc, features, tr->fetch, tr->fetch_opaque, tr->max_insns) < 0) {
        cpu->fault_addr = pc;
        cpu->fault_sig = SIGSEGV;
        cpu->fault_code = SEGV_ACCERR;
        return NULL;
    }
    log_block(tr, b, false);
    ir_optimize(b);
    log_block(tr, b, true);

    /* room for the code; a flush also empties tr_alloc's chunks, so it
     * comes before this block takes anything from them */
    if (tr->mode != TR_MODE_INTERP && tr->size - tr->used < TR_BLOCK_ROOM)
        tr_flush(tr, cpu);
    struct tb *tb = tb_alloc(tr);
    if (!tb)
        return NULL;
    tb->pc = pc;
    tb->end_pc = b->end_pc;
    tb->n_insns = (uint16_t)b->n_insns;
    tb->flags = cpu->features & ~UINT64_C(0xffff);
    tb->phys = tr->sys ? tr->tb_phys : pc;
    tb->phys2 = tr->sys ? tr->tb_phys2 : TB_NO_PAGE;
    tb->insn_off = tr_alloc(tr, (size_t)b->n_insns * sizeof(*tb->insn_off));
    tb->insn_pc = tr_alloc(tr, (size_t)b->n_insns * sizeof(*tb->insn_pc));
    if (!tb->insn_off || !tb->insn_pc) {
        tb_retire(tr, tb);
        return NULL;
    }
    memcpy(tb->insn_pc, b->insn_pc, (size_t)b->n_insns * sizeof(*tb->insn_pc));
    if (tr->mode != TR_MODE_JIT) {
        tb->ops = tr_alloc(tr, (size_t)b->n_ops * sizeof(*tb->ops));
        if (!tb->ops) {
            tb_retire(tr, tb);
            return NULL;
        }
        memcpy(tb->ops, b->ops, (size_t)b->n_ops * sizeof(*tb->ops));
        tb->n_ops = b->n_ops;
    }
    if (tr->mode != TR_MODE_INTERP) {
        int n = tr->be->gen_block(tr, b, tb, tr->rw + tr->used, tr->rx + tr->used, TR_BLOCK_ROOM);
        if (n < 0) {
            tb_retire(tr, tb);
            return NULL;
        }
        tb->code = tr->rx + tr->used;
        tb->code_size = (uint32_t)n;
        tr->used = ALIGN_UP(tr->used + (size_t)n, 16);
        tr_perf_map(tb);
        if (log_on(LOG_OUT_ASM)) {
            FILE *fp = log_stream();
            fprintf(fp, "OUT: 0x%" PRIx64 " -> %p (%d bytes)\n", pc, (void *)tb->code, n);
            const uint8_t *c = tr->rw + (tb->code - tr->rx);
            for (int i = 0; i < n; i++)
                fprintf(fp, "%s%02x", i % 32 == 0 ? (i ? "\n  " : "  ") : " ", c[i]);
            fputc('\n', fp);
        }
    }
    if (tr->n_tbs == tr->tbs_cap) {
        size_t cap = tr->tbs_cap ? 2 * tr->tbs_cap : 1024;
        struct tb **n = realloc(tr->tbs, cap * sizeof(*n));
        if (!n) {
            tb_retire(tr, tb);
            return NULL;
        }
        tr->tbs = n;
        tr->tbs_cap = cap;
    }
    tr->tbs[tr->n_tbs++] = tb;
    if (tr->on_translate)
        tr->on_translate(tr->mem_opaque, pc, tb->end_pc);
    if (tr->sys) {
        tb_page_add(tr, tb, 0, tb->phys & ~UINT64_C(0xfff));
        if (tr->sys_code_page)
            tr->sys_code_page(tr->sys_opaque, tb->phys & ~UINT64_C(0xfff));
        if (tb->phys2 != TB_NO_PAGE) {
            tb_page_add(tr, tb, 1, tb->phys2 & ~UINT64_C(0xfff));
            if (tr->sys_code_page)
                tr->sys_code_page(tr->sys_opaque, tb->phys2 & ~UINT64_C(0xfff));
        }
    }
    size_t h = tr_hash(pc);
    tb->hash_next = tr->hash[h];
    __atomic_store_n(&tr->hash[h], tb, __ATOMIC_RELEASE);    /* complete before it is found */
    tr->n_translated++;
    trace_tb_translated(pc, (uint32_t)(tb->end_pc - pc), tb->code_size, tb->n_insns);
    return tb;
}

/* Find the block whose code contains host address rip (binary search:
 * blocks are allocated in address order), in the current generation or a
 * retired one that is still mapped. */
static struct tb *tb_find_in(struct tb *const *tbs, size_t n, uintptr_t rip)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        struct tb *tb = tbs[mid];
        if ((uintptr_t)tb->code > rip)
            hi = mid;
        else if ((uintptr_t)tb->code + tb->code_size <= rip)
            lo = mid + 1;
        else
            return tb;
    }
    return NULL;
}

/* The retired generation whose code holds rip, or NULL (any thread; a
 * generation a thread is running in is not given back meanwhile). */
static struct tr_gen *gen_of(struct tr *tr, uintptr_t rip)
{
    for (int g = 0; g < TR_MAX_GENS; g++) {
        uint8_t *rx = __atomic_load_n(&tr->gens[g].rx, __ATOMIC_ACQUIRE);
        if (rx && rip >= (uintptr_t)rx && rip < (uintptr_t)rx + tr->size)
            return &tr->gens[g];
    }
    return NULL;
}

static struct tb *tb_find_host(struct tr *tr, uintptr_t rip)
{
    if (rip >= (uintptr_t)tr->rx && rip < (uintptr_t)tr->rx + tr->size)
        return tb_find_in(tr->tbs, tr->n_tbs, rip);
    struct tr_gen *gen = gen_of(tr, rip);
    return gen ? tb_find_in(gen->tbs, gen->n_tbs, rip) : NULL;
}

void tr_helper_enter(struct cpu *cpu)
{
    tr_self.in_helper++;
}

void tr_helper_leave(struct cpu *cpu)
{
    tr_self.in_helper--;
}

void tr_sys_raise(struct cpu *cpu, const uint64_t *frame, uintptr_t ret)
{
    struct tr_thread *t = &tr_self;
    struct tr *tr = t->tr;
    /* The return address is inside the block's slow-path code, which
     * follows the block's body: find the instruction through the map the
     * slow path recorded (tb->insn_off of the instruction is at or before
     * its fast path; the slow path's own offset is after all of them).
     * The lock: other harts may be adding blocks (and growing tr->tbs). */
    tr_lock(tr);
    struct tb *tb = tb_find_host(tr, ret - 1);
    if (tb) {
        uint32_t off = (uint32_t)(ret - 1 - (uintptr_t)tb->code);
        int i = tr->be->slow_insn ? tr->be->slow_insn(tb, off) : -1;
        if (i < 0) {
            i = 0;
            for (int k = 0; k < tb->n_insns; k++)
                if (tb->insn_off[k] <= off)
                    i = k;
        }
        cpu->pc = tb->insn_pc[i];
        /* a ucontext as the fault handler would see it, from the frame */
        ucontext_t uc;
        struct _libc_fpstate fp;
        memset(&uc, 0, sizeof(uc));
        memset(&fp, 0, sizeof(fp));
        static const int order[TR_FRAME_GPRS] = {
            REG_RBX, REG_R12, REG_R13, REG_R14, REG_RSI, REG_RDI, REG_R8, REG_R9, REG_R10, REG_R11,
        };
        for (int k = 0; k < TR_FRAME_GPRS; k++)
            uc.uc_mcontext.gregs[order[k]] = (greg_t)frame[k];
        for (int x = 3; x < 16; x++) {
            uint64_t lo = frame[TR_FRAME_XMM3 + 2 * (x - 3)];
            fp._xmm[x].element[0] = (uint32_t)lo;
            fp._xmm[x].element[1] = (uint32_t)(lo >> 32);
        }
        uc.uc_mcontext.fpregs = &fp;
        tr->be->recover_regs(cpu, tb, i, &uc);
    }
    tr_unlock(tr);
    t->armed = 0;
    t->in_helper = 0;
    t->smc = 0;
    siglongjmp(*t->jbp, 1);
}

static struct sigaction tr_old_segv, tr_old_bus;

static void tr_fault_handler(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    struct tr_thread *t = &tr_self;
    uintptr_t rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    struct tr *tr = t->tr;
    bool in_old = tr && gen_of(tr, rip);
    if (t->armed && tr && (in_old || (rip >= (uintptr_t)tr->rx && rip < (uintptr_t)tr->rx + tr->size))) {
        struct cpu *cpu = t->cpu;
        /* The lock, as tr_sys_raise takes it: another thread may be
         * adding a block meanwhile, and that can move tr->tbs (a fault
         * read it half-grown and crashed, about once in 600 runs of
         * smcthreads under load).  Taking it here is safe: this thread
         * ran generated code, which it never enters holding the lock, and
         * no code that locks was interrupted. */
        tr_lock(tr);
        struct tb *tb = tb_find_host(tr, rip);
        if (tb) {
            uint32_t off = (uint32_t)(rip - (uintptr_t)tb->code);
            int i = 0;
            for (int k = 0; k < tb->n_insns; k++)
                if (tb->insn_off[k] <= off)
                    i = k;
            cpu->pc = tb->insn_pc[i];
            tr->be->recover_regs(cpu, tb, i, uc);
        }
        tr_unlock(tr);
        cpu->fault_addr = (uint64_t)(uintptr_t)si->si_addr - cpu->guest_base;
        cpu->fault_sig = sig;
        cpu->fault_code = si->si_code;
        t->smc = sig == SIGSEGV && si->si_code == SEGV_ACCERR && tr->is_code_page &&
                 tr->is_code_page(tr->mem_opaque, cpu->fault_addr);
        t->armed = 0;
        siglongjmp(*t->jbp, 1);
    }
    if (t->armed && t->in_helper) {
        struct cpu *cpu = t->cpu;
        cpu->fault_addr = (uint64_t)(uintptr_t)si->si_addr - cpu->guest_base;
        cpu->fault_sig = sig;
        cpu->fault_code = si->si_code;
        t->smc = sig == SIGSEGV && si->si_code == SEGV_ACCERR && tr && tr->is_code_page &&
                 tr->is_code_page(tr->mem_opaque, cpu->fault_addr);
        t->in_helper = 0;
        t->armed = 0;
        siglongjmp(*t->jbp, 1);
    }
    /* Not ours: an emulator bug.  Hand it to whoever was there before. */
    struct sigaction *old = sig == SIGSEGV ? &tr_old_segv : &tr_old_bus;
    if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
        old->sa_sigaction(sig, si, ucv);
        return;
    }
    signal(sig, SIG_DFL);
}

int tr_install_fault_handler(struct error **errp)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = tr_fault_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &tr_old_segv) < 0 || sigaction(SIGBUS, &sa, &tr_old_bus) < 0)
        return err_set_errno(errp, errno, _("cannot install the fault handler"));
    return 0;
}

/* Compare mode: run the block by the interpreter, undo its stores, run
 * the translated code, and compare guest states. */
__attribute__((no_sanitize_address))
static void tr_undo_store(uint64_t host, int size, uint64_t v)
{
    switch (size) {
    case 1: { uint8_t t = (uint8_t)v; __builtin_memcpy((void *)(uintptr_t)host, &t, 1); break; }
    case 2: { uint16_t t = (uint16_t)v; __builtin_memcpy((void *)(uintptr_t)host, &t, 2); break; }
    case 4: { uint32_t t = (uint32_t)v; __builtin_memcpy((void *)(uintptr_t)host, &t, 4); break; }
    default: __builtin_memcpy((void *)(uintptr_t)host, &v, 8); break;
    }
}

static int tr_compare_block(struct tr *tr, struct cpu *cpu, struct tb *tb)
{
    struct tr_thread *t = &tr_self;
    struct cpu *ref = tr->ref;
    if (tr->fe->sync_state)
        tr->fe->sync_state(cpu);
    for (int i = 0; i < tb->n_ops; i++) {
        if (tb->ops[i].opc == IR_HELPER && (tb->ops[i].aux & IR_HELPER_MEM)) {
            t->armed = 1;
            int r = (int)tr->enter(cpu, tb->code);
            t->armed = 0;
            return r;
        }
    }
    memcpy(ref, cpu, offsetof(struct cpu, jc));
    tr->n_undo = 0;
    sigjmp_buf jb;
    volatile int r1 = CPU_EXIT_FAULT;
    t->jbp = &jb;
    if (sigsetjmp(jb, 1) == 0) {
        t->cpu = ref;
        t->in_helper = 1;
        t->armed = 1;
        r1 = ir_interp(tr, ref, tb->ops, tb->n_ops, tb->insn_pc, true);
    } else {
        t->smc = 0;     /* the translated run below meets the same fault */
    }
    t->armed = 0;
    t->in_helper = 0;
    t->cpu = cpu;
    t->jbp = &t->jb;
    if (tr->fe->sync_state)
        tr->fe->sync_state(ref);
    /* undo the interpreter's stores (newest first) */
    for (size_t i = tr->n_undo; i-- > 0;)
        tr_undo_store(cpu->guest_base + tr->undo[i].addr, tr->undo[i].size, tr->undo[i].old);
    t->armed = 1;
    int r2 = (int)tr->enter(cpu, tb->code);   /* a fault here leaves through t->jb */
    t->armed = 0;
    if (tr->fe->sync_state)
        tr->fe->sync_state(cpu);
    tr->compared_blocks++;
    int diff = -1;
    for (int i = 0; i < 64 && diff < 0; i++) {
        uint64_t a = i < 32 ? ref->x[i] : ref->f[i - 32];
        uint64_t b = i < 32 ? cpu->x[i] : cpu->f[i - 32];
        if (a != b)
            diff = i;
    }
    if (diff >= 0) {
        snprintf(tr->mismatch, sizeof(tr->mismatch),
                 "block 0x%" PRIx64 ": %s%d interp 0x%" PRIx64 " jit 0x%" PRIx64,
                 tb->pc, diff < 32 ? "x" : "f", diff % 32,
                 diff < 32 ? ref->x[diff] : ref->f[diff - 32],
                 diff < 32 ? cpu->x[diff] : cpu->f[diff - 32]);
        return -EIO;
    }
    if (r1 != r2 || ref->pc != cpu->pc || ref->fflags != cpu->fflags) {
        snprintf(tr->mismatch, sizeof(tr->mismatch),
                 "block 0x%" PRIx64 ": exit %d/%d pc 0x%" PRIx64 "/0x%" PRIx64 " fflags %u/%u",
                 tb->pc, (int)r1, r2, ref->pc, cpu->pc, ref->fflags, cpu->fflags);
        return -EIO;
    }
    return r2;
}

/* This thread's slot in tr->slots (see tr_reclaim_gens), taken at its
 * first tr_run and given back by tr_thread_exit; NULL when all are taken
 * (then no generation is ever given back). */
static struct tr_slot *tr_slot_get(struct tr *tr, struct tr_thread *t)
{
    if (t->slot)
        return t->slot;
    tr_lock(tr);
    if (!tr->slots)
        tr->slots = calloc(TR_MAX_SLOTS, sizeof(*tr->slots));
    for (int k = 0; tr->slots && k < TR_MAX_SLOTS && !t->slot; k++)
        if (!tr->slots[k].used) {
            t->slot = &tr->slots[k];
            t->slot->in_run = 0;
            t->slot->quiet = 0;
            __atomic_store_n(&t->slot->used, 1, __ATOMIC_RELEASE);
        }
    if (!t->slot)
        __atomic_store_n(&tr->untracked, 1, __ATOMIC_RELEASE);
    tr_unlock(tr);
    return t->slot;
}

void tr_thread_exit(struct tr *tr)
{
    struct tr_thread *t = &tr_self;
    if (t->slot && tr == tr_global) {
        tr_lock(tr);        /* not while a flush kicks our cpu (tr_retire_gen) */
        __atomic_store_n(&t->slot->in_run, 0, __ATOMIC_RELEASE);
        t->slot->cpu = NULL;
        __atomic_store_n(&t->slot->used, 0, __ATOMIC_RELEASE);
        tr_unlock(tr);
    }
    t->slot = NULL;
}

static int tr_run_loop(struct tr *tr, struct cpu *cpu, struct tr_slot *slot);

int tr_run(struct tr *tr, struct cpu *cpu)
{
    struct tr_slot *slot = tr->multi_threaded ? tr_slot_get(tr, &tr_self) : tr_self.slot;
    if (slot) {
        slot->cpu = cpu;
        __atomic_store_n(&slot->in_run, 1, __ATOMIC_SEQ_CST);
    }
    int r = tr_run_loop(tr, cpu, slot);
    if (slot)
        __atomic_store_n(&slot->in_run, 0, __ATOMIC_RELEASE);
    return r;
}

static int tr_run_loop(struct tr *tr, struct cpu *cpu, struct tr_slot *slot)
{
    struct tr_thread *t = &tr_self;
    t->tr = tr;
    t->cpu = cpu;
    t->jbp = &t->jb;
    cpu->chain_from = NULL;
restart:
    /* System mode leaves translated code this way for every guest
     * exception: not saving the signal mask spares a system call per
     * entry (its handler runs with SA_NODEFER, so the mask is intact). */
    if (sigsetjmp(t->jb, !tr->sys)) {
        t->armed = 0;
        t->in_helper = 0;
        if (!t->smc)
            return CPU_EXIT_FAULT;
        /* a store into translated code: drop the translations (which
         * lifts the write protection) and run the store again */
        t->smc = 0;
        tr->n_smc++;
        cpu->chain_from = NULL;
        tr_flush(tr, cpu);
        goto restart;
    }
    for (;;) {
        uint64_t pc = cpu->pc;
        /* no translated code of ours runs here: what we saw is over */
        if (slot)
            __atomic_store_n(&slot->quiet, __atomic_load_n(&tr->n_flushes, __ATOMIC_SEQ_CST),
                             __ATOMIC_RELEASE);
        if (unlikely(cpu->flush_req))
            tr_flush(tr, cpu);
        /* the physical address of the code: the cpu's own TLB and page
         * tables, no shared state (so outside the lock, which other harts
         * want for every block they look up) */
        uint64_t phys = 0;
        if (tr->sys && tr->sys_code_phys(cpu, pc, &phys) < 0) {
            cpu->chain_from = NULL;
            return CPU_EXIT_FAULT;
        }
        void *fast = tr->mode == TR_MODE_JIT ? tr_lookup_fast(tr, cpu, pc, phys) : NULL;
        if (fast) {
            t->armed = 1;
            int r = (int)tr->enter(cpu, fast);
            t->armed = 0;
            if (r == CPU_EXIT_CHAIN && !tr->single_step)
                continue;
            cpu->chain_from = NULL;
            if (r == CPU_EXIT_CHAIN)
                return CPU_EXIT_INTERRUPT;
            if (r == CPU_EXIT_FLUSH) {
                tr_flush(tr, cpu);
                continue;
            }
            return r;
        }
        /* Waiting for the lock, we are in no generation's code, and
         * what we find once we hold it comes from the current one: say so,
         * or a flusher that keeps the lock would wait for us in vain */
        if (slot)
            __atomic_store_n(&slot->quiet, UINT64_MAX, __ATOMIC_RELEASE);
        tr_lock(tr);
        if (cpu->seen_flushes != tr->n_flushes) {
            /* another thread flushed: our jump cache and the chain slot
             * we came from point into a code cache that is gone */
            memset(cpu->jc, 0, sizeof(cpu->jc));
            cpu->chain_from = NULL;
            cpu->seen_flushes = tr->n_flushes;
        }
        if (slot)
            __atomic_store_n(&slot->quiet, tr->n_flushes, __ATOMIC_RELEASE);
        tr->tb_phys = phys;
        struct tb *tb = tb_lookup(tr, pc, cpu->features & ~UINT64_C(0xffff), phys);
        if (tb && tb->phys2 != TB_NO_PAGE) {
            /* the second page must still be what the block was made of */
            uint64_t p2;
            uint64_t pc2 = (pc | 0xfff) + 1;
            if (tr->sys_code_phys(cpu, pc2, &p2) < 0 || p2 != (tb->phys2 & ~UINT64_C(0xfff))) {
                __atomic_store_n(&tb->invalid, true, __ATOMIC_SEQ_CST);
                tb_unhash(tr, tb);
                if (tr->sys_jc_drop)
                    tr->sys_jc_drop(tr->sys_opaque, tb->pc, tb->code);
                tb = NULL;
                /* translation fetches from pc's page again (the check
                 * above made the second page the current one) */
                if (tr->sys_code_phys(cpu, pc, &phys) < 0) {
                    tr_unlock(tr);
                    cpu->chain_from = NULL;
                    return CPU_EXIT_FAULT;
                }
            }
        }
        if (!tb) {
            tb = tb_translate(tr, cpu);
            if (!tb) {
                tr_unlock(tr);
                cpu->chain_from = NULL;
                return CPU_EXIT_FAULT;
            }
        }
        if (log_on(LOG_EXEC))
            log_msg(LOG_EXEC, "exec 0x%" PRIx64, pc);
        int r;
        if (tr->mode != TR_MODE_JIT) {
            tr_unlock(tr);      /* interpreter and compare modes: one thread */
        }
        if (tr->mode == TR_MODE_INTERP) {
            t->armed = 1;
            t->in_helper = 1;
            r = ir_interp(tr, cpu, tb->ops, tb->n_ops, tb->insn_pc, false);
            t->in_helper = 0;
            t->armed = 0;
        } else if (tr->mode == TR_MODE_COMPARE) {
            r = tr_compare_block(tr, cpu, tb);
            if (r < 0)
                return r;
        } else {
            /* System mode chains only within a page (the back end sends
             * other jumps through the jump cache), and never into a block
             * that straddles two pages: its second page may change alone. */
            if (cpu->chain_from && !tr->no_chain && (uint8_t *)cpu->chain_from >= tr->rx &&
                (uint8_t *)cpu->chain_from < tr->rx + tr->used && tb->phys2 == TB_NO_PAGE) {
                trace_tb_chain((uint64_t)(uintptr_t)cpu->chain_from, pc);
                tr->be->patch_jump(tr, cpu->chain_from, tb->code);
            }
            cpu->chain_from = NULL;
            if (tb->phys2 == TB_NO_PAGE)        /* (a straddling block is always looked up) */
                jc_install(tr, cpu, pc, tb->code);
            void *code = tb->code;
            tr_unlock(tr);
            t->armed = 1;
            r = (int)tr->enter(cpu, code);
            t->armed = 0;
        }
        if (r == CPU_EXIT_CHAIN && !tr->single_step)
            continue;
        cpu->chain_from = NULL;
        if (r == CPU_EXIT_CHAIN)
            return CPU_EXIT_INTERRUPT;      /* one step done */
        if (r == CPU_EXIT_FLUSH) {
            tr_flush(tr, cpu);
            continue;
        }
        return r;
    }
}
