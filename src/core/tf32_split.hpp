// 3xTF32: an FP32 GEMM from three TF32 tensor-core products
// (docs/design-notes.md, "TF32 and 3xTF32"). Each operand x is split into
// a TF32 value hi (10 explicit mantissa bits, rounded to nearest) and the
// remainder lo = x − hi (exact in FP32; itself TF32-rounded by the tensor
// cores); then A·B ≈ A_lo·B_hi + A_hi·B_lo + A_hi·B_hi, dropping A_lo·B_lo
// (2⁻²² relative). The small products go first so that they are not lost in
// the large one's rounding. The split is per element (the CUDA kernel and
// its CPU twin call split_tf32); the three products are any GEMM's.
#pragma once
#include <cstdint>
#include <cstring>

#include "core/host_device.hpp"

namespace lnn::core {

// hi = x rounded to TF32 (ties away from zero, as cvt.rna.tf32.f32; near
// FLT_MAX, where that would overflow, truncated), lo = x − hi. Non-finite
// x: hi = x, lo = 0.
LNN_HD void split_tf32(float x, float& hi, float& lo) {
  constexpr std::uint32_t kExp = 0x7f800000u;
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & kExp) == kExp) {  // inf or NaN
    hi = x;
    lo = 0.0f;
    return;
  }
  const std::uint32_t r = (u + 0x1000u) & 0xffffe000u;  // the 13 dropped bits rounded
  u = (r & kExp) == kExp ? u & 0xffffe000u : r;
  std::memcpy(&hi, &u, sizeof u);
  lo = x - hi;
}

// C = alpha·A·B + beta·C from three products of split operands.
// gemm(a, b, beta) runs the caller's GEMM (its shapes and leading dimensions
// fixed) on operands a, b; Ah/Al, Bh/Bl hold the splits of A and B.
template <class Gemm>
void three_tf32_products(Gemm gemm, const float* Ah, const float* Al, const float* Bh,
                         const float* Bl, float beta) {
  gemm(Al, Bh, beta);
  gemm(Ah, Bl, 1.0f);
  gemm(Ah, Bh, 1.0f);
}

}  // namespace lnn::core
