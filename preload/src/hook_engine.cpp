// The engine's entry point for the libmif.so stub (stub.c), called once right after it
// dlopens libmif-engine.so and before any hook of the engine runs.
#include "hook.h"
#include "real_libc.h"

extern "C" MIF_EXPORT void mif_engine_init(mif::preload::real::NextFn next) noexcept {
  mif::preload::real::setNext(next);
}
