/* oneDNN's C API (Debian's libdnnl-dev ships no pkg-config file, hence the plain link lines in
   module.modulemap), and what Swift cannot import from it: a cast macro and the thread count. */
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

/* DNNL_MEMORY_ALLOCATE, `(void *)(size_t)-1`: the library allocates and owns the buffer. */
static inline void *rk_dnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }

/* Debian builds oneDNN on OpenMP, which sizes every parallel region by the calling thread's
   omp_get_max_threads(); rnntrain runs one rank per core, so the products run on one thread
   whatever OMP_NUM_THREADS says. The per-thread setting is a store, cheap enough for every call. */
#if DNNL_CPU_THREADING_RUNTIME != DNNL_RUNTIME_OMP
#error "rnntrain expects oneDNN's OpenMP build (Debian's libdnnl-dev)"
#endif
void omp_set_num_threads(int);
static inline void rk_dnnl_one_thread(void) { omp_set_num_threads(1); }
