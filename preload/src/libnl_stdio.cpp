// Debian's libnl-3 archives are built PIC except for references to libc's stdin, stdout
// and stderr (R_X86_64_PC32, which a shared object cannot take against a data symbol of
// another object). Hidden definitions inside libmif.so satisfy them locally. They point at
// glibc's own stream objects (what the three point to unless a program reassigns them)
// through ordinary data relocations, so nothing runs at load. Only libnl's debug output
// (NLDBG) and the library's one-line start-up errors go through them.
struct _IO_FILE;

extern "C" {
extern _IO_FILE _IO_2_1_stdin_;
extern _IO_FILE _IO_2_1_stdout_;
extern _IO_FILE _IO_2_1_stderr_;
__attribute__((visibility("hidden"))) _IO_FILE* stdin = &_IO_2_1_stdin_;
__attribute__((visibility("hidden"))) _IO_FILE* stdout = &_IO_2_1_stdout_;
__attribute__((visibility("hidden"))) _IO_FILE* stderr = &_IO_2_1_stderr_;
}
