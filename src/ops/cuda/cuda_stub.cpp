// Built when SV_CUDA is OFF: every CUDA kernel entry reports that this build has no CUDA,
// so model and op code never needs #ifdefs.
#include "core/device_runtime.h"
#include "ops/kernels.h"

namespace sv {
bool built_with_cuda() { return false; }
int cuda_device_count() { return 0; }
std::shared_ptr<DeviceRuntime> make_cuda_runtime(int) {
  SV_THROW("--device cuda: this build of sana-video has no CUDA backend (configure with -DSV_CUDA=ON)");
}
void device_copy_strided(const Tensor&, const Tensor&) { SV_THROW("device copy in a build without CUDA"); }
void device_to_host(void*, const void*, size_t) { SV_THROW("device copy in a build without CUDA"); }
}  // namespace sv

namespace sv::cuda {
namespace {
[[noreturn]] void no_cuda() { SV_THROW("a CUDA tensor reached an op, but this build of sana-video has no CUDA backend"); }
}  // namespace

Tensor linear(Context&, const Tensor&, const Tensor&, const Tensor&, ops::Act) { no_cuda(); }
Tensor activation(Context&, const Tensor&, ops::Act) { no_cuda(); }
Tensor add(Context&, const Tensor&, const Tensor&) { no_cuda(); }
void add_gated_(Context&, Tensor&, const Tensor&, const Tensor&) { no_cuda(); }
Tensor layer_norm_modulate(Context&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, float) {
  no_cuda();
}
Tensor layer_norm(Context&, const Tensor&, const Tensor&, const Tensor&, float) { no_cuda(); }
Tensor rms_norm(Context&, const Tensor&, const Tensor&, float) { no_cuda(); }
Tensor timestep_embedding(Context&, const Tensor&, int64_t, bool, float) { no_cuda(); }
Tensor linear_attention(Context&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, int64_t,
                        float) { no_cuda(); }
Tensor linear_attention_cached(Context&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                               int64_t, const Tensor&, const Tensor&, Tensor*, Tensor*, float) { no_cuda(); }
Tensor linear_attention_chunked(Context&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                int64_t, const std::vector<int64_t>&, float) { no_cuda(); }
Tensor mul_act(Context&, const Tensor&, const Tensor&, ops::Act) { no_cuda(); }
Tensor embedding(Context&, const Tensor&, const Tensor&, float) { no_cuda(); }
Tensor rope_half(Context&, const Tensor&, const Tensor&, const Tensor&, int64_t) { no_cuda(); }
Tensor causal_attention(Context&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, int64_t, int64_t, float,
                        float, int64_t) { no_cuda(); }
Tensor sdpa(Context&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, int64_t) { no_cuda(); }
Tensor rope_pairs(Context&, const Tensor&, const Tensor&, const Tensor&, int64_t) { no_cuda(); }
Tensor gated_linear_attention(Context&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, int64_t,
                              const Tensor&, const Tensor&, float) { no_cuda(); }
Tensor rms_dot(Context&, const Tensor&, const Tensor&, float) { no_cuda(); }
Tensor softmax_mix(Context&, const std::vector<Tensor>&, const std::vector<Tensor>&, int64_t) { no_cuda(); }
Tensor patch_embed(Context&, const Tensor&, const Tensor&, const Tensor&) { no_cuda(); }
Tensor unpatchify(Context&, const Tensor&, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t) { no_cuda(); }
Tensor conv3d(Context&, const Tensor&, const Tensor&, const Tensor&, const std::array<int64_t, 3>&,
              const std::array<int64_t, 3>&, ops::Padding) { no_cuda(); }
Tensor conv3d_frames(Context&, const std::vector<Tensor>&, const Tensor&, const Tensor&, int64_t, ops::Padding) {
  no_cuda();
}
Tensor channel_rms_norm_act(Context&, const Tensor&, float, ops::Act) { no_cuda(); }
Tensor space_to_depth3d(Context&, const Tensor&, const std::array<int64_t, 3>&, bool) { no_cuda(); }
Tensor depth_to_space3d(Context&, const Tensor&, const std::array<int64_t, 3>&, bool) { no_cuda(); }
Tensor channel_group_mean(Context&, const Tensor&, int64_t) { no_cuda(); }
void blend_edge_(Context&, Tensor&, const Tensor&, int64_t, int64_t) { no_cuda(); }
Tensor upsample_nearest2x(Context&, const Tensor&) { no_cuda(); }
Tensor channel_rms_norm(Context&, const Tensor&, const Tensor&) { no_cuda(); }
Tensor clamp(Context&, const Tensor&, float, float) { no_cuda(); }
Tensor depthwise_conv3x3_glu(Context&, const Tensor&, const Tensor&, const Tensor&) { no_cuda(); }
Tensor temporal_conv3_residual(Context&, const Tensor&, const Tensor&, const Tensor&, const std::vector<int64_t>&) {
  no_cuda();
}

void copy_(Context&, const Tensor&, const Tensor&) { no_cuda(); }
Tensor axpby(Context&, float, const Tensor&, float, const Tensor&) { no_cuda(); }
Tensor dpm_2m_update(Context&, const Tensor&, const Tensor&, const Tensor&, float, float, float, float) { no_cuda(); }
Tensor unipc_update(Context&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, float, float, float, float,
                    float, float) { no_cuda(); }
Tensor cfg_combine(Context&, const Tensor&, float) { no_cuda(); }
void latents_affine_(Context&, Tensor&, const std::vector<float>&, const std::vector<float>&, bool) { no_cuda(); }
Tensor flow_dpm_x0(Context&, const Tensor&, const Tensor&, float, float) { no_cuda(); }
Tensor flow_x0(Context&, const Tensor&, const Tensor&, double) { no_cuda(); }
Tensor flow_renoise(Context&, const Tensor&, const Tensor&, double) { no_cuda(); }

}  // namespace sv::cuda
