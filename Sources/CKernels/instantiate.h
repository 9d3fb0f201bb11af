/* Compiles the kernel bodies of the file named by RK_INSTANCE twice: for float (suffix _f32,
   the vectorisable exp/tanh of vector_math.h, target_clones) and for double (_f64, libm,
   because the gradient check compares them with finite differences to 1e-6). The bodies see
   T (element type), S (name suffix), EXP, TANH (scalar functions of T), CLONES (function
   attribute), RK(name) (name with the suffix) and RK(sigmoid). */
#define RK_CAT2(a, b) a##_##b
#define RK_CAT(a, b) RK_CAT2(a, b)
#define RK(name) RK_CAT(name, S)

#define T float
#define S f32
#define EXP rk_expf
#define TANH rk_tanhf
#define CLONES RK_CLONES
#include "instance.h"

#define T double
#define S f64
#define EXP exp
#define TANH tanh
#define CLONES
#include "instance.h"

#undef RK
#undef RK_CAT
#undef RK_CAT2
