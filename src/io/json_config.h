// Typed access to a JSON config file (diffusers config.json and friends); every error names the
// file and the field.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace sv::io {

class JsonConfig {
 public:
  static JsonConfig load(const std::string& path);
  static JsonConfig parse(const std::string& text, const std::string& origin);

  bool has(const std::string& key) const;  // present and not null
  int64_t get_int(const std::string& key, std::optional<int64_t> def = std::nullopt) const;
  double get_float(const std::string& key, std::optional<double> def = std::nullopt) const;
  bool get_bool(const std::string& key, std::optional<bool> def = std::nullopt) const;
  std::string get_string(const std::string& key, std::optional<std::string> def = std::nullopt) const;
  std::vector<int64_t> get_int_list(const std::string& key, std::optional<std::vector<int64_t>> def = std::nullopt) const;
  std::vector<double> get_float_list(const std::string& key) const;

  const nlohmann::json& json() const { return j_; }
  const std::string& origin() const { return origin_; }

 private:
  nlohmann::json j_;
  std::string origin_;
  const nlohmann::json* find(const std::string& key) const;
};

}  // namespace sv::io
