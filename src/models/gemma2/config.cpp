#include "models/gemma2/config.h"

#include "core/error.h"

namespace sv::gemma2 {

Config Config::from_json(const io::JsonConfig& j) {
  Config c;
  const std::string& f = j.origin();
  if (j.has("model_type")) {
    const std::string t = j.get_string("model_type");
    SV_CHECK(t == "gemma2", f, ": model_type is '", t, "', expected gemma2");
  }
  c.vocab_size = j.get_int("vocab_size", c.vocab_size);
  c.hidden_size = j.get_int("hidden_size", c.hidden_size);
  c.intermediate_size = j.get_int("intermediate_size", c.intermediate_size);
  c.num_hidden_layers = j.get_int("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = j.get_int("num_attention_heads", c.num_attention_heads);
  c.num_key_value_heads = j.get_int("num_key_value_heads", c.num_key_value_heads);
  c.head_dim = j.get_int("head_dim", c.head_dim);
  c.rms_norm_eps = j.get_float("rms_norm_eps", c.rms_norm_eps);
  c.query_pre_attn_scalar = j.get_float("query_pre_attn_scalar", c.query_pre_attn_scalar);
  c.attn_logit_softcapping = j.get_float("attn_logit_softcapping", 0.0);
  c.sliding_window = j.get_int("sliding_window", 0);
  c.attention_bias = j.get_bool("attention_bias", false);
  SV_CHECK(!c.attention_bias, f, ": attention_bias = true is not supported");
  if (j.json().contains("rope_parameters") && j.json()["rope_parameters"].is_object()) {
    const auto& rp = j.json()["rope_parameters"];
    const std::string type = rp.value("rope_type", std::string("default"));
    SV_CHECK(type == "default", f, ": rope_parameters.rope_type '", type, "' is not supported");
    SV_CHECK(rp.contains("rope_theta") && rp["rope_theta"].is_number(), f, ": rope_parameters.rope_theta missing");
    c.rope_theta = rp["rope_theta"].get<double>();
  } else {
    c.rope_theta = j.get_float("rope_theta", c.rope_theta);
  }
  const std::string act = j.get_string("hidden_activation", std::string("gelu_pytorch_tanh"));
  SV_CHECK(act == "gelu_pytorch_tanh", f, ": hidden_activation '", act, "' is not supported");
  if (j.json().contains("use_bidirectional_attention") && j.json()["use_bidirectional_attention"].is_boolean())
    SV_CHECK(!j.json()["use_bidirectional_attention"].get<bool>(), f, ": bidirectional Gemma2 is not supported");
  auto pos = [&](int64_t v, const char* n) { SV_CHECK(v > 0, f, ": field '", n, "' must be positive, got ", v); };
  pos(c.vocab_size, "vocab_size");
  pos(c.hidden_size, "hidden_size");
  pos(c.intermediate_size, "intermediate_size");
  pos(c.num_attention_heads, "num_attention_heads");
  pos(c.num_key_value_heads, "num_key_value_heads");
  pos(c.head_dim, "head_dim");
  SV_CHECK(c.num_hidden_layers >= 0, f, ": field 'num_hidden_layers' must not be negative");
  SV_CHECK(c.head_dim % 2 == 0, f, ": field 'head_dim' must be even");
  SV_CHECK(c.num_attention_heads % c.num_key_value_heads == 0, f, ": num_attention_heads ", c.num_attention_heads,
           " is not a multiple of num_key_value_heads ", c.num_key_value_heads);
  SV_CHECK(c.query_pre_attn_scalar > 0, f, ": field 'query_pre_attn_scalar' must be positive");
  c.sliding.assign(static_cast<size_t>(c.num_hidden_layers), false);
  if (j.json().contains("layer_types") && j.json()["layer_types"].is_array()) {
    const auto& lt = j.json()["layer_types"];
    SV_CHECK(static_cast<int64_t>(lt.size()) >= c.num_hidden_layers, f, ": layer_types lists ", lt.size(),
             " layers for num_hidden_layers = ", c.num_hidden_layers);
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
      SV_CHECK(lt[i].is_string(), f, ": layer_types entries must be strings");
      const std::string t = lt[i].get<std::string>();
      SV_CHECK(t == "sliding_attention" || t == "full_attention", f, ": unknown layer type '", t, "'");
      c.sliding[i] = t == "sliding_attention";
    }
  } else {
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) c.sliding[i] = (i % 2) == 0;  // Gemma2: even layers slide
  }
  return c;
}

}  // namespace sv::gemma2
