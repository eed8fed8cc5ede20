// slide-dense-gpu: the SLIDE network with a full softmax on one GPU -- cuBLAS sgemm for the
// output layer's three products, CUDA kernels for the sparse input layer, softmax, Adam, top-5.
// Appends slide-train's CSV rows (system dense-gpu). See --help.
#include "../common/drv.h"
#include "dense.h"
#include "slide/opts.h"
#include "slide/report.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstring>
#include <unistd.h>

[[noreturn]] static void die(const char *what, const char *msg, const char *file, int line) {
    fprintf(stderr, "slide-dense-gpu: %s: %s (%s:%d)\n", what, msg, file, line);
    exit(2);
}
#define CU(x)                                                                         \
    do {                                                                              \
        cudaError_t e_ = (x);                                                         \
        if (e_ != cudaSuccess) die(#x, cudaGetErrorString(e_), __FILE__, __LINE__);   \
    } while (0)
#define CB(x)                                                                         \
    do {                                                                              \
        cublasStatus_t s_ = (x);                                                      \
        if (s_ != CUBLAS_STATUS_SUCCESS) die(#x, cublasGetStatusString(s_), __FILE__, __LINE__); \
    } while (0)
#define LAUNCHED() CU(cudaGetLastError())

// ------------------------------------------------------------------ device data

// A data set on the device (CSR features and labels, as slide_data).
struct dev_set {
    int64_t n;
    int64_t *row_ptr, *lab_ptr;
    int32_t *feat, *lab;
    float *val;
};

static size_t set_bytes(const slide_data *ds) {
    return (size_t)(ds->n + 1) * 16 + (size_t)ds->nnz * 8 + (size_t)ds->nlab * 4;
}

static void set_upload(dev_set *g, const slide_data *ds) {
    g->n = ds->n;
    CU(cudaMalloc(&g->row_ptr, (size_t)(ds->n + 1) * 8));
    CU(cudaMalloc(&g->lab_ptr, (size_t)(ds->n + 1) * 8));
    CU(cudaMalloc(&g->feat, (size_t)(ds->nnz > 0 ? ds->nnz : 1) * 4));
    CU(cudaMalloc(&g->val, (size_t)(ds->nnz > 0 ? ds->nnz : 1) * 4));
    CU(cudaMalloc(&g->lab, (size_t)(ds->nlab > 0 ? ds->nlab : 1) * 4));
    CU(cudaMemcpy(g->row_ptr, ds->row_ptr, (size_t)(ds->n + 1) * 8, cudaMemcpyHostToDevice));
    CU(cudaMemcpy(g->lab_ptr, ds->lab_ptr, (size_t)(ds->n + 1) * 8, cudaMemcpyHostToDevice));
    if (ds->nnz > 0) {
        CU(cudaMemcpy(g->feat, ds->feat, (size_t)ds->nnz * 4, cudaMemcpyHostToDevice));
        CU(cudaMemcpy(g->val, ds->val, (size_t)ds->nnz * 4, cudaMemcpyHostToDevice));
    }
    if (ds->nlab > 0) CU(cudaMemcpy(g->lab, ds->lab, (size_t)ds->nlab * 4, cudaMemcpyHostToDevice));
}

static void set_free(dev_set *g) {
    cudaFree(g->row_ptr);
    cudaFree(g->lab_ptr);
    cudaFree(g->feat);
    cudaFree(g->val);
    cudaFree(g->lab);
}

// ------------------------------------------------------------------ kernels

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
// Block-wide max/sum (blockDim.x a multiple of 32); every thread gets the result.
template <bool MAX> __device__ float block_reduce(float v, float *sh) {
    const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = MAX ? warp_max(v) : warp_sum(v);
    if (lane == 0) sh[w] = v;
    __syncthreads();
    if (w == 0) {
        v = lane < nw ? sh[lane] : (MAX ? -INFINITY : 0.0f);
        v = MAX ? warp_max(v) : warp_sum(v);
        if (lane == 0) sh[32] = v;
    }
    __syncthreads();
    v = sh[32];
    __syncthreads();
    return v;
}

// hid[s] = relu(b0 + sum_f x_f W0[f]) for the points ids[0..n): one block per point.
__global__ void hidden_forward_kernel(const int64_t *ids, dev_set ds, const float *W0,
                                      const float *b0, int H, float *hid) {
    const int s = blockIdx.x;
    const int64_t i = ids[s], q0 = ds.row_ptr[i], q1 = ds.row_ptr[i + 1];
    for (int j = threadIdx.x; j < H; j += blockDim.x) {
        float h = b0[j];
        for (int64_t q = q0; q < q1; q++) h += ds.val[q] * W0[(int64_t)ds.feat[q] * H + j];
        hid[(int64_t)s * H + j] = h > 0.0f ? h : 0.0f;
    }
}

// Row s of logits -> delta = (softmax(z + b1) - t) * scale, t = 1/|y| on the labels; adds the
// row's cross-entropy to loss[0] and loss[1]. One block per row.
__global__ void softmax_delta_kernel(float *logits, const float *b1, int64_t L, const int64_t *ids,
                                     dev_set ds, float scale, double *loss) {
    __shared__ float sh[33];
    __shared__ double lab_sum;
    const int s = blockIdx.x;
    float *z = logits + (int64_t)s * L;
    float mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < L; j += blockDim.x) {
        float v = z[j] + b1[j];
        z[j] = v;
        mx = fmaxf(mx, v);
    }
    mx = block_reduce<true>(mx, sh);
    const int64_t i = ids[s], l0 = ds.lab_ptr[i], l1 = ds.lab_ptr[i + 1];
    if (threadIdx.x == 0) { // the label logits, before pass 2 overwrites them
        double ls = 0;
        for (int64_t q = l0; q < l1; q++) ls += (double)z[ds.lab[q]] - (double)mx;
        lab_sum = ls;
    }
    __syncthreads();
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < L; j += blockDim.x) {
        float e = expf(z[j] - mx);
        z[j] = e;
        sum += e;
    }
    const float S = block_reduce<false>(sum, sh);
    const float c = scale / S;
    for (int64_t j = threadIdx.x; j < L; j += blockDim.x) z[j] *= c;
    __syncthreads();
    if (threadIdx.x == 0 && l1 > l0) {
        const float tl = scale / (float)(l1 - l0);
        for (int64_t q = l0; q < l1; q++) z[ds.lab[q]] -= tl;
        double ce = -(lab_sum / (double)(l1 - l0) - log((double)S));
        atomicAdd(&loss[0], ce);
        atomicAdd(&loss[1], ce);
    }
}

// gb1[j] = sum over the batch of delta[s][j].
__global__ void col_sum_kernel(const float *delta, int n, int64_t L, float *gb1) {
    const int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= L) return;
    float acc = 0.0f;
    for (int s = 0; s < n; s++) acc += delta[(int64_t)s * L + j];
    gb1[j] = acc;
}

// dH through the ReLU, and gb0 = its column sums.
__global__ void relu_back_kernel(float *dhid, const float *hid, int n, int H, float *gb0) {
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= H) return;
    float acc = 0.0f;
    for (int s = 0; s < n; s++) {
        int64_t q = (int64_t)s * H + j;
        float g = hid[q] > 0.0f ? dhid[q] : 0.0f;
        dhid[q] = g;
        acc += g;
    }
    gb0[j] = acc;
}

// gW0[f] += x_f dH[s] for the features of each point (atomics: a feature may occur in several
// points of the batch); marks the rows for Adam. One block per point.
__global__ void w0_grad_kernel(const int64_t *ids, dev_set ds, const float *dhid, int H,
                               float *gW0, unsigned char *touched) {
    const int s = blockIdx.x;
    const int64_t i = ids[s];
    for (int64_t q = ds.row_ptr[i]; q < ds.row_ptr[i + 1]; q++) {
        const int64_t f = ds.feat[q];
        const float v = ds.val[q];
        for (int j = threadIdx.x; j < H; j += blockDim.x)
            atomicAdd(&gW0[f * H + j], v * dhid[(int64_t)s * H + j]);
        if (threadIdx.x == 0) touched[f] = 1;
    }
}

__device__ __forceinline__ void adam1(float *w, float *m, float *v, float g, float lr_t, float b1,
                                      float b2, float eps) {
    float mm = b1 * *m + (1.0f - b1) * g;
    float vv = b2 * *v + (1.0f - b2) * g * g;
    *m = mm;
    *v = vv;
    *w -= lr_t * mm / (sqrtf(vv) + eps);
}

// Adam on every element (W1, b1, b0).
__global__ void adam_dense_kernel(float *w, float *m, float *v, const float *g, int64_t n,
                                  float lr_t, float b1, float b2, float eps) {
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n;
         e += (int64_t)gridDim.x * blockDim.x)
        adam1(&w[e], &m[e], &v[e], g[e], lr_t, b1, b2, eps);
}

// Adam on the W0 rows the batch touched; their gradients are zeroed for the next batch.
__global__ void adam_rows_kernel(float *w, float *m, float *v, float *g,
                                 const unsigned char *touched, int64_t rows, int H, float lr_t,
                                 float b1, float b2, float eps) {
    const int64_t n = rows * H;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n;
         e += (int64_t)gridDim.x * blockDim.x) {
        if (!touched[e / H]) continue;
        adam1(&w[e], &m[e], &v[e], g[e], lr_t, b1, b2, eps);
        g[e] = 0.0f;
    }
}

__global__ void clear_touched_kernel(const int64_t *ids, dev_set ds, unsigned char *touched) {
    const int64_t i = ids[blockIdx.x];
    for (int64_t q = ds.row_ptr[i] + threadIdx.x; q < ds.row_ptr[i + 1]; q += blockDim.x)
        touched[ds.feat[q]] = 0;
}

// Exact top-5 of z + b1 over all labels, best first, ties to the lower id (as the CPU
// programs). One block of TOPK_THREADS per row; out[5 * row + k], UINT32_MAX when L < 5.
#define TOPK_THREADS 256
__device__ __forceinline__ bool better(float s, uint32_t id, float bs, uint32_t bid) {
    return s > bs || (s == bs && id < bid);
}
__global__ void top5_kernel(const float *logits, const float *b1, int64_t L, uint32_t *out) {
    __shared__ float ss[TOPK_THREADS * 5];
    __shared__ uint32_t si[TOPK_THREADS * 5];
    const float *z = logits + (int64_t)blockIdx.x * L;
    float bs[5];
    uint32_t bi[5];
    for (int k = 0; k < 5; k++) {
        bs[k] = -INFINITY;
        bi[k] = UINT32_MAX;
    }
    for (int64_t j = threadIdx.x; j < L; j += blockDim.x) {
        float s = z[j] + b1[j];
        if (!better(s, (uint32_t)j, bs[4], bi[4])) continue;
        int p = 4;
        while (p > 0 && better(s, (uint32_t)j, bs[p - 1], bi[p - 1])) {
            bs[p] = bs[p - 1];
            bi[p] = bi[p - 1];
            p--;
        }
        bs[p] = s;
        bi[p] = (uint32_t)j;
    }
    for (int k = 0; k < 5; k++) {
        ss[threadIdx.x * 5 + k] = bs[k];
        si[threadIdx.x * 5 + k] = bi[k];
    }
    __syncthreads();
    if (threadIdx.x != 0) return;
    for (int k = 0; k < 5; k++) {
        bs[k] = -INFINITY;
        bi[k] = UINT32_MAX;
    }
    for (int c = 0; c < (int)blockDim.x * 5; c++) {
        float s = ss[c];
        uint32_t id = si[c];
        if (id == UINT32_MAX || !better(s, id, bs[4], bi[4])) continue;
        int p = 4;
        while (p > 0 && better(s, id, bs[p - 1], bi[p - 1])) {
            bs[p] = bs[p - 1];
            bi[p] = bi[p - 1];
            p--;
        }
        bs[p] = s;
        bi[p] = id;
    }
    for (int k = 0; k < 5; k++) out[(int64_t)blockIdx.x * 5 + k] = bi[k];
}

static int grid_for(int64_t n, int threads) {
    int64_t g = (n + threads - 1) / threads;
    return (int)(g < 1 ? 1 : (g > 65535 * 32 ? 65535 * 32 : g));
}

// ------------------------------------------------------------------ model

struct dev_model {
    int64_t D, L;
    int H, B;
    float *slab;                       // 4 copies (params, grads, m, v) of W0 b0 W1 b1
    float *W0, *b0, *W1, *b1, *gW0, *gb0, *gW1, *gb1, *mW0, *mb0, *mW1, *mb1, *vW0, *vb0, *vW1, *vb1;
    float *hid, *dhid, *logits;
    unsigned char *touched;
    double *loss;                      // [0] since the last row, [1] since the start
    int64_t *batch_ids;                // device copy of the current epoch's permutation
    int64_t *eval_ids;                 // one evaluation chunk
    uint32_t *top;                     // B x 5
    int64_t step;
};

static size_t r16(size_t n) { return (n + 15) & ~(size_t)15; }

static double model_bytes(int64_t D, int64_t L, int H, int B, int64_t n_train) {
    size_t per = r16((size_t)D * H) + r16(H) + r16((size_t)L * H) + r16((size_t)L);
    return 16.0 * (double)per + 4.0 * (2.0 * B * H + (double)B * (double)L) + (double)D + 16 +
           8.0 * (double)n_train + 8.0 * B + 20.0 * B;
}

// ------------------------------------------------------------------ the model for the run loop

struct gpu_run {
    const drv_opts *o;
    const slide_data *test, *val;      // val: the --val-split points (NULL without)
    dev_set gtrain, gtest, gval;
    dev_model g;
    cublasHandle_t cb;
    slide_dense_params dp;
    size_t n0, nb0, n1, per;           // slab layout (floats)
    int hid_threads;
    cudaEvent_t ev[6], ev_end;         // step start, gemm1 start/end, gemm2+3 start/end, Adam start
    int64_t *chunk;                    // host: one evaluation chunk
    uint32_t *top;                     // host: its top-5
    double int_fwd, int_upd, int_gemm, int_flops, lh[2];
    double gemm_share;                 // the interval's sgemm share of training time, % (fill_row)
    int64_t int_samples;               // since the last row
    char gpu_model[256], simd[32];
};

static int m_epoch_start(void *self, const int64_t *perm, int64_t n, slide_err *err) {
    gpu_run *s = (gpu_run *)self;
    (void)err;
    CU(cudaMemcpy(s->g.batch_ids, perm, (size_t)n * 8, cudaMemcpyHostToDevice));
    return SLIDE_OK;
}

static void read_loss(gpu_run *s) {
    CU(cudaMemcpy(s->lh, s->g.loss, sizeof s->lh, cudaMemcpyDeviceToHost));
}

static int m_train_batch(void *self, const drv_loop *lp, const int64_t *host_ids, int64_t nb,
                         double *train_s, slide_err *err) {
    gpu_run *s = (gpu_run *)self;
    dev_model &g = s->g;
    const slide_dense_params &dp = s->dp;
    const int64_t D = g.D, L = g.L;
    const int H = g.H, n = (int)nb;
    const int64_t *ids = g.batch_ids + (host_ids - lp->perm);
    const float one = 1.0f, zero = 0.0f;
    const float scale = 1.0f / (float)n;
    const int64_t t = g.step + 1;
    const float lr_t = (float)((double)dp.lr * sqrt(1.0 - pow(dp.beta2, (double)t)) /
                               (1.0 - pow(dp.beta1, (double)t)));
    cudaEvent_t *ev = s->ev;

    CU(cudaEventRecord(ev[0]));
    hidden_forward_kernel<<<n, s->hid_threads>>>(ids, s->gtrain, g.W0, g.b0, H, g.hid);
    LAUNCHED();
    CU(cudaEventRecord(ev[1]));
    // logits[n][L] = hid W1^T   (column-major: logits^T = W1 hid^T)
    CB(cublasSgemm(s->cb, CUBLAS_OP_T, CUBLAS_OP_N, (int)L, n, H, &one, g.W1, H, g.hid, H, &zero,
                   g.logits, (int)L));
    CU(cudaEventRecord(ev[2]));
    softmax_delta_kernel<<<n, 1024>>>(g.logits, g.b1, L, ids, s->gtrain, scale, g.loss);
    LAUNCHED();
    CU(cudaEventRecord(ev[3]));
    // gW1[L][H] = delta^T hid   (column-major: gW1^T = hid^T delta)
    CB(cublasSgemm(s->cb, CUBLAS_OP_N, CUBLAS_OP_T, H, (int)L, n, &one, g.hid, H, g.logits, (int)L,
                   &zero, g.gW1, H));
    // dH[n][H] = delta W1        (column-major: dH^T = W1^T delta^T)
    CB(cublasSgemm(s->cb, CUBLAS_OP_N, CUBLAS_OP_N, H, n, (int)L, &one, g.W1, H, g.logits, (int)L,
                   &zero, g.dhid, H));
    CU(cudaEventRecord(ev[4]));
    col_sum_kernel<<<grid_for(L, 256), 256>>>(g.logits, n, L, g.gb1);
    LAUNCHED();
    relu_back_kernel<<<grid_for(H, 128), 128>>>(g.dhid, g.hid, n, H, g.gb0);
    LAUNCHED();
    w0_grad_kernel<<<n, s->hid_threads>>>(ids, s->gtrain, g.dhid, H, g.gW0, g.touched);
    LAUNCHED();
    CU(cudaEventRecord(ev[5]));
    adam_dense_kernel<<<grid_for((int64_t)L * H, 256), 256>>>(g.W1, g.mW1, g.vW1, g.gW1,
                                                              (int64_t)L * H, lr_t, dp.beta1,
                                                              dp.beta2, dp.eps);
    LAUNCHED();
    adam_dense_kernel<<<grid_for(L, 256), 256>>>(g.b1, g.mb1, g.vb1, g.gb1, L, lr_t, dp.beta1,
                                                 dp.beta2, dp.eps);
    LAUNCHED();
    adam_dense_kernel<<<1, 128>>>(g.b0, g.mb0, g.vb0, g.gb0, H, lr_t, dp.beta1, dp.beta2, dp.eps);
    LAUNCHED();
    adam_rows_kernel<<<grid_for(D * H, 256), 256>>>(g.W0, g.mW0, g.vW0, g.gW0, g.touched, D, H,
                                                    lr_t, dp.beta1, dp.beta2, dp.eps);
    LAUNCHED();
    clear_touched_kernel<<<n, 128>>>(ids, s->gtrain, g.touched);
    LAUNCHED();
    CU(cudaEventRecord(s->ev_end));
    CU(cudaEventSynchronize(s->ev_end));
    float ms_step, ms_g1, ms_g23, ms_upd;
    CU(cudaEventElapsedTime(&ms_step, ev[0], s->ev_end));
    CU(cudaEventElapsedTime(&ms_g1, ev[1], ev[2]));
    CU(cudaEventElapsedTime(&ms_g23, ev[3], ev[4]));
    CU(cudaEventElapsedTime(&ms_upd, ev[5], s->ev_end));
    g.step++;
    *train_s += ms_step * 1e-3;
    s->int_fwd += (ms_step - ms_upd) * 1e-3;
    s->int_upd += ms_upd * 1e-3;
    s->int_gemm += (ms_g1 + ms_g23) * 1e-3;
    s->int_flops += 6.0 * (double)n * (double)L * (double)H;
    s->int_samples += n;
    const int64_t iter = lp->iter + 1, seen = lp->seen + nb;
    if (s->o->dump_after > 0 && iter == s->o->dump_after) {
        read_loss(s);
        float *h = (float *)malloc(s->per * sizeof(float));
        if (!h) return slide_err_set(err, SLIDE_ENOMEM, 0, "out of host memory for the dump");
        CU(cudaMemcpy(h, g.slab, s->per * sizeof(float), cudaMemcpyDeviceToHost));
        slide_dense_dump dd = {H, D, L, iter, s->lh[1] / (double)seen, h, h + s->n0,
                               h + s->n0 + s->nb0, h + s->n0 + s->nb0 + s->n1};
        int rc = slide_dense_dump_write(s->o->dump_path, &dd, err);
        free(h);
        if (rc) return rc;
        fprintf(stderr, "[dump] parameters after %lld steps (mean loss %.6f) -> %s\n",
                (long long)iter, dd.loss, s->o->dump_path);
        return DRV_STOP_NOW;
    }
    return SLIDE_OK;
}

// Exact top-5 on the device, metrics on the host (slide_metrics_point).
// ds is the test set or the validation split (both on the device: gtest, gval).
static int m_evaluate(void *self, const slide_data *ds, const int64_t *ids, int64_t n_ev,
                      slide_eval_result *res, slide_err *err) {
    gpu_run *s = (gpu_run *)self;
    dev_model &g = s->g;
    if (ds != s->test && (!s->val || ds != s->val))
        return slide_err_set(err, SLIDE_EINVAL, 0, "evaluates only the test set and the "
                             "validation split");
    const slide_data &test = *ds;
    const dev_set &gset = ds == s->test ? s->gtest : s->gval;
    const int64_t L = g.L;
    const int H = g.H, B = g.B;
    const float one = 1.0f, zero = 0.0f;
    (void)err;
    double p_sum[6] = {0}, nd_sum[6] = {0};
    int64_t n_eval = 0, n_skip = 0, i0 = 0;
    while (i0 < n_ev) {
        int c = 0;
        for (; i0 < n_ev && c < B; i0++) {
            const int64_t i = ids ? ids[i0] : i0;
            if (test.lab_ptr[i + 1] == test.lab_ptr[i]) n_skip++;
            else s->chunk[c++] = i;
        }
        if (c == 0) break;
        CU(cudaMemcpy(g.eval_ids, s->chunk, (size_t)c * 8, cudaMemcpyHostToDevice));
        hidden_forward_kernel<<<c, s->hid_threads>>>(g.eval_ids, gset, g.W0, g.b0, H, g.hid);
        LAUNCHED();
        CB(cublasSgemm(s->cb, CUBLAS_OP_T, CUBLAS_OP_N, (int)L, c, H, &one, g.W1, H, g.hid, H,
                       &zero, g.logits, (int)L));
        top5_kernel<<<c, TOPK_THREADS>>>(g.logits, g.b1, L, g.top);
        LAUNCHED();
        CU(cudaMemcpy(s->top, g.top, (size_t)c * 5 * 4, cudaMemcpyDeviceToHost));
        const int n_pred = L < 5 ? (int)L : 5;
        for (int r = 0; r < c; r++) {
            const int64_t i = s->chunk[r];
            double pa[6], na[6];
            slide_metrics_point(s->top + 5 * r, n_pred, test.lab + test.lab_ptr[i],
                                (int)(test.lab_ptr[i + 1] - test.lab_ptr[i]), pa, na);
            for (int k = 1; k <= 5; k++) {
                p_sum[k] += pa[k];
                nd_sum[k] += na[k];
            }
        }
        n_eval += c;
    }
    memset(res, 0, sizeof *res);
    res->n_eval = n_eval;
    res->n_skipped = n_skip;
    for (int k = 1; k <= 5; k++) {
        res->p_at[k] = n_eval ? p_sum[k] / n_eval : 0;
        res->ndcg_at[k] = n_eval ? nd_sum[k] / n_eval : 0;
    }
    res->recall_at_5 = NAN;
    res->active_avg = (double)L;
    return SLIDE_OK;
}

static double gemm_gflops(const gpu_run *s) {
    return s->int_gemm > 0 ? s->int_flops / s->int_gemm * 1e-9 : NAN;
}

static void m_progress(void *self, char *buf, size_t cap) {
    gpu_run *s = (gpu_run *)self;
    read_loss(s);
    const double gf = gemm_gflops(s);
    snprintf(buf, cap, "loss %.4f %.0f GFLOP/s", s->int_samples ? s->lh[0] / s->int_samples : 0.0,
             std::isnan(gf) ? 0.0 : gf);
}

static void m_fill_row(void *self, const drv_loop *lp, slide_train_row *r,
                       const slide_eval_result *ev, double int_train) {
    gpu_run *s = (gpu_run *)self;
    (void)lp;
    (void)ev;
    read_loss(s);
    r->simd = s->simd;
    r->hugepages = "none";
    r->hugepages_requested = "none";
    r->system = "dense-gpu";
    r->gpu_model = s->gpu_model;
    r->threads = 1;
    r->loss = s->int_samples ? s->lh[0] / s->int_samples : 0.0;
    r->active_avg = (double)s->g.L;
    r->active_frac = 1.0;
    r->samples_per_s = int_train > 0 ? s->int_samples / int_train : 0.0;
    r->t_fwd_bwd_s = s->int_fwd;
    r->t_update_s = s->int_upd;
    r->t_rehash_s = 0.0;
    r->gflops = gemm_gflops(s);
    s->gemm_share = int_train > 0 ? 100.0 * s->int_gemm / int_train : 0.0;
}

static int m_after_row(void *self, const drv_loop *lp, const slide_train_row *r,
                       const slide_eval_result *ev, slide_err *err) {
    gpu_run *s = (gpu_run *)self;
    (void)err;
    fprintf(stderr, "[eval] iter %lld train %.2fs P@1 %.4f P@3 %.4f P@5 %.4f loss %.4f "
            "%.0f samples/s sgemm %.0f GFLOP/s (%.0f%% of train) (%s, n=%lld)\n",
            (long long)lp->iter, lp->train_s, ev->p_at[1], ev->p_at[3], ev->p_at[5], r->loss,
            r->samples_per_s, r->gflops, s->gemm_share,
            !strcmp(r->eval_set, "full") ? "full test set"
            : !strcmp(r->eval_set, "val") ? "validation split" : "subset", (long long)ev->n_eval);
    CU(cudaMemset(s->g.loss, 0, sizeof(double))); // interval accumulator only
    s->int_samples = 0;
    s->int_fwd = s->int_upd = s->int_gemm = s->int_flops = 0;
    return SLIDE_OK;
}

// ------------------------------------------------------------------ set-up

// The device, before anything is written or allocated. Returns 0 or 2 after a message.
static int open_device(gpu_run *s, int device, int tf32) {
    int n_dev = 0;
    cudaError_t ce = cudaGetDeviceCount(&n_dev);
    if (ce != cudaSuccess || n_dev == 0) {
        fprintf(stderr, "slide-dense-gpu: no CUDA device (cudaGetDeviceCount: %s)\n",
                ce != cudaSuccess ? cudaGetErrorString(ce) : "0 devices");
        return 2;
    }
    if (device >= n_dev) {
        fprintf(stderr, "slide-dense-gpu: --device %d: only %d CUDA device(s)\n", device, n_dev);
        return 2;
    }
    CU(cudaSetDevice(device));
    cudaDeviceProp prop;
    CU(cudaGetDeviceProperties(&prop, device));
    snprintf(s->gpu_model, sizeof s->gpu_model, "%s", prop.name);
    slide_csv_sanitize(s->gpu_model);
    snprintf(s->simd, sizeof s->simd, "cuda-sm%d%d-%s", prop.major, prop.minor, tf32 ? "tf32" : "fp32");
    CB(cublasCreate(&s->cb));
    CB(cublasSetMathMode(s->cb, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    return 0;
}

// Data and model on the device after the memory check ([gpu] line). Returns 0 or 2.
static int build_model(gpu_run *s, const drv_loop *lp) {
    const drv_opts *o = s->o;
    const slide_data &train = lp->train, &test = lp->test;
    s->dp = slide_dense_params_default();
    slide_dense_params &dp = s->dp;
    dp.d = train.d;
    dp.l = train.l;
    dp.hidden = o->hidden;
    dp.batch = o->batch;
    dp.lr = o->lr;
    dp.init_std = o->init_std;
    dp.seed = o->seed;
    const char *msg = slide_dense_params_check(&dp);
    if (!msg && ((double)o->batch * (double)train.l > 2147483647.0 ||
                 (double)train.l * o->hidden > 2147483647.0))
        msg = "batch x labels and labels x hidden must stay below 2^31 for cuBLAS (int dimensions)";
    if (msg) {
        fprintf(stderr, "slide-dense-gpu: %s\n", msg);
        return 2;
    }
    // Device memory: estimate before allocating, against what is free (or --max-mem).
    const int64_t D = train.d, L = train.l;
    const int H = o->hidden, B = o->batch;
    const double need_mb = (model_bytes(D, L, H, B, train.n) + (double)set_bytes(&train) +
                            (double)set_bytes(&test)) / 1048576.0 + 64.0; // + cuBLAS workspace
    size_t free_b = 0, total_b = 0;
    CU(cudaMemGetInfo(&free_b, &total_b));
    const double free_mb = (double)free_b / 1048576.0;
    const double limit_mb = o->max_mem_mb > 0 ? o->max_mem_mb : free_mb;
    fprintf(stderr, "[gpu] %s (%s), %.0f of %.0f MB free; the run needs about %.0f MB "
            "(batch x labels logits %.0f MB; limit %.0f MB%s)\n", s->gpu_model, s->simd, free_mb,
            (double)total_b / 1048576.0, need_mb, 4.0 * B * (double)L / 1048576.0, limit_mb,
            o->max_mem_mb > 0 ? ", --max-mem" : "");
    if (need_mb > limit_mb || need_mb > free_mb) {
        fprintf(stderr, "slide-dense-gpu: out of device memory: the run needs about %.0f MB, "
                "%.0f MB free%s; reduce --batch, --hidden or the label count\n", need_mb, free_mb,
                o->max_mem_mb > 0 ? " (or above --max-mem)" : "");
        return 2;
    }
    set_upload(&s->gtrain, &train);
    set_upload(&s->gtest, &test);
    if (lp->val.n > 0) {
        set_upload(&s->gval, &lp->val);
        s->val = &lp->val;
    }
    dev_model &g = s->g;
    memset(&g, 0, sizeof g);
    g.D = D;
    g.L = L;
    g.H = H;
    g.B = B;
    s->n0 = r16((size_t)D * H);
    s->nb0 = r16(H);
    s->n1 = r16((size_t)L * H);
    s->per = s->n0 + s->nb0 + s->n1 + r16(L);
    const size_t per = s->per, n0 = s->n0, nb0 = s->nb0, n1 = s->n1;
    CU(cudaMalloc(&g.slab, 4 * per * sizeof(float)));
    CU(cudaMemset(g.slab, 0, 4 * per * sizeof(float)));
    float **views[4][4] = {{&g.W0, &g.b0, &g.W1, &g.b1},
                           {&g.gW0, &g.gb0, &g.gW1, &g.gb1},
                           {&g.mW0, &g.mb0, &g.mW1, &g.mb1},
                           {&g.vW0, &g.vb0, &g.vW1, &g.vb1}};
    for (int c = 0; c < 4; c++) {
        float *q = g.slab + (size_t)c * per;
        *views[c][0] = q;
        *views[c][1] = q + n0;
        *views[c][2] = q + n0 + nb0;
        *views[c][3] = q + n0 + nb0 + n1;
    }
    CU(cudaMalloc(&g.hid, (size_t)B * H * 4));
    CU(cudaMalloc(&g.dhid, (size_t)B * H * 4));
    CU(cudaMalloc(&g.logits, (size_t)B * (size_t)L * 4));
    CU(cudaMalloc(&g.touched, (size_t)D));
    CU(cudaMemset(g.touched, 0, (size_t)D));
    CU(cudaMalloc(&g.loss, 2 * sizeof(double)));
    CU(cudaMemset(g.loss, 0, 2 * sizeof(double)));
    CU(cudaMalloc(&g.batch_ids, (size_t)train.n * 8));
    CU(cudaMalloc(&g.eval_ids, (size_t)B * 8));
    CU(cudaMalloc(&g.top, (size_t)B * 5 * 4));
    {   // same initial weights as slide-train and slide-dense (initialised on the host)
        float *host = (float *)malloc(((size_t)D > (size_t)L ? (size_t)D : (size_t)L) * H * 4);
        if (!host) {
            fprintf(stderr, "slide-dense-gpu: out of host memory for the initial weights\n");
            return 2;
        }
        slide_dense_init_matrix(host, D, H, o->init_std, o->seed, 0);
        CU(cudaMemcpy(g.W0, host, (size_t)D * H * 4, cudaMemcpyHostToDevice));
        slide_dense_init_matrix(host, L, H, o->init_std, o->seed, 1);
        CU(cudaMemcpy(g.W1, host, (size_t)L * H * 4, cudaMemcpyHostToDevice));
        free(host);
    }
    s->chunk = (int64_t *)malloc((size_t)B * 8);
    s->top = (uint32_t *)malloc((size_t)B * 5 * 4);
    if (!s->chunk || !s->top) {
        fprintf(stderr, "slide-dense-gpu: out of host memory\n");
        return 2;
    }
    for (int k = 0; k < 6; k++) CU(cudaEventCreate(&s->ev[k]));
    CU(cudaEventCreate(&s->ev_end));
    s->hid_threads = H >= 1024 ? 1024 : ((H + 31) / 32) * 32;
    return 0;
}

static void free_model(gpu_run *s) {
    dev_model &g = s->g;
    if (s->ev_end) {
        for (int k = 0; k < 6; k++) cudaEventDestroy(s->ev[k]);
        cudaEventDestroy(s->ev_end);
    }
    cudaFree(g.slab);
    cudaFree(g.hid);
    cudaFree(g.dhid);
    cudaFree(g.logits);
    cudaFree(g.touched);
    cudaFree(g.loss);
    cudaFree(g.batch_ids);
    cudaFree(g.eval_ids);
    cudaFree(g.top);
    if (s->gtrain.row_ptr) set_free(&s->gtrain);
    if (s->gtest.row_ptr) set_free(&s->gtest);
    if (s->gval.row_ptr) set_free(&s->gval);
    if (s->cb) cublasDestroy(s->cb);
    free(s->chunk);
    free(s->top);
}

int main(int argc, char **argv) {
    static drv_opts o; // (holds its option table)
    static gpu_run s;
    int device = 0, tf32 = 0;
    const slide_opt own[] = {
        {"device", SLIDE_OPT_INT, &device, 0, 1024, NULL, "CUDA device index", 0, NULL},
        {"tf32", SLIDE_OPT_FLAG, &tf32, 0, 1, NULL, "let cuBLAS use TF32 tensor cores (0: strict FP32)", 0, NULL},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL}};
    drv_opts_init(&o, DRV_GPU, own);
    int ex = drv_opts_cli(&o, argc, argv, "slide-dense-gpu",
                          "usage: slide-dense-gpu [--config FILE] [options]\n"
                          "Trains the SLIDE network with a full softmax over all labels on one "
                          "GPU (cuBLAS sgemm for the output layer, CUDA kernels for the rest) "
                          "and appends one CSV row per evaluation (system dense-gpu, the schema "
                          "of slide-train). train_s sums CUDA-event-timed training steps.\n"
                          "Defaults are slide-train's: bench/e2e/configs/delicious.conf on the "
                          "vendored Delicious set (datasets/prepare_delicious.sh).");
    if (ex >= 0) return ex;
    ex = 0;
    s.o = &o;
    drv_loop lp;
    memset(&lp, 0, sizeof lp);
    slide_err err;
    slide_err_clear(&err);
    if (o.dump_after > 0 && !*o.dump_path) {
        fprintf(stderr, "slide-dense-gpu: --dump-after-step needs --dump-path\n");
        ex = 2;
    } else if (slide_data_check_path("train", o.train, &err) ||
               slide_data_check_path("test", o.test, &err)) {
        fprintf(stderr, "slide-dense-gpu: %s\n", err.msg);
        ex = 2;
    }
    if (!ex && !(ex = open_device(&s, device, tf32)) &&
        !(ex = drv_loop_setup(&lp, &o, "slide-dense-gpu")) && !(ex = build_model(&s, &lp))) {
        s.test = &lp.test;
        const drv_model m = {&s, m_epoch_start, m_train_batch, m_evaluate, m_progress, m_fill_row,
                             m_after_row, NULL};
        ex = drv_loop_run(&lp, &m);
        if (!ex && lp.finished) ex = drv_loop_done(&lp);
    }
    free_model(&s);
    drv_loop_free(&lp);
    drv_opts_free(&o);
    return ex;
}
