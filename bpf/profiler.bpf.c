// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * denoprof sampler: one perf_event program, run by a software cpu-clock event
 * on every CPU. Each run writes one struct dp_record (profiler.h) plus the
 * kernel stack, a copy of the user stack and, for Go processes, a copy of the
 * goroutine stack into the ring buffer `events`. Unwinding happens in
 * userspace; this program only collects bytes and counts what it lost.
 *
 * The record is assembled in a per-CPU slot of the `scratch` array (BPF
 * stack is 512 bytes and PERCPU_ARRAY values are capped at 32 KiB), then sent
 * with bpf_ringbuf_output() using its exact length, so only used bytes travel.
 */
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "profiler.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PAGE_SIZE 4096
/* Hard caps: the verifier must see bounded sizes, the loader picks less. */
#define USTACK_CAP (64 * 1024)
#define GSTACK_CAP (64 * 1024)
#define KSTACK_BYTES (DP_KSTACK_MAX_DEPTH * 8)
/* One chunk more than CAP/PAGE: the first chunk may be a partial page. */
#define USTACK_CHUNKS (USTACK_CAP / PAGE_SIZE + 1)
#define GSTACK_CHUNKS (GSTACK_CAP / PAGE_SIZE + 1)
#define HDR_SIZE ((__u32)sizeof(struct dp_record))
/* A page of slack so the last chunk bound check never cuts a copy short. */
#define SCRATCH_SIZE (HDR_SIZE + KSTACK_BYTES + USTACK_CAP + GSTACK_CAP + PAGE_SIZE)

/* Set by the loader before load (rodata); the verifier sees them as consts. */
const volatile __u32 ustack_max = 16384;
const volatile __u32 gstack_max = 32768;
const volatile __u32 filter_pids = 0;

struct scratch_value {
	__u8 bytes[SCRATCH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	/* The loader sets max_entries to the number of possible CPUs. */
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch_value);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	/* The loader sets the size (power of two, multiple of the page size). */
	__uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DP_C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} target_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct dp_go_proc);
} go_procs SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &slot);

	if (c)
		*c += 1; /* per-CPU slot, no other writer */
}

/*
 * Copies [src, src + want) of user memory into buf + pos, one page-bounded
 * chunk at a time, so a missing page ends the copy instead of failing all of
 * it. Returns the bytes copied; *err gets the -errno of the failed chunk.
 * `pos` and every chunk size are re-bounded on each iteration so the verifier
 * can prove buf + pos + size stays inside the scratch value.
 */
static __always_inline __u32 copy_user_chunks(__u8 *buf, __u64 pos, __u64 src,
					       __u64 want, __u64 cap,
					       __s32 *err)
{
	__u64 done = 0;

	*err = 0;
	if (want > cap)
		want = cap;
	for (int i = 0; i < USTACK_CHUNKS; i++) {
		__u64 n, at;
		long rc;

		if (done >= want)
			break;
		n = PAGE_SIZE - ((src + done) & (PAGE_SIZE - 1));
		if (n > want - done)
			n = want - done;
		at = pos + done;
		/* Re-bound both so the verifier sees buf + at + n inside scratch. */
		asm volatile("" : "+r"(at), "+r"(n));
		if (at > SCRATCH_SIZE - PAGE_SIZE || n > PAGE_SIZE || n == 0)
			break;
		rc = bpf_probe_read_user(buf + at, n, (const void *)(src + done));
		if (rc < 0) {
			*err = (__s32)rc;
			break;
		}
		done += n;
	}
	return (__u32)done;
}

static __always_inline int read_word(__u64 *out, __u64 addr)
{
	return bpf_probe_read_user(out, sizeof(*out), (const void *)addr);
}

/*
 * Fills the Go block from the thread's TLS: g, g.m, m.g0, m.curg and the curg
 * fields the unwinder needs. Returns 0 when every word was read, else -1 and
 * DP_F_GO_G_ERR is set. Offsets come from userspace (per Go version).
 */
static __always_inline int read_go(struct dp_record *r, const struct dp_go_proc *gp)
{
	__u64 curg;

	r->flags |= DP_F_GO;
	if (!r->tls_base)
		goto fault;
	if (read_word(&r->go_g, r->tls_base + gp->tls_g_offset))
		goto fault;
	if (!r->go_g)
		return 0; /* thread never ran Go (pure C thread) */
	if (read_word(&r->go_m, r->go_g + gp->off_g_m) || !r->go_m)
		goto fault;
	if (read_word(&r->go_g0, r->go_m + gp->off_m_g0))
		goto fault;
	if (read_word(&r->go_curg, r->go_m + gp->off_m_curg))
		goto fault;
	if (r->go_g0 && read_word(&r->go_g0_sched_sp, r->go_g0 + gp->off_g_sched_sp))
		goto fault;
	/*
	 * m.vdsoSP/vdsoPC: the vDSO callers (nanotime1, walltime, time.now,
	 * vgetrandom1) set them to their caller's SP and return PC before
	 * moving SP to g0's stack; 0 when not in a vDSO call.
	 */
	if (gp->off_m_vdsosp &&
	    (read_word(&r->go_vdso_sp, r->go_m + gp->off_m_vdsosp) ||
	     read_word(&r->go_vdso_pc, r->go_m + gp->off_m_vdsopc)))
		goto fault;
	curg = r->go_curg;
	if (!curg)
		return 0; /* m has no user goroutine (scheduler, idle) */
	if (read_word(&r->go_curg_m, curg + gp->off_g_m) ||
	    read_word(&r->go_stack_lo, curg) ||
	    read_word(&r->go_stack_hi, curg + 8) ||
	    read_word(&r->go_sched_pc, curg + gp->off_g_sched_pc) ||
	    read_word(&r->go_sched_sp, curg + gp->off_g_sched_sp) ||
	    read_word(&r->go_sched_bp, curg + gp->off_g_sched_bp) ||
	    read_word(&r->go_syscall_pc, curg + gp->off_g_syscallpc) ||
	    read_word(&r->go_syscall_sp, curg + gp->off_g_syscallsp) ||
	    read_word(&r->go_goid, curg + gp->off_g_goid))
		goto fault;
	if (gp->off_g_syscallbp &&
	    read_word(&r->go_syscall_bp, curg + gp->off_g_syscallbp))
		goto fault;
	if (gp->off_g_labels && read_word(&r->go_labels, curg + gp->off_g_labels))
		goto fault;
	return 0;
fault:
	r->flags |= DP_F_GO_G_ERR;
	count(DP_C_GO_READ_ERR);
	return -1;
}

/*
 * True when the M is inside a cgo call (m.ncgo > 0: a callback on a Go-made
 * M runs while its cgocall is still counted) or is an extra M (a C-made
 * thread: its goroutine runs only inside callbacks; Go >= 1.21). Used only
 * when the thread is on curg's stack, where it means "inside a callback".
 */
static __always_inline int in_cgo_callback(const struct dp_record *r,
					   const struct dp_go_proc *gp)
{
	__s32 ncgo = 0;
	__u8 extra = 0;

	if (!gp->off_m_ncgo)
		return 0;
	if (bpf_probe_read_user(&ncgo, sizeof(ncgo),
				(const void *)(r->go_m + gp->off_m_ncgo)))
		return 0;
	if (ncgo > 0)
		return 1;
	if (gp->off_m_isextra &&
	    !bpf_probe_read_user(&extra, sizeof(extra),
				 (const void *)(r->go_m + gp->off_m_isextra)))
		return extra != 0;
	return 0;
}

SEC("perf_event")
int dp_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	__u32 cpu = bpf_get_smp_processor_id();
	struct task_struct *task;
	struct scratch_value *slot;
	struct dp_go_proc *gp;
	struct dp_record *r;
	__u8 *buf;
	__u64 pos;
	__u32 n;
	long klen;

	count(DP_C_SAMPLES);
	if (pid == 0) {
		count(DP_C_IDLE);
		return 0;
	}
	if (filter_pids && !bpf_map_lookup_elem(&target_pids, &pid)) {
		count(DP_C_FILTERED);
		return 0;
	}
	slot = bpf_map_lookup_elem(&scratch, &cpu);
	if (!slot)
		return 0;
	buf = slot->bytes;
	r = (struct dp_record *)buf;
	__builtin_memset(r, 0, sizeof(*r));
	r->version = DP_RECORD_VERSION;
	r->header_size = HDR_SIZE;
	r->pid = pid;
	r->tid = tid;
	r->cpu = cpu;
	r->ktime_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(r->comm, sizeof(r->comm));

	/* CPL in the low two bits of CS: 3 = user mode when the timer fired. */
	if ((ctx->regs.cs & 3) != 3)
		r->flags |= DP_F_KERNEL_MODE;

	task = bpf_get_current_task_btf();
	if (task->mm) {
		/* Saved user registers of this task, valid in kernel mode too. */
		struct pt_regs *uregs = (struct pt_regs *)bpf_task_pt_regs(task);

		r->regs[DP_REG_PC] = uregs->ip;
		r->regs[DP_REG_SP] = uregs->sp;
		r->regs[DP_REG_FP] = uregs->bp;
		r->flags |= DP_F_USER_REGS;
		r->tls_base = task->thread.fsbase;
	}

	pos = HDR_SIZE;
	klen = bpf_get_stack(ctx, buf + HDR_SIZE, KSTACK_BYTES, 0);
	r->kstack_len = (__s32)klen;
	if (klen < 0)
		count(DP_C_KSTACK_ERR);
	else if (klen <= KSTACK_BYTES)
		pos += (__u32)klen;

	if (r->flags & DP_F_USER_REGS) {
		n = copy_user_chunks(buf, pos, r->regs[DP_REG_SP], ustack_max,
				     USTACK_CAP, &r->ustack_err);
		/*
		 * Running into the unmapped page above the stack is the normal end
		 * of a copy (stacks are often smaller than ustack_max): only a copy
		 * that got nothing is a loss worth counting. ustack_err tells
		 * userspace how every copy ended.
		 */
		if (r->ustack_err && n == 0)
			count(DP_C_USTACK_FAULT);
		r->ustack_len = n;
		pos += n;
	}

	gp = bpf_map_lookup_elem(&go_procs, &pid);
	if (gp && (r->flags & DP_F_USER_REGS) && read_go(r, gp) == 0 && r->go_curg) {
		__u64 sp = r->regs[DP_REG_SP];
		__u64 lo = r->go_stack_lo, hi = r->go_stack_hi;
		__u64 resume = 0;
		__s32 gerr = 0;

		/*
		 * Off curg's stack (g0, gsignal, C): the Go frames are elsewhere.
		 * Copy from the lowest of the resume points inside the stack:
		 * syscallsp (cgo call, syscall), sched.sp (systemstack,
		 * morestack, mcall, asmcgocall) and m.vdsoSP (vDSO call on g0).
		 * Two are live at once in e.g. exitsyscall → systemstack, where
		 * sched.sp is the lower one.
		 */
		if (hi > lo && (sp < lo || sp >= hi)) {
			if (r->go_syscall_sp >= lo && r->go_syscall_sp < hi)
				resume = r->go_syscall_sp;
			if (r->go_sched_sp >= lo && r->go_sched_sp < hi &&
			    (!resume || r->go_sched_sp < resume))
				resume = r->go_sched_sp;
			if (r->go_vdso_sp >= lo && r->go_vdso_sp < hi &&
			    (!resume || r->go_vdso_sp < resume))
				resume = r->go_vdso_sp;
		}
		if (!resume && hi > lo && sp >= lo && sp < hi &&
		    r->go_g0_sched_sp && in_cgo_callback(r, gp)) {
			/*
			 * On curg's stack inside a cgo callback: the C callers and
			 * the asmcgocall/cgocallback frames are on the system stack,
			 * from g0.sched.sp (cgocallback's g0 frame) up. Copy that
			 * instead, up to g0.stack.hi when it is sane.
			 */
			__u64 g0sp = r->go_g0_sched_sp, g0hi = 0, want = gstack_max;
			int bounded = 0;

			if (!read_word(&g0hi, r->go_g0 + 8) && g0hi > g0sp &&
			    g0hi - g0sp < want) {
				want = g0hi - g0sp;
				bounded = 1;
			}
			n = copy_user_chunks(buf, pos, g0sp, (__u32)want,
					     GSTACK_CAP, &gerr);
			/* Unbounded, running off the mapping is the normal end. */
			if (gerr && (bounded || n == 0))
				count(DP_C_GSTACK_FAULT);
			r->gstack_base = g0sp;
			r->gstack_len = n;
			r->flags |= DP_F_SYSSTACK;
			pos += n;
		} else if (resume) {
			__u64 want = hi - resume;

			if (want > gstack_max)
				want = gstack_max;
			n = copy_user_chunks(buf, pos, resume, (__u32)want,
					     GSTACK_CAP, &gerr);
			if (gerr)
				count(DP_C_GSTACK_FAULT);
			r->gstack_base = resume;
			r->gstack_len = n;
			r->flags |= DP_F_GSTACK;
			pos += n;
		}
	}

	if (pos > SCRATCH_SIZE)
		return 0;
	if (bpf_ringbuf_output(&events, buf, pos, BPF_RB_NO_WAKEUP))
		count(DP_C_RINGBUF_FULL);
	return 0;
}
