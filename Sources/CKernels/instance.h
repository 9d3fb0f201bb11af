/* One instance of the kernels of RK_INSTANCE, for the T, S, EXP, TANH and CLONES that
   instantiate.h has just defined; undefines them after, for the next instance. */
static inline T RK(sigmoid)(T x) { return (T)1 / ((T)1 + EXP(-x)); }
#include RK_INSTANCE
#undef T
#undef S
#undef EXP
#undef TANH
#undef CLONES
