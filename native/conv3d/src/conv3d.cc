// Segloop native 3D convolution kernels (Node-API addon): forward, filter gradient and input
// gradient of a channels-last (NDHWC) float32 convolution, as tfjs holds its tensors, computed
// as im2col ("vol2col") tiles times the filter with the OS's BLAS (cblas_sgemm).
//
// Why tiles and our own threads: a whole-volume vol2col of the first U-Net level is 155 MB per
// sample, so rows are processed in tiles of ~4 MB (they stay in L2/L3); each of our threads fills
// its own tile and calls a single-threaded sgemm on it, so the (memory-bound) gathers are
// parallel too. Work is split statically where results are summed (filter gradient: each thread
// owns a fixed range of tiles, partial sums are added in thread order), so a given thread count
// always gives the same bits.
//
// The input gradient is a gather, not a col2im scatter (no races, no atomics): an input voxel i
// receives dY[o] * W[k] for every tap k with o*s - pad + k = i. Voxels are grouped by phase
// (i + pad) mod s per axis; within a phase the valid taps are the same for every voxel, so each
// phase is one dense "dY-col" tile times a [taps*Co, Ci] slice of the filter. For stride 1 that is
// one phase with all taps; for the U-Net's 2x2x2 stride-2 transposed conv, 8 phases of 1 tap.
//
// All buffers come from JS as Float32Arrays (views into the tfjs-wasm heap: zero copy); every
// length is checked against the geometry before any pointer is touched.
#include <node_api.h>
#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

extern "C" {
// OpenBLAS extensions (declared by OpenBLAS's cblas.h; repeated so other BLAS builds compile).
void openblas_set_num_threads(int) __attribute__((weak));
char* openblas_get_config(void) __attribute__((weak));
}

namespace {

struct Geom {
  int64_t n, d, h, w, ci;   // input
  int64_t kd, kh, kw, co;   // filter [kd, kh, kw, ci, co]
  int64_t sd, sh, sw;       // strides
  int64_t pf, pt, pl;       // padding before (front, top, left)
  int64_t od, oh, ow;       // output
  int64_t inSize() const { return n * d * h * w * ci; }
  int64_t outSize() const { return n * od * oh * ow * co; }
  int64_t filterSize() const { return kd * kh * kw * ci * co; }
  int64_t taps() const { return kd * kh * kw; }
};

constexpr int kGeomLen = 18;
constexpr int64_t kTileFloats = 1 << 20;  // ~4 MB of im2col per thread

template <typename F>
void parallelFor(int threads, F&& body) {
  if (threads <= 1) {
    body(0);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (int t = 1; t < threads; t++) pool.emplace_back([&body, t] { body(t); });
  body(0);
  for (auto& th : pool) th.join();
}

// One im2col row per output voxel, K = kd*kh*kw*ci columns in filter order (kd, kh, kw, ci).
void vol2colRows(const Geom& g, const float* x, int64_t row0, int64_t rows, float* cols) {
  const int64_t K = g.taps() * g.ci;
  const int64_t runW = g.kw * g.ci;
  for (int64_t r = 0; r < rows; r++) {
    int64_t p = row0 + r;
    const int64_t ox = p % g.ow; p /= g.ow;
    const int64_t oy = p % g.oh; p /= g.oh;
    const int64_t oz = p % g.od;
    const int64_t nn = p / g.od;
    float* dst = cols + r * K;
    const int64_t x0 = ox * g.sw - g.pl;
    const bool fullW = x0 >= 0 && x0 + g.kw <= g.w;
    for (int64_t a = 0; a < g.kd; a++) {
      const int64_t iz = oz * g.sd - g.pf + a;
      for (int64_t b = 0; b < g.kh; b++, dst += runW) {
        const int64_t iy = oy * g.sh - g.pt + b;
        if (iz < 0 || iz >= g.d || iy < 0 || iy >= g.h) {
          std::memset(dst, 0, sizeof(float) * runW);
          continue;
        }
        const float* src = x + (((nn * g.d + iz) * g.h + iy) * g.w) * g.ci;
        if (fullW) {
          std::memcpy(dst, src + x0 * g.ci, sizeof(float) * runW);
          continue;
        }
        for (int64_t c = 0; c < g.kw; c++) {
          const int64_t ix = x0 + c;
          if (ix < 0 || ix >= g.w) std::memset(dst + c * g.ci, 0, sizeof(float) * g.ci);
          else std::memcpy(dst + c * g.ci, src + ix * g.ci, sizeof(float) * g.ci);
        }
      }
    }
  }
}

// A 1x1x1 convolution with stride 1 and no padding: the input rows ARE the im2col rows.
bool pointwise(const Geom& g) {
  return g.taps() == 1 && g.sd == 1 && g.sh == 1 && g.sw == 1 && g.pf == 0 && g.pt == 0 && g.pl == 0 && g.od == g.d &&
         g.oh == g.h && g.ow == g.w;
}

int64_t tileRows(int64_t K, int64_t total) {
  return std::max<int64_t>(1, std::min<int64_t>(total, std::max<int64_t>(64, kTileFloats / std::max<int64_t>(1, K))));
}

void forward(const Geom& g, const float* x, const float* w, float* y, int threads) {
  const int64_t K = g.taps() * g.ci;
  const int64_t total = g.n * g.od * g.oh * g.ow;
  const int64_t R = tileRows(K, total);
  const int64_t tiles = (total + R - 1) / R;
  const bool direct = pointwise(g);
  std::atomic<int64_t> next{0};
  parallelFor(threads, [&](int) {
    std::vector<float> cols(direct ? 0 : static_cast<size_t>(R * K));
    for (int64_t t; (t = next.fetch_add(1)) < tiles;) {
      const int64_t r0 = t * R;
      const int64_t rows = std::min(R, total - r0);
      const float* a = x + r0 * K;
      if (!direct) {
        vol2colRows(g, x, r0, rows, cols.data());
        a = cols.data();
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)g.co, (int)K, 1.0f, a, (int)K,
                  w, (int)g.co, 0.0f, y + r0 * g.co, (int)g.co);
    }
  });
}

void filterGrad(const Geom& g, const float* x, const float* dy, float* dw, int threads) {
  const int64_t K = g.taps() * g.ci;
  const int64_t total = g.n * g.od * g.oh * g.ow;
  const int64_t R = tileRows(K, total);
  const int64_t tiles = (total + R - 1) / R;
  threads = (int)std::max<int64_t>(1, std::min<int64_t>(threads, tiles));
  const bool direct = pointwise(g);
  std::vector<std::vector<float>> partial(threads);
  parallelFor(threads, [&](int t) {
    float* acc = dw;
    if (t > 0) {
      partial[t].assign(static_cast<size_t>(K * g.co), 0.0f);
      acc = partial[t].data();
    } else {
      std::memset(dw, 0, sizeof(float) * K * g.co);
    }
    std::vector<float> cols(direct ? 0 : static_cast<size_t>(R * K));
    const int64_t t0 = tiles * t / threads, t1 = tiles * (t + 1) / threads;
    for (int64_t i = t0; i < t1; i++) {
      const int64_t r0 = i * R;
      const int64_t rows = std::min(R, total - r0);
      const float* a = x + r0 * K;
      if (!direct) {
        vol2colRows(g, x, r0, rows, cols.data());
        a = cols.data();
      }
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)g.co, (int)rows, 1.0f, a, (int)K,
                  dy + r0 * g.co, (int)g.co, 1.0f, acc, (int)g.co);
    }
  });
  for (int t = 1; t < threads; t++) {
    const float* p = partial[t].data();
    for (int64_t i = 0; i < K * g.co; i++) dw[i] += p[i];
  }
}

// Per axis: the input positions of one phase and the taps valid for it.
struct AxisPhase {
  std::vector<int64_t> pos;   // input coordinates i with (i + pad) % s == r
  std::vector<int64_t> taps;  // k with k % s == r, i.e. (i + pad - k) divisible by s
};

AxisPhase axisPhase(int64_t size, int64_t k, int64_t s, int64_t pad, int64_t r) {
  AxisPhase a;
  for (int64_t i = 0; i < size; i++) if (((i + pad) % s + s) % s == r) a.pos.push_back(i);
  // Descending taps give ascending output coordinates (o = (i + pad - k) / s).
  for (int64_t kk = k - 1; kk >= 0; kk--) if (kk % s == r) a.taps.push_back(kk);
  return a;
}

void inputGrad(const Geom& g, const float* dy, const float* w, float* dx, int threads) {
  if (pointwise(g)) {
    // dX[P, ci] = dY[P, co] x W[ci, co]^T, in row tiles.
    const int64_t total = g.n * g.d * g.h * g.w;
    const int64_t R = tileRows(g.co, total);
    const int64_t tiles = (total + R - 1) / R;
    std::atomic<int64_t> next{0};
    parallelFor(threads, [&](int) {
      for (int64_t t; (t = next.fetch_add(1)) < tiles;) {
        const int64_t r0 = t * R;
        const int64_t rows = std::min(R, total - r0);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)g.ci, (int)g.co, 1.0f, dy + r0 * g.co,
                    (int)g.co, w, (int)g.co, 0.0f, dx + r0 * g.ci, (int)g.ci);
      }
    });
    return;
  }
  struct Phase {
    AxisPhase z, y, x;
    std::vector<float> wp;  // [taps * co, ci]
    int64_t rows, K;
  };
  std::vector<Phase> phases;
  for (int64_t rz = 0; rz < g.sd; rz++)
    for (int64_t ry = 0; ry < g.sh; ry++)
      for (int64_t rx = 0; rx < g.sw; rx++) {
        Phase ph{axisPhase(g.d, g.kd, g.sd, g.pf, rz), axisPhase(g.h, g.kh, g.sh, g.pt, ry),
                 axisPhase(g.w, g.kw, g.sw, g.pl, rx), {}, 0, 0};
        ph.rows = g.n * (int64_t)(ph.z.pos.size() * ph.y.pos.size() * ph.x.pos.size());
        if (ph.rows == 0) continue;
        const int64_t nt = (int64_t)(ph.z.taps.size() * ph.y.taps.size() * ph.x.taps.size());
        ph.K = nt * g.co;
        if (nt > 0) {
          ph.wp.resize(static_cast<size_t>(ph.K * g.ci));
          int64_t t = 0;
          for (int64_t a : ph.z.taps)
            for (int64_t b : ph.y.taps)
              for (int64_t c : ph.x.taps) {
                for (int64_t o = 0; o < g.co; o++)
                  for (int64_t i = 0; i < g.ci; i++)
                    ph.wp[(t * g.co + o) * g.ci + i] = w[(((a * g.kh + b) * g.kw + c) * g.ci + i) * g.co + o];
                t++;
              }
        }
        phases.push_back(std::move(ph));
      }
  struct Item { size_t phase; int64_t r0, rows; };
  std::vector<Item> items;
  for (size_t i = 0; i < phases.size(); i++) {
    const int64_t R = tileRows(std::max<int64_t>(phases[i].K, g.ci), phases[i].rows);
    for (int64_t r0 = 0; r0 < phases[i].rows; r0 += R) items.push_back({i, r0, std::min(R, phases[i].rows - r0)});
  }
  std::atomic<size_t> next{0};
  parallelFor(threads, [&](int) {
    std::vector<float> cols, out;
    for (size_t it; (it = next.fetch_add(1)) < items.size();) {
      const Item& item = items[it];
      const Phase& ph = phases[item.phase];
      const int64_t nz = ph.z.pos.size(), ny = ph.y.pos.size(), nx = ph.x.pos.size();
      out.resize(static_cast<size_t>(item.rows * g.ci));
      if (ph.K == 0) {
        std::fill(out.begin(), out.end(), 0.0f);
      } else {
        cols.resize(static_cast<size_t>(item.rows * ph.K));
        for (int64_t r = 0; r < item.rows; r++) {
          int64_t p = item.r0 + r;
          const int64_t ix = ph.x.pos[p % nx]; p /= nx;
          const int64_t iy = ph.y.pos[p % ny]; p /= ny;
          const int64_t iz = ph.z.pos[p % nz];
          const int64_t nn = p / nz;
          float* dst = cols.data() + r * ph.K;
          for (int64_t a : ph.z.taps) {
            const int64_t oz = (iz + g.pf - a) / g.sd;
            const bool zIn = iz + g.pf - a >= 0 && oz < g.od;
            for (int64_t b : ph.y.taps) {
              const int64_t oy = (iy + g.pt - b) / g.sh;
              const bool yIn = zIn && iy + g.pt - b >= 0 && oy < g.oh;
              const float* row = yIn ? dy + ((nn * g.od + oz) * g.oh + oy) * g.ow * g.co : nullptr;
              for (int64_t c : ph.x.taps) {
                const int64_t ox = (ix + g.pl - c) / g.sw;
                if (!row || ix + g.pl - c < 0 || ox >= g.ow) std::memset(dst, 0, sizeof(float) * g.co);
                else std::memcpy(dst, row + ox * g.co, sizeof(float) * g.co);
                dst += g.co;
              }
            }
          }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)item.rows, (int)g.ci, (int)ph.K, 1.0f, cols.data(),
                    (int)ph.K, ph.wp.data(), (int)g.ci, 0.0f, out.data(), (int)g.ci);
      }
      for (int64_t r = 0; r < item.rows; r++) {
        int64_t p = item.r0 + r;
        const int64_t ix = ph.x.pos[p % nx]; p /= nx;
        const int64_t iy = ph.y.pos[p % ny]; p /= ny;
        const int64_t iz = ph.z.pos[p % nz];
        const int64_t nn = p / nz;
        std::memcpy(dx + (((nn * g.d + iz) * g.h + iy) * g.w + ix) * g.ci, out.data() + r * g.ci, sizeof(float) * g.ci);
      }
    }
  });
}

// ---- Node-API glue -------------------------------------------------------------------------

bool check(napi_env env, napi_status s, const char* what) {
  if (s == napi_ok) return true;
  napi_throw_error(env, "NATIVE_CONV_ARGS", what);
  return false;
}

bool getFloats(napi_env env, napi_value v, int64_t expected, float** data, const char* name) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) {
    napi_throw_type_error(env, "NATIVE_CONV_ARGS", (std::string(name) + " must be a Float32Array").c_str());
    return false;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* ptr = nullptr;
  if (!check(env, napi_get_typedarray_info(env, v, &type, &length, &ptr, nullptr, nullptr), "typed array info")) return false;
  if (type != napi_float32_array) {
    napi_throw_type_error(env, "NATIVE_CONV_ARGS", (std::string(name) + " must be a Float32Array").c_str());
    return false;
  }
  if ((int64_t)length != expected) {
    napi_throw_range_error(env, "NATIVE_CONV_ARGS", (std::string(name) + " has " + std::to_string(length) +
                                                     " elements, the geometry needs " + std::to_string(expected)).c_str());
    return false;
  }
  *data = static_cast<float*>(ptr);
  return true;
}

bool getGeom(napi_env env, napi_value v, Geom* g) {
  bool is = false;
  napi_typedarray_type type;
  size_t length = 0;
  void* ptr = nullptr;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, &length, &ptr, nullptr, nullptr) != napi_ok || type != napi_int32_array ||
      length != kGeomLen) {
    napi_throw_type_error(env, "NATIVE_CONV_ARGS", "geometry must be an Int32Array of 18 values");
    return false;
  }
  const int32_t* q = static_cast<const int32_t*>(ptr);
  *g = Geom{q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9], q[10], q[11], q[12], q[13], q[14], q[15], q[16], q[17]};
  const bool positive = g->n > 0 && g->d > 0 && g->h > 0 && g->w > 0 && g->ci > 0 && g->kd > 0 && g->kh > 0 && g->kw > 0 &&
                        g->co > 0 && g->sd > 0 && g->sh > 0 && g->sw > 0 && g->od > 0 && g->oh > 0 && g->ow > 0;
  const bool pads = g->pf >= 0 && g->pt >= 0 && g->pl >= 0 && g->pf < g->kd && g->pt < g->kh && g->pl < g->kw;
  // Every output voxel's first tap must start inside the padded input (what computeConv3DInfo gives).
  const bool fits = (g->od - 1) * g->sd - g->pf < g->d && (g->oh - 1) * g->sh - g->pt < g->h && (g->ow - 1) * g->sw - g->pl < g->w;
  const bool small = g->taps() * std::max(g->ci, g->co) < (1 << 24) && g->inSize() < (int64_t(1) << 31) && g->outSize() < (int64_t(1) << 31);
  if (!positive || !pads || !fits || !small) {
    napi_throw_range_error(env, "NATIVE_CONV_ARGS", "unsupported or inconsistent convolution geometry");
    return false;
  }
  return true;
}

int getThreads(napi_env env, napi_value v) {
  int32_t t = 1;
  if (napi_get_value_int32(env, v, &t) != napi_ok) return 1;
  const int hw = (int)std::max(1u, std::thread::hardware_concurrency());
  return std::max(1, std::min(t, 4 * hw));
}

enum class Op { Forward, FilterGrad, InputGrad };

template <Op op>
napi_value Run(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (!check(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr), "arguments")) return nullptr;
  if (argc != 5) {
    napi_throw_type_error(env, "NATIVE_CONV_ARGS", "expected (a, b, out, geometry, threads)");
    return nullptr;
  }
  Geom g;
  if (!getGeom(env, argv[3], &g)) return nullptr;
  float *a, *b, *out;
  const int threads = getThreads(env, argv[4]);
  if (op == Op::Forward) {
    if (!getFloats(env, argv[0], g.inSize(), &a, "x") || !getFloats(env, argv[1], g.filterSize(), &b, "filter") ||
        !getFloats(env, argv[2], g.outSize(), &out, "y"))
      return nullptr;
    forward(g, a, b, out, threads);
  } else if (op == Op::FilterGrad) {
    if (!getFloats(env, argv[0], g.inSize(), &a, "x") || !getFloats(env, argv[1], g.outSize(), &b, "dy") ||
        !getFloats(env, argv[2], g.filterSize(), &out, "dw"))
      return nullptr;
    filterGrad(g, a, b, out, threads);
  } else {
    if (!getFloats(env, argv[0], g.outSize(), &a, "dy") || !getFloats(env, argv[1], g.filterSize(), &b, "filter") ||
        !getFloats(env, argv[2], g.inSize(), &out, "dx"))
      return nullptr;
    inputGrad(g, a, b, out, threads);
  }
  return nullptr;
}

napi_value Info(napi_env env, napi_callback_info) {
  std::string blas = openblas_get_config ? std::string(openblas_get_config()) : "cblas";
  napi_value s;
  napi_create_string_utf8(env, blas.c_str(), blas.size(), &s);
  return s;
}

napi_value Init(napi_env env, napi_value exports) {
  // Our threads each run a single-threaded sgemm: no BLAS thread pool on top of ours.
  if (openblas_set_num_threads) openblas_set_num_threads(1);
  napi_property_descriptor props[] = {
      {"forward", nullptr, Run<Op::Forward>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"filterGrad", nullptr, Run<Op::FilterGrad>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"inputGrad", nullptr, Run<Op::InputGrad>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"blasInfo", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
