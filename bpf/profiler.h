/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one declaration of the sample record that profiler.bpf.c writes into the
 * ring buffer. pipeline/record/layout.ts mirrors it field by field and a test
 * checks every offset. Bump DP_RECORD_VERSION on any change.
 *
 * A record is a fixed header followed by three variable-length byte runs, in
 * this order and without padding between them:
 *   kstack  kstack_len bytes (u64 kernel return addresses, innermost first)
 *   ustack  ustack_len bytes copied from user memory starting at regs[DP_REG_SP]
 *   gstack  gstack_len bytes copied from user memory starting at gstack_base
 * The ring buffer pads the whole record to 8 bytes; the lengths are exact.
 */
#ifndef DENOPROF_PROFILER_H
#define DENOPROF_PROFILER_H

#define DP_RECORD_VERSION 2
#define DP_COMM_LEN 16
#define DP_KSTACK_MAX_DEPTH 127
#define DP_NREGS 4

/* regs[] slots. amd64: ip, sp, bp, 0. arm64: pc, sp, fp (x29), lr (x30). */
#define DP_REG_PC 0
#define DP_REG_SP 1
#define DP_REG_FP 2
#define DP_REG_LR 3

/* flags */
#define DP_F_USER_REGS   (1u << 0) /* regs[] hold the task's user registers */
#define DP_F_KERNEL_MODE (1u << 1) /* the sample interrupted kernel code */
#define DP_F_GO          (1u << 2) /* go block below was filled (pid marked as Go) */
#define DP_F_GO_G_ERR    (1u << 3) /* reading g/m/curg faulted; go block partial */
#define DP_F_GSTACK      (1u << 4) /* thread was off curg's stack; gstack copied */
#define DP_F_SYSSTACK    (1u << 5) /* on curg's stack inside a cgo callback: gstack
				    * holds the system stack from g0.sched.sp */

/* Counter slots of the per-CPU `counters` array map. */
enum dp_counter {
	DP_C_SAMPLES = 0,     /* program invocations */
	DP_C_RINGBUF_FULL,    /* bpf_ringbuf_output failed: record lost */
	DP_C_USTACK_FAULT,    /* user stack copy got no byte: first page faulted */
	DP_C_KSTACK_ERR,      /* bpf_get_stack failed */
	DP_C_IDLE,            /* sample in the idle task (pid 0), not recorded */
	DP_C_FILTERED,        /* pid not in the target set, not recorded */
	DP_C_GO_READ_ERR,     /* reading Go runtime structures faulted */
	DP_C_GSTACK_FAULT,    /* goroutine or system stack copy ended early on a fault */
	DP_C_MAX,
};

/* What userspace tells the program about one Go process (map go_procs, key pid). */
struct dp_go_proc {
	__s64 tls_g_offset;     /* g = *(tls_base + tls_g_offset) */
	__u32 off_g_m;          /* g.m */
	__u32 off_g_sched_sp;   /* g.sched.sp */
	__u32 off_g_sched_pc;   /* g.sched.pc */
	__u32 off_g_sched_bp;   /* g.sched.bp */
	__u32 off_g_syscallsp;  /* g.syscallsp */
	__u32 off_g_syscallpc;  /* g.syscallpc */
	__u32 off_g_syscallbp;  /* g.syscallbp, 0 when the version has none */
	__u32 off_g_goid;       /* g.goid */
	__u32 off_g_labels;     /* g.labels, 0 when unknown */
	__u32 off_m_g0;         /* m.g0 */
	__u32 off_m_curg;       /* m.curg */
	__u32 reserved;
	__u32 off_m_ncgo;       /* m.ncgo (int32), 0 = unknown: no system stack copy */
	__u32 off_m_isextra;    /* m.isextra (bool), 0 = none (Go < 1.21) */
	__u32 off_m_vdsosp;     /* m.vdsoSP, 0 = unknown: not read */
	__u32 off_m_vdsopc;     /* m.vdsoPC, read with m.vdsoSP */
};

struct dp_record {
	__u16 version;             /*   0 DP_RECORD_VERSION */
	__u16 flags;               /*   2 DP_F_* */
	__u32 header_size;         /*   4 sizeof(struct dp_record) */
	__u32 pid;                 /*   8 tgid */
	__u32 tid;                 /*  12 */
	__u32 cpu;                 /*  16 */
	__u32 reserved0;           /*  20 */
	__u64 ktime_ns;            /*  24 bpf_ktime_get_ns (CLOCK_MONOTONIC) */
	char comm[DP_COMM_LEN];    /*  32 thread name */
	__u64 regs[DP_NREGS];      /*  48 user registers, see DP_REG_* */
	__u64 tls_base;            /*  80 amd64 fsbase, arm64 tpidr_el0 */
	__s32 kstack_len;          /*  88 bytes, or -errno from bpf_get_stack */
	__u32 ustack_len;          /*  92 bytes copied from regs[DP_REG_SP] */
	__s32 ustack_err;          /*  96 0, or -errno of the read that ended the copy early */
	__u32 gstack_len;          /* 100 bytes copied from gstack_base */
	__u64 gstack_base;         /* 104 user address of the first gstack byte */
	/* Go block: raw words as read, validated in userspace. */
	__u64 go_g;                /* 112 g from TLS */
	__u64 go_m;                /* 120 g.m */
	__u64 go_g0;               /* 128 m.g0 */
	__u64 go_curg;             /* 136 m.curg */
	__u64 go_curg_m;           /* 144 curg.m */
	__u64 go_stack_lo;         /* 152 curg.stack.lo */
	__u64 go_stack_hi;         /* 160 curg.stack.hi */
	__u64 go_sched_pc;         /* 168 curg.sched.pc */
	__u64 go_sched_sp;         /* 176 curg.sched.sp */
	__u64 go_sched_bp;         /* 184 curg.sched.bp */
	__u64 go_syscall_pc;       /* 192 curg.syscallpc */
	__u64 go_syscall_sp;       /* 200 curg.syscallsp */
	__u64 go_syscall_bp;       /* 208 curg.syscallbp (0 before Go 1.23) */
	__u64 go_goid;             /* 216 curg.goid */
	__u64 go_g0_sched_sp;      /* 224 g0.sched.sp */
	__u64 go_labels;           /* 232 curg.labels */
	/* Version 2. Version 1 ended here (header_size 240). */
	__u64 go_vdso_sp;          /* 240 m.vdsoSP: vDSO caller's SP, 0 = not in a vDSO call */
	__u64 go_vdso_pc;          /* 248 m.vdsoPC: vDSO caller's return PC */
};                             /* 256 */

#endif /* DENOPROF_PROFILER_H */
