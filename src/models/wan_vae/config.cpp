#include "models/wan_vae/config.h"

#include "core/error.h"

namespace sv::wan_vae {

Config Config::from_json(const io::JsonConfig& j) {
  Config c;
  const std::string& f = j.origin();
  if (j.has("_class_name")) {
    const std::string cls = j.get_string("_class_name");
    SV_CHECK(cls == "AutoencoderKLWan", f, ": _class_name is '", cls, "', expected AutoencoderKLWan");
  }
  c.base_dim = j.get_int("base_dim", c.base_dim);
  c.decoder_base_dim = j.has("decoder_base_dim") ? j.get_int("decoder_base_dim") : c.base_dim;
  c.z_dim = j.get_int("z_dim", c.z_dim);
  c.num_res_blocks = j.get_int("num_res_blocks", c.num_res_blocks);
  c.in_channels = j.get_int("in_channels", c.in_channels);
  c.out_channels = j.get_int("out_channels", c.out_channels);
  c.dim_mult = j.get_int_list("dim_mult", c.dim_mult);
  if (j.has("temperal_downsample")) {
    c.temperal_downsample.clear();
    SV_CHECK(j.json()["temperal_downsample"].is_array(), f, ": field 'temperal_downsample' must be a list of booleans");
    for (const auto& v : j.json()["temperal_downsample"]) {
      SV_CHECK(v.is_boolean(), f, ": field 'temperal_downsample' must be a list of booleans");
      c.temperal_downsample.push_back(v.get<bool>());
    }
  }
  c.scale_factor_temporal = j.get_int("scale_factor_temporal", c.scale_factor_temporal);
  c.scale_factor_spatial = j.get_int("scale_factor_spatial", c.scale_factor_spatial);
  if (j.has("attn_scales"))
    SV_CHECK(j.json()["attn_scales"].is_array() && j.json()["attn_scales"].empty(), f,
             ": non-empty attn_scales is not supported (diffusers' own encoder cannot run it)");
  SV_CHECK(!j.get_bool("is_residual", false), f, ": is_residual (Wan2.2 VAE) is not supported");
  SV_CHECK(!j.has("patch_size"), f, ": patch_size (Wan2.2 VAE) is not supported");
  auto pos = [&](int64_t v, const char* n) { SV_CHECK(v > 0, f, ": field '", n, "' must be positive, got ", v); };
  pos(c.base_dim, "base_dim");
  pos(c.decoder_base_dim, "decoder_base_dim");
  pos(c.z_dim, "z_dim");
  pos(c.in_channels, "in_channels");
  pos(c.out_channels, "out_channels");
  SV_CHECK(c.num_res_blocks >= 0, f, ": field 'num_res_blocks' must not be negative");
  SV_CHECK(!c.dim_mult.empty(), f, ": field 'dim_mult' must not be empty");
  for (int64_t m : c.dim_mult) pos(m, "dim_mult");
  SV_CHECK(c.temperal_downsample.size() + 1 >= c.dim_mult.size(), f, ": temperal_downsample needs ", c.dim_mult.size() - 1,
           " entries for dim_mult of ", c.dim_mult.size());
  if (j.has("latents_mean")) c.latents_mean = j.get_float_list("latents_mean");
  if (j.has("latents_std")) c.latents_std = j.get_float_list("latents_std");
  // latents_mean/std are only read by pipelines (which check their length against z_dim); diffusers
  // keeps the 16-entry defaults even for other z_dim values, so they are not validated here.
  return c;
}

}  // namespace sv::wan_vae
