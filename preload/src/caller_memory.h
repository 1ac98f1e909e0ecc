/* Reading the program's memory without faulting, shared by the C stub (stub.c, before the
   engine is loaded) and the engine (sockaddr.cpp): plain C, every function static inline,
   atomics through the GCC builtins that C and C++ both have.

   A hook reads a sockaddr or a msghdr before the kernel does. Where the kernel would answer
   EFAULT, the program must still get EFAULT, not a crash in the hook. The choices,
   measured here (Debian 12 guest, 1,000,000 calls each): a system call that does nothing
   costs about 0.35 us, rt_sigprocmask as a probe the same, process_vm_readv of 28 bytes
   from our own process about 2.5 us (it pins the pages); a UDP sendto to loopback about
   15 us. Catching the fault instead (a SIGSEGV handler with a recovery point) would cost
   nothing on the normal path, but the handler is the program's: taking it over is visible
   to sigaction() and breaks programs that install their own.

   So: (1) no system call for memory known to be mapped: the page of the caller's live
   frame; on the main thread, its stack from that frame up to ld.so's __libc_stack_end (a
   stack is one mapping that grows down; nothing above the stack pointer is ever unmapped;
   "the main thread" means within 128 MiB below its end, since the kernel keeps at least
   that gap between the stack and every mmap, so no thread or signal stack is there); the
   program-break heap [start_brk, sbrk(0)), where malloc keeps its main arena (one mapping;
   sbrk(0) is glibc's cached break, no system call). (2) Otherwise one rt_sigprocmask probe
   per 4 KiB block: the kernel copies the 8-byte set from user memory before it looks at
   `how`, and no `how` is valid here, so the call fails with EFAULT when the memory cannot
   be read and with EINVAL when it can, and never changes the signal mask (the technique
   of abseil's AddressIsReadable). Permissions are per page and no Linux page is smaller
   than 4 KiB, so one readable byte of a block means the whole block is. That relies on
   the kernel copying before validating `how`; the first probe of the process checks it
   against a PROT_NONE page of its own and, if the kernel does not behave so, every later
   probe is a process_vm_readv of one byte instead: slower, never wrong. */
#ifndef MIF_PRELOAD_CALLER_MEMORY_H
#define MIF_PRELOAD_CALLER_MEMORY_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif
extern void* __libc_stack_end; /* ld.so (GLIBC_2.1): where the main thread's stack ends */
#ifdef __cplusplus
}
#endif

#define MIF_CM_BLOCK ((uintptr_t)4096)

/* Probe kind (0 untested, 1 rt_sigprocmask, 2 process_vm_readv), start_brk (1: not read
   yet, 0: unknown) and the number of probes made (for tests). One copy per object: the
   stub and the engine each keep their own. */
static int mifCmProbeKind;
static uintptr_t mifCmStartBrk = 1;
static uint64_t mifCmProbes;

static inline int mifCmSigprocmaskProbe(uintptr_t a) {
  a &= ~(uintptr_t)7; /* 8-aligned, so the 8 bytes stay in a's block */
  if (a == 0) a = 8;  /* 0 would mean "no set" */
  long rc = syscall(SYS_rt_sigprocmask, ~0L, (void*)a, (void*)0, 8L);
  return !(rc < 0 && errno == EFAULT);
}

static inline int mifCmBlockReadable(uintptr_t a) {
  __atomic_fetch_add(&mifCmProbes, 1, __ATOMIC_RELAXED);
  int kind = __atomic_load_n(&mifCmProbeKind, __ATOMIC_RELAXED);
  if (kind == 0) {
    void* page = mmap((void*)0, MIF_CM_BLOCK, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t here = 0;
    kind = page != MAP_FAILED && !mifCmSigprocmaskProbe((uintptr_t)page) &&
                   mifCmSigprocmaskProbe((uintptr_t)&here)
               ? 1
               : 2;
    if (page != MAP_FAILED) munmap(page, MIF_CM_BLOCK);
    __atomic_store_n(&mifCmProbeKind, kind, __ATOMIC_RELAXED);
  }
  if (kind == 1) return mifCmSigprocmaskProbe(a);
  char byte;
  struct iovec local = {&byte, 1}, remote = {(void*)a, 1};
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1 || errno != EFAULT;
}

/* start_brk, field 47 of /proc/self/stat, read with raw system calls into a stack buffer. */
static inline uintptr_t mifCmReadStartBrk(void) {
  char buf[1024];
  int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  long n = syscall(SYS_read, fd, buf, sizeof buf - 1);
  syscall(SYS_close, fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* f = strrchr(buf, ')'); /* the command name may hold anything */
  for (int field = 2; field < 47 && f != (const char*)0; ++field) f = strchr(f + 1, ' ');
  if (f == (const char*)0) return 0;
  uintptr_t v = 0;
  for (++f; *f >= '0' && *f <= '9'; ++f) v = v * 10 + (uintptr_t)(*f - '0');
  return v;
}

/* [a, a+n) lies in memory known mapped (see above); `frame` is a live frame of the
   caller's (its own page and, on the main stack, everything above it count). */
static inline int mifCmKnownMapped(uintptr_t a, size_t n, uintptr_t frame) {
  if (frame != 0) {
    const uintptr_t page = frame & ~(MIF_CM_BLOCK - 1);
    if (a >= page && n <= MIF_CM_BLOCK && a - page <= MIF_CM_BLOCK - n) return 1;
    const uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    const uintptr_t end = (uintptr_t)__libc_stack_end;
    if (sp < end && end - sp < ((uintptr_t)128 << 20) && frame >= sp && frame < end &&
        a >= page && a < end && n <= end - a)
      return 1;
  }
  uintptr_t start = __atomic_load_n(&mifCmStartBrk, __ATOMIC_RELAXED);
  if (start == 1) {
    start = mifCmReadStartBrk();
    __atomic_store_n(&mifCmStartBrk, start, __ATOMIC_RELAXED);
  }
  if (start == 0 || a < start) return 0;
  const uintptr_t brkEnd = (uintptr_t)sbrk(0);
  return brkEnd != (uintptr_t)-1 && a < brkEnd && n <= brkEnd - a;
}

/* True when [p, p+n) can be read (n == 0: always). Keeps errno. */
static inline int mifCallerReadable(const void* p, size_t n, const void* frame) {
  if (n == 0) return 1;
  const uintptr_t a = (uintptr_t)p;
  if (a == 0 || a + n < a) return 0;
  /* Saved before anything that may make a system call: the first reading of start_brk
     opens /proc/self/stat, and a probe fails with EFAULT or EINVAL by design. */
  const int saved = errno;
  if (mifCmKnownMapped(a, n, (uintptr_t)frame)) {
    errno = saved;
    return 1;
  }
  const uintptr_t last = (a + n - 1) & ~(MIF_CM_BLOCK - 1);
  int ok = 1;
  for (uintptr_t block = a & ~(MIF_CM_BLOCK - 1); ok; block += MIF_CM_BLOCK) {
    ok = mifCmBlockReadable(block > a ? block : a);
    if (block == last) break;
  }
  errno = saved;
  return ok;
}

#endif
