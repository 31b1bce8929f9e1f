#include "models/ltx2_vae/config.h"

#include <algorithm>
#include <array>

#include "core/error.h"

namespace sv::ltx2_vae {

std::array<int64_t, 3> sampler_stride(const std::string& type) {
  if (type == "spatial") return {1, 2, 2};
  if (type == "temporal") return {2, 1, 1};
  if (type == "spatiotemporal") return {2, 2, 2};
  SV_THROW("unknown sampler type '", type, "'");
}

namespace {

// A bool or a list of bools; a bool expands to `n` entries (diffusers' shorthand).
std::vector<bool> bools(const io::JsonConfig& j, const std::string& key, std::vector<bool> def, size_t n) {
  if (!j.has(key)) return def;
  const auto& v = j.json()[key];
  if (v.is_boolean()) return std::vector<bool>(n, v.get<bool>());
  SV_CHECK(v.is_array(), j.origin(), ": field '", key, "' must be a boolean or a list of booleans");
  std::vector<bool> out;
  for (const auto& e : v) {
    SV_CHECK(e.is_boolean(), j.origin(), ": field '", key, "' must be a boolean or a list of booleans");
    out.push_back(e.get<bool>());
  }
  return out;
}

std::vector<std::string> strings(const io::JsonConfig& j, const std::string& key, std::vector<std::string> def) {
  if (!j.has(key)) return def;
  const auto& v = j.json()[key];
  SV_CHECK(v.is_array(), j.origin(), ": field '", key, "' must be a list of strings");
  std::vector<std::string> out;
  for (const auto& e : v) {
    SV_CHECK(e.is_string(), j.origin(), ": field '", key, "' must be a list of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

bool reflect_mode(const io::JsonConfig& j, const std::string& key, const std::string& def) {
  const std::string m = j.get_string(key, def);
  SV_CHECK(m == "zeros" || m == "reflect", j.origin(), ": ", key, " '", m,
           "' is not supported (this engine implements 'zeros' and 'reflect')");
  return m == "reflect";
}

}  // namespace

Config Config::from_json(const io::JsonConfig& j) {
  Config c;
  const std::string& f = j.origin();
  if (j.has("_class_name")) {
    const std::string cls = j.get_string("_class_name");
    SV_CHECK(cls == "AutoencoderKLLTX2Video", f, ": _class_name is '", cls, "', expected AutoencoderKLLTX2Video");
  }
  c.in_channels = j.get_int("in_channels", c.in_channels);
  c.out_channels = j.get_int("out_channels", c.out_channels);
  c.latent_channels = j.get_int("latent_channels", c.latent_channels);
  c.patch_size = j.get_int("patch_size", c.patch_size);
  c.patch_size_t = j.get_int("patch_size_t", c.patch_size_t);
  c.block_out_channels = j.get_int_list("block_out_channels", c.block_out_channels);
  c.decoder_block_out_channels = j.get_int_list("decoder_block_out_channels", c.decoder_block_out_channels);
  c.layers_per_block = j.get_int_list("layers_per_block", c.layers_per_block);
  c.decoder_layers_per_block = j.get_int_list("decoder_layers_per_block", c.decoder_layers_per_block);
  const size_t n_down = c.layers_per_block.size() - (c.layers_per_block.empty() ? 0 : 1);
  const size_t n_up = c.decoder_layers_per_block.size() - (c.decoder_layers_per_block.empty() ? 0 : 1);
  c.spatio_temporal_scaling = bools(j, "spatio_temporal_scaling", c.spatio_temporal_scaling, n_down);
  c.decoder_spatio_temporal_scaling = bools(j, "decoder_spatio_temporal_scaling", c.decoder_spatio_temporal_scaling, n_up);
  c.upsample_residual = bools(j, "upsample_residual", c.upsample_residual, n_up);
  const std::vector<bool> noise = bools(j, "decoder_inject_noise", std::vector<bool>(n_up + 1, false), n_up + 1);
  c.downsample_type = strings(j, "downsample_type", c.downsample_type);
  c.upsample_type = strings(j, "upsample_type", c.upsample_type);
  // The LTX-2.3 VAE (SANA-Video 2.0) stores decoder_upsample_type, in encoder order, and no upsample_type;
  // the official loader (and SGLang, vLLM-Omni) pass its reverse as upsample_type. A null, as in the
  // SANA 720p config, means nothing.
  if (!j.has("upsample_type") && j.has("decoder_upsample_type")) {
    c.upsample_type = strings(j, "decoder_upsample_type", {});
    std::reverse(c.upsample_type.begin(), c.upsample_type.end());
  }
  c.upsample_factor = j.get_int_list("upsample_factor", c.upsample_factor);
  c.encoder_causal = j.get_bool("encoder_causal", c.encoder_causal);
  c.decoder_causal = j.get_bool("decoder_causal", c.decoder_causal);
  c.encoder_reflect = reflect_mode(j, "encoder_spatial_padding_mode", "zeros");
  c.decoder_reflect = reflect_mode(j, "decoder_spatial_padding_mode", "reflect");
  c.scaling_factor = j.get_float("scaling_factor", c.scaling_factor);

  // Options diffusers has and this engine does not run: refused by name.
  SV_CHECK(!j.get_bool("timestep_conditioning", false), f,
           ": timestep_conditioning is not supported (the SANA-Video pipelines decode without a timestep)");
  for (bool b : noise)
    SV_CHECK(!b, f, ": decoder_inject_noise is not supported (diffusers draws that noise from torch's global RNG)");
  for (const std::string& t : strings(j, "down_block_types", {}))
    SV_CHECK(t == "LTX2VideoDownBlock3D", f, ": down block type '", t, "' is not supported");

  // Positive and bounded, so that the width and factor arithmetic below cannot overflow.
  auto pos = [&](int64_t v, const char* n) {
    SV_CHECK(v > 0 && v <= (int64_t(1) << 24), f, ": field '", n, "' must be in [1, 16777216], got ", v);
  };
  pos(c.in_channels, "in_channels");
  pos(c.out_channels, "out_channels");
  pos(c.latent_channels, "latent_channels");
  pos(c.patch_size, "patch_size");
  pos(c.patch_size_t, "patch_size_t");
  SV_CHECK(!c.block_out_channels.empty() && c.block_out_channels.size() == n_down, f,
           ": layers_per_block needs one entry per down block plus one for the mid block (", c.block_out_channels.size() + 1,
           "), got ", c.layers_per_block.size());
  SV_CHECK(c.spatio_temporal_scaling.size() == n_down && c.downsample_type.size() == n_down, f,
           ": spatio_temporal_scaling and downsample_type need ", n_down, " entries");
  SV_CHECK(n_up >= 1 && c.decoder_block_out_channels.size() == n_up, f,
           ": decoder_layers_per_block needs one entry per up block plus one for the mid block (",
           c.decoder_block_out_channels.size() + 1, "), got ", c.decoder_layers_per_block.size());
  SV_CHECK(c.decoder_spatio_temporal_scaling.size() == n_up && c.upsample_type.size() >= n_up &&
               c.upsample_residual.size() == n_up && c.upsample_factor.size() == n_up,
           f, ": decoder_spatio_temporal_scaling, upsample_type, upsample_residual and upsample_factor need ", n_up,
           " entries");
  for (int64_t v : c.block_out_channels) pos(v, "block_out_channels");
  for (int64_t v : c.decoder_block_out_channels) pos(v, "decoder_block_out_channels");
  SV_CHECK(n_down <= 16 && n_up <= 16, f, ": at most 16 down and 16 up blocks are supported");
  SV_CHECK(c.patch_size <= 64 && c.patch_size_t <= 64, f, ": patch sizes above 64 are not supported");
  for (int64_t v : c.layers_per_block)
    SV_CHECK(v >= 0 && v <= 1000, f, ": layers_per_block entries must be in [0, 1000]");
  for (int64_t v : c.decoder_layers_per_block)
    SV_CHECK(v >= 0 && v <= 1000, f, ": decoder_layers_per_block entries must be in [0, 1000]");

  // Encoder widths: a down block keeps its input width through its resnets; its downsampler changes it.
  int64_t width = c.latent_channels, spatial = c.patch_size, temporal = c.patch_size_t;
  for (size_t i = 0; i < n_down; ++i) {
    const int64_t out = c.block_out_channels[i];
    if (!c.spatio_temporal_scaling[i]) {
      SV_CHECK(out == width, f, ": down block ", i, " has no downsampler, so it cannot change the width from ", width,
               " to ", out);
      continue;
    }
    const std::string& t = c.downsample_type[i];
    SV_CHECK(t != "conv", f, ": downsample_type 'conv' is not supported");
    const auto s = sampler_stride(t);
    const int64_t S = s[0] * s[1] * s[2];
    SV_CHECK(out % S == 0 && (width * S) % out == 0, f, ": down block ", i, " (", t, ") cannot take width ", width, " to ",
             out);
    spatial *= s[1];
    temporal *= s[0];
    width = out;
  }
  // Decoder widths (reversed lists): up block i turns its input into rev[i] / u channels; diffusers adds a
  // channel-changing conv_in resnet when its nominal widths differ, which is built with the wrong input
  // width, so only the halving layout (or u = 1 with equal widths) is runnable.
  int64_t dspatial = c.patch_size, dtemporal = c.patch_size_t;
  width = c.decoder_block_out_channels.back();
  for (size_t i = 0; i < n_up; ++i) {
    const size_t r = n_up - 1 - i;  // index in the config's (encoder-order) lists
    const int64_t u = c.upsample_factor[r], out = c.decoder_block_out_channels[r];
    pos(u, "upsample_factor");
    SV_CHECK(width % u == 0 && out % u == 0 && width / u == out / u, f, ": up block ", i, " would need a conv_in from ",
             width / u, " to ", out / u, " channels, which this engine does not build (decoder_block_out_channels ",
             "must halve from block to block)");
    const int64_t cout = out / u;
    if (c.decoder_spatio_temporal_scaling[r]) {
      const auto s = sampler_stride(c.upsample_type[i]);
      const int64_t S = s[0] * s[1] * s[2];
      SV_CHECK((cout * u) % S == 0 && S % u == 0, f, ": up block ", i, " cannot upsample by ", S, " with factor ", u);
      dspatial *= s[1];
      dtemporal *= s[0];
    } else {
      SV_CHECK(u == 1, f, ": up block ", i, " has no upsampler but upsample_factor ", u);
    }
    width = cout;
  }
  SV_CHECK(spatial == dspatial && temporal == dtemporal, f, ": the encoder compresses ", spatial, "x spatially and ",
           temporal, "x in time, the decoder expands ", dspatial, "x and ", dtemporal, "x");
  c.spatial_factor = spatial;
  c.temporal_factor = temporal;
  if (j.has("spatial_compression_ratio"))
    SV_CHECK(j.get_int("spatial_compression_ratio") == spatial, f, ": spatial_compression_ratio ",
             j.get_int("spatial_compression_ratio"), " does not match the blocks (", spatial, "x)");
  if (j.has("temporal_compression_ratio"))
    SV_CHECK(j.get_int("temporal_compression_ratio") == temporal, f, ": temporal_compression_ratio ",
             j.get_int("temporal_compression_ratio"), " does not match the blocks (", temporal, "x)");
  return c;
}

}  // namespace sv::ltx2_vae
