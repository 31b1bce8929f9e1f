#include "models/sana_video2/config.h"

#include <algorithm>

#include "core/error.h"

namespace sv::sana_video2 {

bool Config::is_softmax_layer(int64_t i) const {
  return std::find(softmax_layers.begin(), softmax_layers.end(), i) != softmax_layers.end();
}

std::vector<int64_t> Config::softmax_layers_for(int64_t depth, double ratio) {
  SV_CHECK(depth > 0 && ratio >= 0 && ratio <= 1, "softmax_ratio must lie in [0, 1], got ", ratio);
  const int64_t count = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(depth) * ratio));
  const double step = static_cast<double>(depth) / static_cast<double>(count);
  std::vector<int64_t> out;
  for (int64_t i = 0; i < count; ++i) out.push_back(static_cast<int64_t>(static_cast<double>(i + 1) * step) - 1);
  return out;
}

Config Config::from_json(const io::JsonConfig& j) {
  Config c;
  const std::string& f = j.origin();
  const std::string cls = j.get_string("_class_name", std::string("SanaVideo2Transformer"));
  SV_CHECK(cls == "SanaVideo2Transformer", f, ": _class_name is '", cls, "', expected SanaVideo2Transformer");
  c.hidden_size = j.get_int("hidden_size", c.hidden_size);
  c.depth = j.get_int("depth", c.depth);
  c.num_heads = j.get_int("num_heads", c.num_heads);
  c.linear_head_dim = j.get_int("linear_head_dim", c.linear_head_dim);
  c.softmax_head_dim = j.get_int("softmax_head_dim", c.softmax_head_dim);
  c.softmax_layers = j.get_int_list("softmax_layers", c.softmax_layers);
  c.attn_res_block_size = j.get_int("attn_res_block_size", c.attn_res_block_size);
  c.mlp_hidden = j.get_int("mlp_hidden", c.mlp_hidden);
  c.in_channels = j.get_int("in_channels", c.in_channels);
  c.out_channels = j.get_int("out_channels", c.in_channels);
  c.caption_channels = j.get_int("caption_channels", c.caption_channels);
  c.rope_max_seq_len = j.get_int("rope_max_seq_len", c.rope_max_seq_len);
  const auto p = j.get_int_list("patch_size", std::vector<int64_t>{1, 1, 1});
  SV_CHECK(p.size() == 3, f, ": field 'patch_size' must have 3 entries (t, h, w)");
  for (int i = 0; i < 3; ++i) c.patch_size[i] = p[i];
  c.timestep_norm_scale_factor = j.get_float("timestep_norm_scale_factor", c.timestep_norm_scale_factor);
  c.linear_attention_normalizer = j.get_bool("linear_attention_normalizer", c.linear_attention_normalizer);

  auto positive = [&](int64_t v, const char* name) {
    SV_CHECK(v > 0 && v < (int64_t{1} << 20), f, ": field '", name, "' must be positive, got ", v);
  };
  positive(c.hidden_size, "hidden_size");
  positive(c.num_heads, "num_heads");
  positive(c.linear_head_dim, "linear_head_dim");
  positive(c.softmax_head_dim, "softmax_head_dim");
  positive(c.attn_res_block_size, "attn_res_block_size");
  positive(c.mlp_hidden, "mlp_hidden");
  positive(c.in_channels, "in_channels");
  positive(c.out_channels, "out_channels");
  positive(c.caption_channels, "caption_channels");
  positive(c.rope_max_seq_len, "rope_max_seq_len");
  SV_CHECK(c.depth > 0 && c.depth <= 1024, f, ": field 'depth' out of range: ", c.depth);
  for (int i = 0; i < 3; ++i) SV_CHECK(c.patch_size[i] > 0 && c.patch_size[i] <= 64, f, ": bad 'patch_size'");
  for (int64_t hd : {c.linear_head_dim, c.softmax_head_dim})
    SV_CHECK(c.hidden_size % hd == 0 && hd % 2 == 0, f, ": head dim ", hd, " must be even and divide hidden_size ",
             c.hidden_size);
  SV_CHECK(c.hidden_size % c.num_heads == 0, f, ": num_heads ", c.num_heads, " does not divide hidden_size ",
           c.hidden_size);
  for (size_t i = 0; i < c.softmax_layers.size(); ++i)
    SV_CHECK(c.softmax_layers[i] >= 0 && c.softmax_layers[i] < c.depth && (i == 0 || c.softmax_layers[i] > c.softmax_layers[i - 1]),
             f, ": 'softmax_layers' must ascend within [0, depth)");
  SV_CHECK(c.timestep_norm_scale_factor > 0, f, ": 'timestep_norm_scale_factor' must be positive");
  // The final routing reads the embedded input and every block sum; the routing op takes at most 16.
  const int64_t sources = (c.depth + c.attn_res_block_size - 1) / c.attn_res_block_size + 1;
  SV_CHECK(sources <= 16, f, ": depth ", c.depth, " in attention-residual blocks of ", c.attn_res_block_size,
           " gives ", sources, " routing sources; at most 16 are supported");
  return c;
}

nlohmann::json Config::to_json() const {
  return {{"_class_name", "SanaVideo2Transformer"},
          {"hidden_size", hidden_size},
          {"depth", depth},
          {"num_heads", num_heads},
          {"linear_head_dim", linear_head_dim},
          {"softmax_head_dim", softmax_head_dim},
          {"softmax_layers", softmax_layers},
          {"attn_res_block_size", attn_res_block_size},
          {"mlp_hidden", mlp_hidden},
          {"in_channels", in_channels},
          {"out_channels", out_channels},
          {"caption_channels", caption_channels},
          {"rope_max_seq_len", rope_max_seq_len},
          {"patch_size", {patch_size[0], patch_size[1], patch_size[2]}},
          {"timestep_norm_scale_factor", timestep_norm_scale_factor},
          {"linear_attention_normalizer", linear_attention_normalizer}};
}

}  // namespace sv::sana_video2
