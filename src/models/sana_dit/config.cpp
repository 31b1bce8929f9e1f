#include "models/sana_dit/config.h"

#include "core/error.h"

namespace sv::sana_dit {

Config Config::from_json(const io::JsonConfig& j) {
  Config c;
  const std::string& f = j.origin();
  if (j.has("_class_name")) {
    const std::string cls = j.get_string("_class_name");
    SV_CHECK(cls == "SanaVideoTransformer3DModel", f, ": _class_name is '", cls, "', expected SanaVideoTransformer3DModel");
  }
  c.in_channels = j.get_int("in_channels", c.in_channels);
  c.out_channels = j.has("out_channels") ? j.get_int("out_channels") : c.in_channels;
  c.num_attention_heads = j.get_int("num_attention_heads", c.num_attention_heads);
  c.attention_head_dim = j.get_int("attention_head_dim", c.attention_head_dim);
  c.num_layers = j.get_int("num_layers", c.num_layers);
  SV_CHECK(j.has("cross_attention_dim") || !j.json().contains("cross_attention_dim"), f,
           ": cross_attention_dim = null is not supported (diffusers' block needs norm2/attn2)");
  c.num_cross_attention_heads = j.get_int("num_cross_attention_heads", c.num_cross_attention_heads);
  c.cross_attention_head_dim = j.get_int("cross_attention_head_dim", c.cross_attention_head_dim);
  c.cross_attention_dim = j.get_int("cross_attention_dim", c.cross_attention_dim);
  c.caption_channels = j.get_int("caption_channels", c.caption_channels);
  c.mlp_ratio = j.get_float("mlp_ratio", c.mlp_ratio);
  c.attention_bias = j.get_bool("attention_bias", c.attention_bias);
  c.sample_size = j.get_int("sample_size", c.sample_size);
  const auto p = j.get_int_list("patch_size", std::vector<int64_t>{1, 2, 2});
  SV_CHECK(p.size() == 3, f, ": field 'patch_size' must have 3 entries (t, h, w)");
  for (int i = 0; i < 3; ++i) c.patch_size[i] = p[i];
  c.norm_elementwise_affine = j.get_bool("norm_elementwise_affine", c.norm_elementwise_affine);
  c.norm_eps = j.get_float("norm_eps", c.norm_eps);
  c.guidance_embeds = j.get_bool("guidance_embeds", c.guidance_embeds);
  const std::string qk = j.get_string("qk_norm", std::string("rms_norm_across_heads"));
  SV_CHECK(qk == "rms_norm_across_heads", f, ": field 'qk_norm' = '", qk, "' is not supported (rms_norm_across_heads)");
  if (j.json().contains("qk_norm") && j.json()["qk_norm"].is_null()) c.qk_norm = false;
  c.rope_max_seq_len = j.get_int("rope_max_seq_len", c.rope_max_seq_len);
  const double dropout = j.get_float("dropout", 0.0);
  (void)dropout;  // inference: dropout is the identity

  auto positive = [&](int64_t v, const char* name) { SV_CHECK(v > 0, f, ": field '", name, "' must be positive, got ", v); };
  positive(c.in_channels, "in_channels");
  positive(c.out_channels, "out_channels");
  positive(c.num_attention_heads, "num_attention_heads");
  positive(c.attention_head_dim, "attention_head_dim");
  positive(c.num_cross_attention_heads, "num_cross_attention_heads");
  positive(c.cross_attention_head_dim, "cross_attention_head_dim");
  positive(c.cross_attention_dim, "cross_attention_dim");
  positive(c.caption_channels, "caption_channels");
  positive(c.rope_max_seq_len, "rope_max_seq_len");
  SV_CHECK(c.num_layers >= 0 && c.num_layers <= 4096, f, ": field 'num_layers' out of range: ", c.num_layers);
  for (int i = 0; i < 3; ++i) SV_CHECK(c.patch_size[i] > 0, f, ": field 'patch_size' entries must be positive");
  SV_CHECK(c.attention_head_dim % 2 == 0, f, ": field 'attention_head_dim' must be even for 3D RoPE, got ",
           c.attention_head_dim);
  SV_CHECK(c.mlp_ratio > 0 && c.ffn_hidden() > 0, f, ": field 'mlp_ratio' must be positive");
  SV_CHECK(c.cross_attention_dim == c.inner_dim(), f, ": cross_attention_dim ", c.cross_attention_dim,
           " must equal num_attention_heads*attention_head_dim = ", c.inner_dim(),
           " (the caption projection outputs that width)");
  SV_CHECK(c.norm_eps > 0, f, ": field 'norm_eps' must be positive");
  return c;
}

}  // namespace sv::sana_dit
