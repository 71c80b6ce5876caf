/* kvm-int.h - lib/kvm's own state, shared by its files only. */
#ifndef EMU_KVM_INT_H
#define EMU_KVM_INT_H

#include <pthread.h>
#include <linux/kvm.h>
#include "kvm/kvm.h"

struct kvm_slot {
    bool used;
    uint64_t gpa, size;
    void *hva;
    uint32_t flags;
};

struct kvm_cpu {
    struct kvm *k;
    int index;
    int fd;
    struct kvm_run *run;        /* mmap'ed, run_size bytes */
    pthread_t thread;
    bool thread_live;
    int stop;                   /* atomic: leave the run loop */
    int halted;                 /* atomic: stopped by HLT/an event until restarted */
    struct kvm_exit_counts counts;  /* written by the vCPU thread only */
};

struct kvm {
    struct kvm_config cfg;
    int dev_fd, vm_fd;
    size_t run_size;            /* KVM_GET_VCPU_MMAP_SIZE */
    int max_cpus, max_slots;
    bool irqchip, pit;
    bool readonly_mem;          /* KVM_CAP_READONLY_MEM */
    struct kvm_slot slots[KVM_MAX_SLOTS];
    struct kvm_cpuid2 *cpuid;   /* supported, filtered (cpuid.c) */
    int n_cpus;
    struct kvm_cpu *cpus[KVM_MAX_CPUS];
    bool running;
};

/* The signal that kicks a vCPU thread out of KVM_RUN (run.c). */
int kvm_kick_signal(void);
/* Handle one exit; false: the vCPU stops (run.c calls exit.c). */
bool kvm_handle_exit(struct kvm_cpu *c);
/* Report a fatal exit with the registers and tell the machine. */
void kvm_cpu_fatal(struct kvm_cpu *c, const char *why);
/* Deliver an event to the ops or the machine. */
void kvm_cpu_event(struct kvm_cpu *c, enum kvm_event ev, const char *detail);
/* Load the filtered supported CPUID once per VM (cpuid.c). */
int kvm_cpuid_load(struct kvm *k, struct error **errp);

#endif
