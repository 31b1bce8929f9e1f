// Backend kernel declarations. Inputs are validated by ops/*.cpp: contiguous F32 on the
// kernel's device unless stated. A CUDA build provides cuda:: in ops/cuda/; otherwise
// ops/cuda/cuda_stub.cpp throws a clear "built without CUDA" error.
#pragma once
#include "ops/ops.h"

#define SV_BACKEND_KERNELS                                                                                     \
  Tensor linear(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, ops::Act act);               \
  Tensor activation(Context& ctx, const Tensor& x, ops::Act act);                                            \
  Tensor add(Context& ctx, const Tensor& a, const Tensor& b);                                                \
  void add_gated_(Context& ctx, Tensor& x, const Tensor& gate, const Tensor& y);                             \
  Tensor layer_norm_modulate(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b,                \
                             const Tensor& shift, const Tensor& scale, float eps);                           \
  Tensor layer_norm(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, float eps);             \
  Tensor rms_norm(Context& ctx, const Tensor& x, const Tensor& w, float eps);                                \
  Tensor timestep_embedding(Context& ctx, const Tensor& t, int64_t dim, bool flip, float shift);             \
  Tensor linear_attention(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cos, \
                          const Tensor& sin, int64_t heads, float eps);                                      \
  Tensor linear_attention_cached(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,             \
                                 const Tensor& cos, const Tensor& sin, int64_t heads, const Tensor& vk_prev,  \
                                 const Tensor& ksum_prev, Tensor* vk_cur, Tensor* ksum_cur, float eps);       \
  Tensor linear_attention_chunked(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,            \
                                  const Tensor& cos, const Tensor& sin, int64_t heads,                        \
                                  const std::vector<int64_t>& chunk_starts, float eps);                       \
  Tensor mul_act(Context& ctx, const Tensor& a, const Tensor& b, ops::Act act);                               \
  Tensor embedding(Context& ctx, const Tensor& ids, const Tensor& table, float scale);                        \
  Tensor rope_half(Context& ctx, const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t heads);       \
  Tensor causal_attention(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, \
                          int64_t heads, int64_t kv_heads, float scale, float softcap, int64_t window);      \
  Tensor sdpa(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& bias,           \
              int64_t heads);                                                                                \
  Tensor rope_pairs(Context& ctx, const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t heads);      \
  Tensor gated_linear_attention(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,              \
                                const Tensor& beta, int64_t heads, const Tensor& q_plain,                    \
                                const Tensor& k_plain, float eps);                                           \
  Tensor rms_dot(Context& ctx, const Tensor& x, const Tensor& w, float eps);                                 \
  Tensor softmax_mix(Context& ctx, const std::vector<Tensor>& values, const std::vector<Tensor>& logits,      \
                     int64_t col);                                                                           \
  Tensor patch_embed(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b);                      \
  Tensor unpatchify(Context& ctx, const Tensor& x, int64_t f, int64_t h, int64_t w, int64_t pt, int64_t ph,  \
                    int64_t pw);                                                                             \
  Tensor conv3d(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b,                               \
                const std::array<int64_t, 3>& stride, const std::array<int64_t, 3>& pad, ops::Padding spatial); \
  Tensor conv3d_frames(Context& ctx, const std::vector<Tensor>& parts, const Tensor& w, const Tensor& b,       \
                       int64_t pad_hw, ops::Padding spatial);                                                \
  Tensor upsample_nearest2x(Context& ctx, const Tensor& x);                                                   \
  Tensor channel_rms_norm_act(Context& ctx, const Tensor& x, float eps, ops::Act act);                       \
  Tensor space_to_depth3d(Context& ctx, const Tensor& x, const std::array<int64_t, 3>& f, bool width_major);  \
  Tensor depth_to_space3d(Context& ctx, const Tensor& x, const std::array<int64_t, 3>& f, bool width_major);  \
  Tensor channel_group_mean(Context& ctx, const Tensor& x, int64_t g);                                       \
  void blend_edge_(Context& ctx, Tensor& dst, const Tensor& src, int64_t e, int64_t dim);                    \
  Tensor channel_rms_norm(Context& ctx, const Tensor& x, const Tensor& gamma);                                \
  Tensor clamp(Context& ctx, const Tensor& x, float lo, float hi);                                            \
  Tensor depthwise_conv3x3_glu(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b);            \
  Tensor temporal_conv3_residual(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& left,          \
                                 const std::vector<int64_t>& cut);                                          \
  void copy_(Context& ctx, const Tensor& src, const Tensor& dst);                                             \
  Tensor axpby(Context& ctx, float a, const Tensor& x, float b, const Tensor& y);                             \
  Tensor dpm_2m_update(Context& ctx, const Tensor& x, const Tensor& m0, const Tensor& m1, float cx, float c0,  \
                       float c1, float inv_r0);                                                              \
  Tensor unipc_update(Context& ctx, const Tensor& x, const Tensor& m0, const Tensor& m1, const Tensor& mt,    \
                      float c1, float c2, float c3, float rho0, float rho1, float rk);                        \
  Tensor cfg_combine(Context& ctx, const Tensor& v, float scale);                                            \
  void latents_affine_(Context& ctx, Tensor& z, const std::vector<float>& mean, const std::vector<float>& inv,  \
                       bool denormalise);                                                                    \
  Tensor flow_dpm_x0(Context& ctx, const Tensor& x, const Tensor& v, float t, float guidance);              \
  Tensor flow_x0(Context& ctx, const Tensor& x, const Tensor& v, double sigma);                               \
  Tensor flow_renoise(Context& ctx, const Tensor& x0, const Tensor& noise, double sigma);

namespace sv::cpu {
SV_BACKEND_KERNELS
}
namespace sv::cuda {
SV_BACKEND_KERNELS
}
