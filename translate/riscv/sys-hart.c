/* sys-hart.c - the harts of a machine: one thread each, running
 * translated code until something needs them (an exception, an
 * interrupt, WFI, a stop request).
 *
 * How a hart learns about the outside world: devices (any thread, under
 * the device lock) set bits of mip_hw with atomic operations and kick the
 * hart: exit_req makes translated code return at the next block boundary
 * or loop back edge, and the wait condition wakes a hart parked in WFI.
 * The run loop then checks mip & mie against the privilege and the
 * global enables and takes the highest-priority interrupt.  Nothing here
 * ever waits for the loop thread, and the loop never waits for a hart
 * except in rv_sys_stop (which kicks it first).
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "riscv/sys-int.h"
#include "i18n.h"
#include "log.h"
#include "msg.h"

uint64_t rv_time(void)
{
    return hw_clock_ns() / 100;         /* mtime: 10 MHz, as the device tree says */
}

uint64_t rv_mip(struct rv_hart *h)
{
    uint64_t m = __atomic_load_n(&h->mip_hw, __ATOMIC_ACQUIRE) | h->mip_sw;
    if (h->menvcfg & MENVCFG_STCE) {
        /* Sstc: STIP is stimecmp's comparison, not a software bit */
        m &= ~(UINT64_C(1) << RV_IRQ_STI);
        if (rv_time() >= h->stimecmp)
            m |= UINT64_C(1) << RV_IRQ_STI;
    }
    return m;
}

void rv_hart_kick(struct rv_hart *h)
{
    __atomic_store_n(&h->cpu.exit_req, 1, __ATOMIC_RELEASE);
    pthread_mutex_lock(&h->wait_lock);
    pthread_cond_signal(&h->wait_cond);
    pthread_mutex_unlock(&h->wait_lock);
}

void rv_hart_set_mip(void *hart, int n, int level)
{
    struct rv_hart *h = hart;
    uint64_t bit = UINT64_C(1) << n;
    if (level && n == RV_IRQ_MSI)
        __atomic_fetch_add(&h->sys->st_exit[12], 1, __ATOMIC_RELAXED);
    if (level)
        __atomic_fetch_or(&h->mip_hw, bit, __ATOMIC_ACQ_REL);
    else
        __atomic_fetch_and(&h->mip_hw, ~bit, __ATOMIC_ACQ_REL);
    if (level)
        rv_hart_kick(h);
}

/* The interrupt to take now, or -1: pending and enabled in mie, routed by
 * mideleg, and globally enabled for the hart's privilege. */
int rv_pending_irq(struct rv_hart *h)
{
    uint64_t pend = rv_mip(h) & h->mie;
    if (!pend)
        return -1;
    static const int order[] = { RV_IRQ_MEI, RV_IRQ_MSI, RV_IRQ_MTI,
                                 RV_IRQ_SEI, RV_IRQ_SSI, RV_IRQ_STI };
    uint64_t m = pend & ~h->mideleg;
    bool m_on = h->priv < RV_PRIV_M || (h->mstatus & MST_MIE);
    uint64_t s = pend & h->mideleg;
    bool s_on = h->priv < RV_PRIV_S || (h->priv == RV_PRIV_S && (h->mstatus & MST_SIE));
    uint64_t take = (m && m_on) ? m : (s && s_on) ? s : 0;
    for (size_t i = 0; take && i < ARRAY_SIZE(order); i++)
        if ((take >> order[i]) & 1)
            return order[i];
    return -1;
}

/* WFI: sleep until an interrupt is pending in mie (whatever the global
 * enables) or the hart must stop. */
static void wait_for_interrupt(struct rv_hart *h)
{
    h->sys->st_exit[13]++;
    pthread_mutex_lock(&h->wait_lock);
    while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE) && !(rv_mip(h) & h->mie)) {
        h->sys->st_exit[15]++;
        pthread_cond_wait(&h->wait_cond, &h->wait_lock);
    }
    pthread_mutex_unlock(&h->wait_lock);
}

static void hart_fatal(struct rv_hart *h, const char *what)
{
    msg_error(_("hart %d: %s at pc 0x%" PRIx64), h->id, what, h->cpu.pc);
    __atomic_store_n(&h->stop, 1, __ATOMIC_RELEASE);
    if (h->sys->request)
        h->sys->request(h->sys->machine, MACHINE_QUIT, 1);
}

static void take_exit(struct rv_hart *h, int r)
{
    switch (r) {
    case CPU_EXIT_INTERRUPT:
        break;
    case CPU_EXIT_ECALL:
        rv_trap(h, h->priv == RV_PRIV_U ? RV_EXC_ECALL_U
                   : h->priv == RV_PRIV_S ? RV_EXC_ECALL_S : RV_EXC_ECALL_M, false, 0);
        break;
    case CPU_EXIT_EBREAK:
        if (unlikely(h->sys->dbg) && rv_dbg_ebreak(h))
            break;                                  /* the debugger's breakpoint */
        rv_trap(h, RV_EXC_BREAKPOINT, false, 0);    /* as qemu: mtval 0 */
        break;
    case CPU_EXIT_ILLEGAL: {
        /* the translator found no instruction: mtval gets its bits */
        uint32_t lo = 0, hi = 0;
        uint64_t bits = 0;
        if (rv_read_code16(h, h->cpu.pc, &lo) == 0) {
            bits = lo;
            if ((lo & 3) == 3 && rv_read_code16(h, h->cpu.pc + 2, &hi) == 0)
                bits |= (uint64_t)hi << 16;
        }
        rv_trap(h, RV_EXC_ILLEGAL, false, bits);
        break;
    }
    case CPU_EXIT_FAULT:
        if (!h->exc_pending) {
            hart_fatal(h, _("internal error: host fault in translated code"));
            return;
        }
        rv_trap(h, h->exc_cause, false, h->exc_tval);
        break;
    case CPU_EXIT_FLUSH:
        break;
    default:
        hart_fatal(h, _("internal error: unexpected exit from translated code"));
        break;
    }
}

static void *hart_main(void *arg)
{
    struct rv_hart *h = arg;
    struct tr *tr = h->sys->tr;
    __atomic_store_n(&h->tid, (int)gettid(), __ATOMIC_RELEASE);
    /* signals belong to the loop thread */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    rv_fp_load_mode(&h->cpu);
    while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&h->cpu.exit_req, 0, __ATOMIC_RELEASE);
        if (h->wfi) {
            wait_for_interrupt(h);
            h->wfi = false;
            continue;
        }
        int irq = h->dbg_step ? -1 : rv_pending_irq(h);    /* steps run with interrupts off */
        if (irq >= 0)
            rv_trap(h, (uint64_t)irq, true, 0);
        rv_select_ctx(h);
        h->exc_pending = false;
        int r = tr_run(tr, &h->cpu);
        h->sys->st_runs++;
        h->sys->st_exit[r & 15]++;
        take_exit(h, r);
        if (unlikely(h->dbg_step))
            rv_dbg_stepped(h);
    }
    rv_fp_sync(&h->cpu);        /* the host's FP flags die with the thread */
    tr_thread_exit(tr);
    return NULL;
}

static void sys_flushed(void *opaque)
{
    struct rv_sys *s = opaque;
    /* every block is gone: the jump caches lead nowhere, and no page holds code */
    for (int k = 0; k < s->n_harts; k++)
        for (int c = 0; c < RV_N_CTX; c++)
        {
            memset(s->harts[k]->ctx[c].jc, 0xff, sizeof(s->harts[k]->ctx[c].jc));
            /* the log no longer covers the jump cache's old entries: fine,
             * they are all gone; its TLB entries stay logged */
        }
    for (int i = 0; i < MEM_MAX_REGIONS; i++)
        if (s->code_map[i] && i < s->mem->n)
            memset(s->code_map[i], 0, (size_t)(s->mem->r[i].size >> 12));
}

static void code_page(void *opaque, uint64_t page)
{
    rv_mmu_code_page(opaque, page);
}

static void sstc_fired(void *opaque)
{
    rv_hart_kick(opaque);
}

static void hart_reset(struct rv_hart *h)
{
    memset(h->cpu.x, 0, sizeof(h->cpu.x));
    memset(h->cpu.f, 0, sizeof(h->cpu.f));
    h->cpu.pc = h->sys->reset_pc;
    h->cpu.fflags = 0;
    h->cpu.frm = 0;
    h->cpu.res_addr = ~UINT64_C(0);
    h->cpu.exit_req = 0;
    h->cpu.features = 0;
    rv_csr_reset(h);        /* mip_hw stays: devices drive those lines (levels) */
    h->wfi = false;
    h->exc_pending = false;
    rv_tlb_flush_all(h);
    rv_select_ctx(h);
}

int rv_sys_new(struct rv_sys **out, const struct rv_sys_config *cfg, struct error **errp)
{
    if (cfg->n_harts < 1 || cfg->n_harts > 64)
        return err_set(errp, EINVAL, _("%d harts: emu-system-riscv64 supports 1 to 64"),
                       cfg->n_harts);
    struct rv_sys *s = calloc(1, sizeof(*s));
    if (!s)
        return err_set(errp, ENOMEM, _("out of memory"));
    s->n_harts = cfg->n_harts;
    s->mem = cfg->mem;
    s->machine = cfg->machine;
    s->request = cfg->request;
    s->loop = cfg->loop;
    s->ext = cfg->ext & RV_EXT_ALL;
    s->reset_pc = cfg->reset_pc;
    int r = tr_install_fault_handler(errp);
    if (r < 0)
        goto fail;
    r = tr_new(&s->tr, &rv_frontend, &x86_backend, TR_MODE_JIT, s->ext | RV_EXT_SYS,
               rv_sys_fetch, s, errp);
    if (r < 0)
        goto fail;
    r = tr_sys_enable(s->tr, errp);
    if (r < 0)
        goto fail;
    s->tr->sys_ld_slow = rv_sys_ld_slow;
    s->tr->sys_st_slow = rv_sys_st_slow;
    s->tr->sys_code_phys = rv_sys_code_phys;
    s->tr->sys_jc_drop = rv_sys_jc_drop;
    s->tr->sys_code_page = code_page;
    s->tr->sys_opaque = s;
    s->tr->on_flush = sys_flushed;
    s->tr->mem_opaque = s;
    if (s->n_harts > 1)
        tr_set_multi_threaded(s->tr);
    s->harts = calloc((size_t)s->n_harts, sizeof(*s->harts));
    if (!s->harts) {
        r = err_set(errp, ENOMEM, _("out of memory"));
        goto fail;
    }
    for (int i = 0; i < s->n_harts; i++) {
        struct rv_hart *h;
        if (posix_memalign((void **)&h, 64, sizeof(*h)) != 0) {
            r = err_set(errp, ENOMEM, _("out of memory"));
            goto fail;
        }
        memset(h, 0, sizeof(*h));
        s->harts[i] = h;
        h->sys = s;
        h->id = i;
        h->cpu.ctx = h;
        pthread_mutex_init(&h->wait_lock, NULL);
        pthread_cond_init(&h->wait_cond, NULL);
        r = rv_mmu_init(h, errp);
        if (r < 0)
            goto fail;
        h->stimer = hw_timer_new(s->loop, sstc_fired, h, errp);
        if (!h->stimer) {
            r = -ENOMEM;
            goto fail;
        }
        hart_reset(h);
    }
    *out = s;
    return 0;
fail:
    rv_sys_free(s);
    return r < 0 ? r : -EINVAL;
}

void rv_sys_free(struct rv_sys *s)
{
    if (!s)
        return;
    rv_sys_stop(s);
    for (int i = 0; s->harts && i < s->n_harts; i++) {
        struct rv_hart *h = s->harts[i];
        if (!h)
            continue;
        if (h->stimer)
            hw_timer_free(h->stimer);
        rv_mmu_free(h);
        pthread_mutex_destroy(&h->wait_lock);
        pthread_cond_destroy(&h->wait_cond);
        free(h);
    }
    if (getenv("EMU_STATS") && s->tr)
        fprintf(stderr, "translated %" PRIu64 " invalidated %" PRIu64 " flushes %" PRIu64
                " runs %" PRIu64 " (int %" PRIu64 " ecall %" PRIu64 " fault %" PRIu64 ") ld_slow %" PRIu64
                " st_slow %" PRIu64 " walks %" PRIu64 "\n",
                s->tr->n_translated, s->tr->n_invalidated, s->tr->n_flushes, s->st_runs,
                s->st_exit[CPU_EXIT_INTERRUPT], s->st_exit[CPU_EXIT_ECALL], s->st_exit[CPU_EXIT_FAULT],
                s->st_ld_slow, s->st_st_slow, s->st_walk);
    if (getenv("EMU_STATS") && s->tr)
        fprintf(stderr, "code lookups %" PRIu64 ", in the TLB %" PRIu64 "; flushes U %" PRIu64 " S %" PRIu64 " S+SUM %" PRIu64 " M %" PRIu64 "\n", s->st_code, s->st_code_hit, s->st_exit[8], s->st_exit[9], s->st_exit[10], s->st_exit[11]);
    if (getenv("EMU_STATS") && s->tr)
        fprintf(stderr, "software interrupts %" PRIu64 ", WFI %" PRIu64 " (waits %" PRIu64 "), non-global flushes %" PRIu64 "\n",
                s->st_exit[12], s->st_exit[13], s->st_exit[15], s->st_exit[14]);
    rv_dbg_free(s);
    free(s->harts);
    for (int i = 0; i < MEM_MAX_REGIONS; i++)
        free(s->code_map[i]);
    tr_free(s->tr);
    free(s);
}

struct rv_hart *rv_sys_hart(struct rv_sys *s, int i)
{
    return i >= 0 && i < s->n_harts ? s->harts[i] : NULL;
}

int rv_hart_start(struct rv_hart *h, struct error **errp)
{
    if (h->thread_started)
        return 0;
    __atomic_store_n(&h->stop, 0, __ATOMIC_RELEASE);
    int e = pthread_create(&h->thread, NULL, hart_main, h);
    if (e)
        return err_set_errno(errp, e, _("cannot start the thread of hart %d"), h->id);
    h->thread_started = true;
    h->sys->running = true;
    return 0;
}

int rv_sys_start(struct rv_sys *s, struct error **errp)
{
    if (s->running)
        return 0;
    for (int i = 0; i < s->n_harts; i++) {
        int r = rv_hart_start(s->harts[i], errp);
        if (r < 0) {
            rv_sys_stop(s);
            return r;
        }
    }
    return 0;
}

void rv_sys_stop(struct rv_sys *s)
{
    for (int i = 0; s->harts && i < s->n_harts; i++) {
        struct rv_hart *h = s->harts[i];
        if (!h || !h->thread_started)
            continue;
        __atomic_store_n(&h->stop, 1, __ATOMIC_RELEASE);
        rv_hart_kick(h);
    }
    for (int i = 0; s->harts && i < s->n_harts; i++) {
        struct rv_hart *h = s->harts[i];
        if (!h || !h->thread_started)
            continue;
        pthread_join(h->thread, NULL);
        h->thread_started = false;
    }
    s->running = false;
}

void rv_sys_reset(struct rv_sys *s)
{
    rv_sys_stop(s);
    tr_flush(s->tr, NULL);      /* the boot images are written again */
    for (int i = 0; i < s->n_harts; i++)
        hart_reset(s->harts[i]);
}
