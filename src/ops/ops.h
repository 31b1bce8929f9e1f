// Device-agnostic op entry points. Each validates shapes/dtypes/devices once with a clear
// message, then dispatches on the input's device to cpu:: or cuda:: kernels (kernels.h).
// Tensors are in PyTorch dimension order; token-major activations are [B, N, D].
#pragma once
#include <array>
#include <vector>

#include "core/context.h"
#include "core/tensor.h"

namespace sv::ops {

enum class Act { None, SiLU, GeluTanh, ReLU, Sigmoid };

// y[..., N] = act(x[..., K] @ w[N, K]^T + b[N]). `b` may be undefined.
Tensor linear(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, Act act = Act::None);

// Elementwise.
Tensor activation(Context& ctx, const Tensor& x, Act act);
Tensor add(Context& ctx, const Tensor& a, const Tensor& b);  // numpy-style broadcasting
// x += gate * y, with x, y [B, N, D] and gate [B, T, D]: T divides N and each row serves N/T consecutive
// tokens (T == 1: all tokens; T == frames: per latent frame; T == N: per token).
void add_gated_(Context& ctx, Tensor& x, const Tensor& gate, const Tensor& y);

// act(a) * b elementwise (GeGLU: gelu_tanh(gate) * up).
Tensor mul_act(Context& ctx, const Tensor& a, const Tensor& b, Act act);

// Norms over the last dim.
// LayerNorm (affine w/b optional, may be undefined), then x * (1 + scale) + shift;
// shift/scale [B, T, D] as for add_gated_.
Tensor layer_norm_modulate(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& shift,
                           const Tensor& scale, float eps);
// LayerNorm with optional affine weight/bias (either may be undefined).
Tensor layer_norm(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, float eps);
// diffusers RMSNorm: x * rsqrt(mean(x^2) + eps) * w (w may be undefined).
Tensor rms_norm(Context& ctx, const Tensor& x, const Tensor& w, float eps);

// Sinusoidal timestep features (diffusers get_timestep_embedding): t [M] -> [M, dim].
Tensor timestep_embedding(Context& ctx, const Tensor& t, int64_t dim, bool flip_sin_to_cos, float downscale_freq_shift);

// Token embedding: ids [B, L] (integer dtype) -> table rows * scale, [B, L, D]. Ids outside the
// table are an error naming the id.
Tensor embedding(Context& ctx, const Tensor& ids, const Tensor& table, float scale);

// Rotate-half RoPE (Llama/Gemma): x [B, L, H*Dh]; cos, sin [L, Dh/2]; pairs (j, j + Dh/2).
Tensor rope_half(Context& ctx, const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t heads);

// Causal softmax attention for decoders with grouped KV heads: q [B, L, Hq*Dh], k, v [B, L, Hkv*Dh].
// Scores are scaled, soft-capped (cap > 0: cap * tanh(s / cap)), and key j is visible to query i when
// j <= i, key_mask[b, j] != 0 (if given) and i - j < window (window > 0). A row with no visible key
// averages all keys uniformly, as adding finfo.min does in transformers.
Tensor causal_attention(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_mask,
                        int64_t heads, int64_t kv_heads, float scale, float softcap, int64_t window);

// SANA ReLU linear attention. q, k, v [B, N, H*C] (q, k already RMS-normalised);
// cos, sin [N, C/2] rotate channel pairs (2i, 2i+1) of the ReLU'd q and k in the numerator only:
//   out[n] = sum_m v[m] (k_r[m] . q_r[n]) / (sum_m k[m] . q[n] + eps).
Tensor linear_attention(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cos,
                        const Tensor& sin, int64_t heads, float eps = 1e-15f);
// LongSANA's cached form: linear attention over one block of tokens (bidirectional inside the block) plus
// the state of earlier blocks, vk_prev [B, H, C, C] = sum of v k_r^T and ksum_prev [B, H, C] = sum of
// ReLU(k) (both undefined for the first block). cos/sin hold the block's absolute positions. When
// vk_cur / ksum_cur are non-null they receive this block's own contribution (F32, same layouts).
Tensor linear_attention_cached(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cos,
                               const Tensor& sin, int64_t heads, const Tensor& vk_prev, const Tensor& ksum_prev,
                               Tensor* vk_cur, Tensor* ksum_cur, float eps = 1e-15f);
// Chunk-causal linear attention over a whole sequence, without any state: a token of chunk c attends to
// every token of chunks 0..c. chunk_starts: first token of each chunk, ascending, starting at 0.
Tensor linear_attention_chunked(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cos,
                                const Tensor& sin, int64_t heads, const std::vector<int64_t>& chunk_starts,
                                float eps = 1e-15f);

// Interleaved rotary embedding (Wan's complex-pair form): channel pair (2i, 2i+1) of every head of x [B, N, H*C]
// is multiplied by e^{i angle}: (x0 c - x1 s, x0 s + x1 c) with c, s = cos, sin [N, C/2].
Tensor rope_pairs(Context& ctx, const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t heads);
// SANA-Video 2.0's gated linear attention core, per head: S = sum_m v[m] (sigmoid(beta[m]) k[m])^T and
// out[n] = S q[n], with q, k (already rotated), v [B, N, H*C] and key gates beta [B, N, H] (logits). With
// q_plain / k_plain (the first release's normaliser, from the un-rotated, un-gated features) each output
// is divided by sum_m ReLU(k_plain[m]) . ReLU(q_plain[n]) + eps. Accumulates in fp32.
Tensor gated_linear_attention(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& beta,
                              int64_t heads, const Tensor& q_plain = Tensor(), const Tensor& k_plain = Tensor(),
                              float eps = 1e-8f);
// Block attention-residual routing logits: out[b, n, j] = (w[j] . x[b, n]) / sqrt(mean_d x[b, n]^2 + eps),
// x [B, N, D], w [J, D] -> [B, N, J]. (w . RMSNorm(x) without materialising the normalised keys.)
Tensor rms_dot(Context& ctx, const Tensor& x, const Tensor& w, float eps);
// Softmax-weighted sum over sources: out[b, n] = sum_s a_s v_s[b, n], a = softmax over s of
// logits[s][b, n, col]; values [B, N, D], logits [B, N, J]. One source is returned as is.
Tensor softmax_mix(Context& ctx, const std::vector<Tensor>& values, const std::vector<Tensor>& logits, int64_t col);

// Softmax attention with an additive key bias: q [B, N, H*C], k, v [B, L, H*C], bias [B, L] or undefined.
// Scale 1/sqrt(C).
Tensor sdpa(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& bias, int64_t heads);

// Conv3d with kernel == stride (patch embedding): x [B, C, F, H, W], w [D, C, pt, ph, pw], b [D]
// -> tokens [B, F'*H'*W', D] with n = (f*H' + h)*W' + w. Trailing remainders are dropped like torch.
Tensor patch_embed(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b);
// Inverse layout of the patch projection: x [B, F'*H'*W', pt*ph*pw*C] -> [B, C, F'*pt, H'*ph, W'*pw].
Tensor unpatchify(Context& ctx, const Tensor& x, int64_t frames, int64_t height, int64_t width, int64_t pt, int64_t ph,
                  int64_t pw);

// How a convolution fills the border of H and W: zeros, or PyTorch's "reflect" (mirror without repeating
// the edge: index -1 reads 1, index H reads H - 2; needs pad < size).
enum class Padding { Zeros, Reflect };
// Dense 3-D convolution, NCTHW: x [B, Cin, T, H, W], w [Cout, Cin, kt, kh, kw], b [Cout] or undefined,
// symmetric padding (pt, ph, pw) and strides; time is always zero-padded (causal or replicate time padding
// is the caller's concatenation), H and W as `spatial`.
Tensor conv3d(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, const std::array<int64_t, 3>& stride,
              const std::array<int64_t, 3>& pad, Padding spatial = Padding::Zeros);
// conv3d over the time-concatenation of `parts` (each [B, Cin, n_i, H, W], equal elsewhere) without
// materialising it: valid in time, stride 1, spatial padding pad_hw filled as `spatial`. For streamed
// convs whose window is the previous chunks' frames plus the new one.
Tensor conv3d_frames(Context& ctx, const std::vector<Tensor>& parts, const Tensor& w, const Tensor& b, int64_t pad_hw,
                     Padding spatial);
// Nearest 2x spatial upsampling of every frame: [B, C, T, H, W] -> [B, C, T, 2H, 2W].
Tensor upsample_nearest2x(Context& ctx, const Tensor& x);
// Wan RMS norm over the channel dim 1: x / max(||x||_2, 1e-12) * sqrt(C) * gamma[c].
Tensor channel_rms_norm(Context& ctx, const Tensor& x, const Tensor& gamma);
// LTX-2's PerChannelRMSNorm, then `act`: act(x / sqrt(mean over channels of x^2 + eps)) at every
// position of x [B, C, ...]; no weight.
Tensor channel_rms_norm_act(Context& ctx, const Tensor& x, float eps, Act act);
// Space-to-depth over (t, h, w) by factors f: x [B, C, T*f0, H*f1, W*f2] -> [B, C*S, T, H, W], S = f0 f1 f2,
// out[b, c*S + i, t, h, w] = x[b, c, f0 t + dt, f1 h + dh, f2 w + dw] with the sub-position
// i = (dt f1 + dh) f2 + dw, or with `width_major` i = (dt f2 + dw) f1 + dh (LTX-2's patchify order).
Tensor space_to_depth3d(Context& ctx, const Tensor& x, const std::array<int64_t, 3>& f, bool width_major);
// The exact inverse: [B, C*S, T, H, W] -> [B, C, T*f0, H*f1, W*f2].
Tensor depth_to_space3d(Context& ctx, const Tensor& x, const std::array<int64_t, 3>& f, bool width_major);
// Mean over groups of g consecutive channels: [B, C*g, ...] -> [B, C, ...].
Tensor channel_group_mean(Context& ctx, const Tensor& x, int64_t g);
// diffusers' tile blending, in place on `dst` [B, C, T, H, W] along dim 3 (rows) or 4 (columns): for
// y < e, dst[.., y, ..] = src[.., n - e + y, ..] * (1 - y/e) + dst[.., y, ..] * (y/e), n = src's size there.
void blend_edge_(Context& ctx, Tensor& dst, const Tensor& src, int64_t e, int64_t dim);
// Concatenate along `dim` (shapes must agree elsewhere).
Tensor cat(Context& ctx, const std::vector<Tensor>& xs, int64_t dim);
Tensor clamp(Context& ctx, const Tensor& x, float lo, float hi);

// Depthwise 3x3 conv (zero pad 1, bias) on channels-last x [B, H, W, 2C], then GLU: u * SiLU(g)
// where u = channels [0, C), g = channels [C, 2C). w [2C, 1, 3, 3], b [2C]. -> [B, H, W, C].
Tensor depthwise_conv3x3_glu(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b);
// x + Conv over frames (kernel 3, zero pad 1, no bias): x [B, F, P, D], w [D, D, 3, 1] (torch Conv2d layout).
// Block-causal forms (LongSANA): `left` [B, 1, P, D] replaces the zero before frame 0 (the previous
// block's cached frame); for every f in `cut`, frame f - 1 sees zero instead of frame f on its right
// (chunk boundaries: no look into the next chunk).
Tensor temporal_conv3_residual(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& left = Tensor(),
                               const std::vector<int64_t>& cut = {});

// Copies a view into another view of the same shape on one device (F32/BF16/F16 converted).
void copy_(Context& ctx, const Tensor& src, const Tensor& dst);

// Sampler arithmetic, elementwise in float32 unless stated, each with the exact expression order of
// the reference scheduler so CPU results stay bit-identical to the loops they replace.
// a * x - b * y (y undefined: a * x).
Tensor axpby(Context& ctx, float a, const Tensor& x, float b, const Tensor& y);
// DPM-Solver++ 2M midpoint/heun update: (cx * x - c0 * m0) - c1 * (inv_r0 * (m0 - m1)).
Tensor dpm_2m_update(Context& ctx, const Tensor& x, const Tensor& m0, const Tensor& m1, float cx, float c0, float c1,
                     float inv_r0);
// UniPC (flow, predict-x0) corrector/predictor:
//   (c1 * x - c2 * m0) - c3 * ([m1] rho0 * ((m1 - m0) / rk) + [mt] rho1 * (mt - m0)); m1, mt optional.
Tensor unipc_update(Context& ctx, const Tensor& x, const Tensor& m0, const Tensor& m1, const Tensor& mt, float c1,
                    float c2, float c3, float rho0, float rho1, float rk);
// Classifier-free guidance on a stacked [uncond; cond] batch v [2B, ...] -> u + scale * (c - u), [B, ...].
Tensor cfg_combine(Context& ctx, const Tensor& v, float scale);
// Per-channel latent scaling in place on contiguous z [B, C, ...]: (z - mean) * inv, or with
// `denormalise` z / inv + mean (diffusers' latents / (1 / std) + mean).
void latents_affine_(Context& ctx, Tensor& z, const std::vector<float>& mean, const std::vector<float>& inv,
                     bool denormalise);
// The official DPM-Solver's data prediction from a flow model (NVlabs dpm_solver.py: model_wrapper's flow
// branch, classifier-free guidance in noise space, data_prediction_fn), in its fp32 order: per branch
// eps = (1 - t) v + x; with v = [uncond; cond] (2B) eps = eps_u + g (eps_c - eps_u); x0 = (x - t eps) / (1 - t).
Tensor flow_dpm_x0(Context& ctx, const Tensor& x, const Tensor& v, float t, float guidance);
// LongLive's float64 steps: x0 = x - sigma * v, and the re-noise (1 - sigma) * x0 + sigma * noise.
Tensor flow_x0(Context& ctx, const Tensor& x, const Tensor& v, double sigma);
Tensor flow_renoise(Context& ctx, const Tensor& x0, const Tensor& noise, double sigma);

}  // namespace sv::ops
