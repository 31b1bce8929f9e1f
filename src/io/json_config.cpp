#include "io/json_config.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace sv::io {


JsonConfig JsonConfig::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SV_CHECK(in, path, ": cannot open config");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

namespace {
// Python's json module writes -Infinity/Infinity/NaN (diffusers' DPM-Solver config holds
// "lambda_min_clipped": -Infinity). Rewrite those bare tokens, outside strings, into values strict
// JSON can carry: marker strings that get_float() reads back as +-inf / NaN.
std::string python_json_literals(const std::string& t) {
  std::string out;
  out.reserve(t.size());
  bool in_str = false;
  for (size_t i = 0; i < t.size(); ++i) {
    const char ch = t[i];
    if (in_str) {
      out.push_back(ch);
      if (ch == '\\' && i + 1 < t.size()) out.push_back(t[++i]);
      else if (ch == '"') in_str = false;
      continue;
    }
    if (ch == '"') {
      in_str = true;
      out.push_back(ch);
    } else if (t.compare(i, 9, "-Infinity") == 0) {
      out += "\"__sv_-inf__\"";
      i += 8;
    } else if (t.compare(i, 8, "Infinity") == 0) {
      out += "\"__sv_inf__\"";
      i += 7;
    } else if (t.compare(i, 3, "NaN") == 0) {
      out += "\"__sv_nan__\"";
      i += 2;
    } else {
      out.push_back(ch);
    }
  }
  return out;
}
}  // namespace

JsonConfig JsonConfig::parse(const std::string& text, const std::string& origin) {
  JsonConfig c;
  c.origin_ = origin;
  try {
    c.j_ = nlohmann::json::parse(python_json_literals(text));
  } catch (const std::exception& e) {
    SV_THROW(origin, ": not valid JSON (", e.what(), ")");
  }
  SV_CHECK(c.j_.is_object(), origin, ": top level is not a JSON object");
  return c;
}

const nlohmann::json* JsonConfig::find(const std::string& key) const {
  auto it = j_.find(key);
  if (it == j_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool JsonConfig::has(const std::string& key) const { return find(key) != nullptr; }

int64_t JsonConfig::get_int(const std::string& key, std::optional<int64_t> def) const {
  const nlohmann::json* v = find(key);
  if (!v) {
    SV_CHECK(def.has_value(), origin_, ": missing field '", key, "'");
    return *def;
  }
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) {
    const double d = v->get<double>();
    // Beyond +-2^63 the conversion is undefined (a tokenizer_config's model_max_length is 1e30).
    SV_CHECK(std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18, origin_, ": field '", key,
             "' must be an integer in the int64 range, got ", v->dump());
    return static_cast<int64_t>(d);
  }
  SV_THROW(origin_, ": field '", key, "' must be an integer, got ", v->dump());
}

double JsonConfig::get_float(const std::string& key, std::optional<double> def) const {
  const nlohmann::json* v = find(key);
  if (!v) {
    SV_CHECK(def.has_value(), origin_, ": missing field '", key, "'");
    return *def;
  }
  if (v->is_string()) {
    const std::string m = v->get<std::string>();
    if (m == "__sv_-inf__") return -INFINITY;
    if (m == "__sv_inf__") return INFINITY;
    if (m == "__sv_nan__") return NAN;
  }
  SV_CHECK(v->is_number(), origin_, ": field '", key, "' must be a number, got ", v->dump());
  return v->get<double>();
}

bool JsonConfig::get_bool(const std::string& key, std::optional<bool> def) const {
  const nlohmann::json* v = find(key);
  if (!v) {
    SV_CHECK(def.has_value(), origin_, ": missing field '", key, "'");
    return *def;
  }
  SV_CHECK(v->is_boolean(), origin_, ": field '", key, "' must be true or false, got ", v->dump());
  return v->get<bool>();
}

std::string JsonConfig::get_string(const std::string& key, std::optional<std::string> def) const {
  const nlohmann::json* v = find(key);
  if (!v) {
    SV_CHECK(def.has_value(), origin_, ": missing field '", key, "'");
    return *def;
  }
  SV_CHECK(v->is_string(), origin_, ": field '", key, "' must be a string, got ", v->dump());
  return v->get<std::string>();
}

std::vector<int64_t> JsonConfig::get_int_list(const std::string& key, std::optional<std::vector<int64_t>> def) const {
  const nlohmann::json* v = find(key);
  if (!v) {
    SV_CHECK(def.has_value(), origin_, ": missing field '", key, "'");
    return *def;
  }
  SV_CHECK(v->is_array(), origin_, ": field '", key, "' must be a list of integers, got ", v->dump());
  std::vector<int64_t> r;
  for (const auto& e : *v) {
    SV_CHECK(e.is_number_integer(), origin_, ": field '", key, "' must be a list of integers, got ", v->dump());
    r.push_back(e.get<int64_t>());
  }
  return r;
}

std::vector<double> JsonConfig::get_float_list(const std::string& key) const {
  const nlohmann::json* v = find(key);
  SV_CHECK(v && v->is_array(), origin_, ": field '", key, "' must be a list of numbers");
  std::vector<double> r;
  for (const auto& e : *v) {
    SV_CHECK(e.is_number(), origin_, ": field '", key, "' must be a list of numbers, got ", v->dump());
    r.push_back(e.get<double>());
  }
  return r;
}

}  // namespace sv::io
