/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The few kernel types profiler.bpf.c touches, written by hand instead of a
 * generated vmlinux.h so the build does not depend on the build machine's
 * kernel. Every struct is marked preserve_access_index: clang records each
 * field access as a CO-RE relocation and libbpf rewrites the offset against
 * the running kernel's BTF at load time, so only names and types matter here,
 * never the declared layout or the omitted fields.
 *
 * x86-64 only for now (arm64 would add user_pt_regs and thread.uw.tp_value).
 */
#ifndef DENOPROF_VMLINUX_MIN_H
#define DENOPROF_VMLINUX_MIN_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_RINGBUF = 27,
};

enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
};

enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
};

/* Kernel-internal register frame (arch/x86/include/asm/ptrace.h). */
struct pt_regs {
	unsigned long bp;
	unsigned long ip;
	unsigned long sp;
} __attribute__((preserve_access_index));

/*
 * The perf_event program context as the UAPI defines it
 * (include/uapi/linux/bpf_perf_event.h with x86-64 bpf_user_pt_regs_t). The
 * verifier rewrites context accesses itself, so this one is a fixed layout,
 * NOT a CO-RE type.
 */
struct dp_uapi_pt_regs {
	unsigned long r15, r14, r13, r12, rbp, rbx, r11, r10;
	unsigned long r9, r8, rax, rcx, rdx, rsi, rdi, orig_rax;
	unsigned long rip, cs, eflags, rsp, ss;
};

struct bpf_perf_event_data {
	struct dp_uapi_pt_regs regs;
	__u64 sample_period;
	__u64 addr;
};

struct thread_struct {
	unsigned long fsbase;
} __attribute__((preserve_access_index));

struct mm_struct {
	unsigned long start_stack;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	int tgid;
	struct mm_struct *mm;
	struct thread_struct thread;
} __attribute__((preserve_access_index));

#endif /* DENOPROF_VMLINUX_MIN_H */
