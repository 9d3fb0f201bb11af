/* The bodies of the shared kernels, written once and compiled for float and double by
   kernels.c through instantiate.h. */

CLONES void RK(rk_act_forward)(long rows, long width, int relu, const T *pre, const T *bias, T *out) {
    for (long r = 0; r < rows; r++) {
        const T *p = pre + r * width;
        T *o = out + r * width;
        RK_INDEPENDENT
        for (long j = 0; j < width; j++) {
            T x = p[j] + (bias ? bias[j] : 0);
            o[j] = relu ? (x > 0 ? x : 0) : TANH(x);
        }
    }
}

CLONES void RK(rk_act_backward)(long n, long h, int relu, const T *out, const T *dup, long ldup,
                                const T *drec, T *dpre) {
    for (long r = 0; r < n; r++) {
        const T *o = out + r * h, *du = dup + r * ldup, *dr = drec ? drec + r * h : 0;
        T *dp = dpre + r * h;
        RK_INDEPENDENT
        for (long j = 0; j < h; j++) {
            T d = du[j] + (dr ? dr[j] : 0);
            dp[j] = relu ? (o[j] > 0 ? d : 0) : d * ((T)1 - o[j] * o[j]);
        }
    }
}

/* Reductions keep 16 partial sums so the compiler can vectorise them without reassociating. */
#define RK_LANES 16

CLONES double RK(rk_softmax_xent)(long rows, long V, T *logits, const T *bias, const int32_t *targets,
                                  const uint8_t *mask, int grad, T *dbias, long *count, long *correct) {
    double total = 0;
    for (long r = 0; r < rows; r++) {
        T *x = logits + r * V;
        if (bias) {
            RK_INDEPENDENT
            for (long j = 0; j < V; j++) x[j] += bias[j];
        }
        int32_t target = targets[r];
        int counted = (!mask || mask[r]) && target >= 0 && target < V;
        if (!counted) {
            if (grad) for (long j = 0; j < V; j++) x[j] = 0;
            continue;
        }
        T lanes[RK_LANES];
        for (int k = 0; k < RK_LANES; k++) lanes[k] = x[0];
        long j = 0;
        for (; j + RK_LANES <= V; j += RK_LANES)
            for (int k = 0; k < RK_LANES; k++) lanes[k] = x[j + k] > lanes[k] ? x[j + k] : lanes[k];
        T m = lanes[0];
        for (int k = 1; k < RK_LANES; k++) m = lanes[k] > m ? lanes[k] : m;
        for (; j < V; j++) m = x[j] > m ? x[j] : m;
        long best = 0;
        for (long q = 0; q < V; q++) if (x[q] == m) { best = q; break; }
        T xt = x[target];
        for (int k = 0; k < RK_LANES; k++) lanes[k] = 0;
        j = 0;
        if (grad) {
            for (; j + RK_LANES <= V; j += RK_LANES)
                for (int k = 0; k < RK_LANES; k++) { T e = EXP(x[j + k] - m); x[j + k] = e; lanes[k] += e; }
        } else {
            for (; j + RK_LANES <= V; j += RK_LANES)
                for (int k = 0; k < RK_LANES; k++) lanes[k] += EXP(x[j + k] - m);
        }
        double sum = 0;
        for (int k = 0; k < RK_LANES; k++) sum += lanes[k];
        for (; j < V; j++) { T e = EXP(x[j] - m); if (grad) x[j] = e; sum += e; }
        total += log(sum) + (double)m - (double)xt;
        *count += 1;
        if (best == target) *correct += 1;
        if (grad) {
            T inv = (T)(1.0 / sum);
            RK_INDEPENDENT
            for (long q = 0; q < V; q++) x[q] *= inv;
            x[target] -= 1;
            if (dbias) {
                RK_INDEPENDENT
                for (long q = 0; q < V; q++) dbias[q] += x[q];
            }
        }
    }
    return total;
}

CLONES void RK(rk_dropout_forward)(long rows, long cols, const T *x, long ldx, T *y, long ldy,
                                   T *mask, const uint64_t *rowkeys, double p) {
    T scale = (T)(1.0 / (1.0 - p));
    /* Keep when the top 24 bits, as a fraction of 2^24, reach p. */
    uint64_t threshold = (uint64_t)(p * 16777216.0);
    for (long r = 0; r < rows; r++) {
        const T *xr = x + r * ldx;
        T *yr = y + r * ldy, *mr = mask + r * cols;
        uint64_t key = rowkeys[r];
        RK_INDEPENDENT
        for (long j = 0; j < cols; j++) {
            uint64_t u = rk_mix64(key + (uint64_t)(j + 1) * 0x9e3779b97f4a7c15ULL) >> 40;
            T m = u >= threshold ? scale : 0;
            mr[j] = m;
            yr[j] = xr[j] * m;
        }
    }
}

CLONES void RK(rk_dropout_backward)(long rows, long cols, const T *dy, long lddy, const T *mask,
                                    T *dx, long lddx) {
    for (long r = 0; r < rows; r++) {
        const T *d = dy + r * lddy, *m = mask + r * cols;
        T *o = dx + r * lddx;
        RK_INDEPENDENT
        for (long j = 0; j < cols; j++) o[j] = d[j] * m[j];
    }
}

void RK(rk_embedding_forward)(long rows, long E, const T *table, const int32_t *tokens, T *out,
                              long ldout) {
    for (long r = 0; r < rows; r++) {
        T *o = out + r * ldout;
        if (tokens[r] < 0) { memset(o, 0, (size_t)E * sizeof(T)); continue; }
        memcpy(o, table + (long)tokens[r] * E, (size_t)E * sizeof(T));
    }
}

CLONES void RK(rk_embedding_backward)(long rows, long E, T *dtable, const int32_t *tokens,
                                      const T *dout, long lddout) {
    for (long r = 0; r < rows; r++) {
        if (tokens[r] < 0) continue;
        T *d = dtable + (long)tokens[r] * E;
        const T *s = dout + r * lddout;
        RK_INDEPENDENT
        for (long j = 0; j < E; j++) d[j] += s[j];
    }
}

CLONES void RK(rk_bias_rows)(long rows, long cols, T *out, long ld, const T *b1, const T *b2) {
    for (long r = 0; r < rows; r++) {
        T *o = out + r * ld;
        if (!b2) { memcpy(o, b1, (size_t)cols * sizeof(T)); continue; }
        RK_INDEPENDENT
        for (long j = 0; j < cols; j++) o[j] = b1[j] + b2[j];
    }
}

CLONES void RK(rk_colsum_add)(long rows, long cols, const T *x, long ld, T *out) {
    for (long r = 0; r < rows; r++) {
        const T *xr = x + r * ld;
        RK_INDEPENDENT
        for (long j = 0; j < cols; j++) out[j] += xr[j];
    }
}

CLONES double RK(rk_sumsq)(long count, const T *x) {
    double lanes[RK_LANES] = {0};
    long i = 0;
    for (; i + RK_LANES <= count; i += RK_LANES)
        for (int k = 0; k < RK_LANES; k++) lanes[k] += (double)x[i + k] * (double)x[i + k];
    double s = 0;
    for (int k = 0; k < RK_LANES; k++) s += lanes[k];
    for (; i < count; i++) s += (double)x[i] * (double)x[i];
    return s;
}

void RK(rk_copy_rows)(long rows, long cols, const T *src, long lds, T *dst, long ldd) {
    if (lds == cols && ldd == cols) { memmove(dst, src, (size_t)(rows * cols) * sizeof(T)); return; }
    for (long r = 0; r < rows; r++) memmove(dst + r * ldd, src + r * lds, (size_t)cols * sizeof(T));
}

CLONES void RK(rk_add_rows)(long rows, long cols, const T *src, long lds, T *dst, long ldd) {
    for (long r = 0; r < rows; r++) {
        const T *s = src + r * lds;
        T *d = dst + r * ldd;
        RK_INDEPENDENT
        for (long j = 0; j < cols; j++) d[j] += s[j];
    }
}

/* In 32 × 32 tiles, so both sides stay in cache. */
void RK(rk_transpose)(long rows, long cols, const T *src, long lds, T *dst, long ldd) {
    for (long i0 = 0; i0 < rows; i0 += 32)
        for (long j0 = 0; j0 < cols; j0 += 32) {
            long i1 = i0 + 32 < rows ? i0 + 32 : rows, j1 = j0 + 32 < cols ? j0 + 32 : cols;
            for (long i = i0; i < i1; i++)
                for (long j = j0; j < j1; j++) dst[j * ldd + i] = src[i * lds + j];
        }
}

#undef RK_LANES
