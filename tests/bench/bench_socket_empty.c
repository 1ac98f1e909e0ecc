/* The floor of preloading anything: a library with no code, no libc and no relocations.
   bench_socket spawns /bin/true with it preloaded beside libmif.so, so the cost of mapping
   any library on this machine is measured in the same run. */
int mif_bench_empty_library;
