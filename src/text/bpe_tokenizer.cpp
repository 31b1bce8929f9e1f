// tokenizer.json (HF tokenizers) for Gemma-style BPE: added-token splitting, Replace/Prepend
// normalizers, Split pre-tokenizer, BPE merges by rank with byte fallback and fused unknowns,
// TemplateProcessing post-processor. Anything else in the file is refused with a clear message
// rather than silently tokenised differently.
#include <climits>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/error.h"
#include "io/json_config.h"
#include "text/tokenizer.h"
#include "text/unicode.h"

namespace sv::text {
namespace {
using nlohmann::json;

struct NormStep {
  enum Kind { Replace, Prepend } kind;
  std::string a, b;  // Replace: pattern -> content; Prepend: a
};

class JsonBpeTokenizer : public Tokenizer {
 public:
  explicit JsonBpeTokenizer(const std::string& path);
  std::vector<int64_t> encode(const std::string& text, bool add_special) const override;
  int64_t vocab_size() const override { return max_id_ + 1; }
  std::string kind() const override { return "tokenizer.json"; }
  std::string piece(int64_t id) const override {
    for (const Added& a : added_)
      if (a.id == id) return a.content;
    for (const auto& [text, i] : vocab_)
      if (i == id) return text;
    return "";
  }

 private:
  std::string path_;
  struct Added {
    std::string content;
    int64_t id;
  };
  std::vector<Added> added_;  // longest first
  std::vector<NormStep> norm_;
  std::string split_pattern_, split_behavior_;
  std::unordered_map<std::string, int64_t> vocab_;
  std::unordered_map<uint64_t, std::pair<int32_t, int64_t>> merges_;  // (a, b) -> (rank, merged id)
  bool byte_fallback_ = false, fuse_unk_ = false;
  int64_t unk_ = -1, max_id_ = 0;
  std::vector<int64_t> prefix_, suffix_;
  int64_t byte_ids_[256];

  void parse_normalizer(const json& n);
  void parse_pre_tokenizer(const json& p);
  std::string normalize(std::string s) const;
  std::vector<std::string> pre_tokenize(const std::string& s) const;
  void bpe(const std::string& word, std::vector<int64_t>& out) const;
  int64_t token_id(const std::string& t) const;
};

std::string replace_all(const std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  std::string r;
  size_t i = 0;
  for (size_t j; (j = s.find(from, i)) != std::string::npos; i = j + from.size()) r += s.substr(i, j - i) + to;
  return r + s.substr(i);
}

std::string string_pattern(const json& p, const std::string& path, const char* where) {
  SV_CHECK(p.is_object() && p.contains("String") && p["String"].is_string(), path, ": ", where,
           " uses a regex pattern, which this engine does not support");
  return p["String"].get<std::string>();
}

JsonBpeTokenizer::JsonBpeTokenizer(const std::string& path) : path_(path) {
  const json j = io::JsonConfig::load(path).json();
  SV_CHECK(j.contains("model") && j["model"].is_object(), path, ": no 'model' section");
  const json& m = j["model"];
  SV_CHECK(m.value("type", std::string()) == "BPE", path, ": model type '", m.value("type", std::string("?")),
           "' is not supported (BPE only)");
  SV_CHECK(!m.contains("continuing_subword_prefix") || m["continuing_subword_prefix"].is_null(), path,
           ": continuing_subword_prefix is not supported");
  SV_CHECK(!m.contains("end_of_word_suffix") || m["end_of_word_suffix"].is_null(), path,
           ": end_of_word_suffix is not supported");
  SV_CHECK(!m.value("ignore_merges", false), path, ": ignore_merges is not supported");
  SV_CHECK(m.contains("vocab") && m["vocab"].is_object(), path, ": model.vocab missing");
  for (auto it = m["vocab"].begin(); it != m["vocab"].end(); ++it) {
    SV_CHECK(it->is_number_integer() && it->get<int64_t>() >= 0, path, ": bad id for vocab entry '", it.key(), "'");
    vocab_[it.key()] = it->get<int64_t>();
    max_id_ = std::max(max_id_, it->get<int64_t>());
  }
  if (j.contains("added_tokens") && j["added_tokens"].is_array())
    for (const auto& a : j["added_tokens"]) {
      SV_CHECK(a.contains("content") && a["content"].is_string() && a.contains("id") && a["id"].is_number_integer(), path,
               ": malformed added_tokens entry");
      const std::string c = a["content"].get<std::string>();
      SV_CHECK(!c.empty(), path, ": empty added token");
      added_.push_back({c, a["id"].get<int64_t>()});
      max_id_ = std::max(max_id_, a["id"].get<int64_t>());
    }
  std::sort(added_.begin(), added_.end(), [](const Added& x, const Added& y) { return x.content.size() > y.content.size(); });
  byte_fallback_ = m.value("byte_fallback", false);
  fuse_unk_ = m.value("fuse_unk", false);
  if (m.contains("unk_token") && m["unk_token"].is_string()) unk_ = token_id(m["unk_token"].get<std::string>());
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    auto it = vocab_.find(name);
    byte_ids_[b] = it == vocab_.end() ? -1 : it->second;
  }
  SV_CHECK(m.contains("merges") && m["merges"].is_array(), path, ": model.merges missing");
  int32_t rank = 0;
  for (const auto& e : m["merges"]) {
    std::string a, b;
    if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      a = e[0].get<std::string>();
      b = e[1].get<std::string>();
    } else if (e.is_string()) {
      const std::string s = e.get<std::string>();
      const size_t sp = s.find(' ', 1);
      SV_CHECK(sp != std::string::npos, path, ": malformed merge '", s, "'");
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else {
      SV_THROW(path, ": malformed merge entry ", e.dump());
    }
    auto ia = vocab_.find(a), ib = vocab_.find(b), im = vocab_.find(a + b);
    SV_CHECK(ia != vocab_.end() && ib != vocab_.end() && im != vocab_.end(), path, ": merge '", a, "' + '", b,
             "' refers to tokens missing from the vocabulary");
    const uint64_t key = (static_cast<uint64_t>(ia->second) << 32) | static_cast<uint64_t>(ib->second);
    merges_.emplace(key, std::make_pair(rank++, im->second));  // first (lowest rank) wins on duplicates
  }
  if (j.contains("normalizer")) parse_normalizer(j["normalizer"]);
  if (j.contains("pre_tokenizer")) parse_pre_tokenizer(j["pre_tokenizer"]);
  const json pp = j.value("post_processor", json());
  if (!pp.is_null()) {
    SV_CHECK(pp.value("type", std::string()) == "TemplateProcessing", path, ": post_processor '",
             pp.value("type", std::string("?")), "' is not supported (TemplateProcessing only)");
    bool seen_seq = false;
    for (const auto& item : pp["single"]) {
      if (item.contains("Sequence")) {
        seen_seq = true;
        continue;
      }
      SV_CHECK(item.contains("SpecialToken"), path, ": unexpected template item ", item.dump());
      const std::string name = item["SpecialToken"]["id"].get<std::string>();
      SV_CHECK(pp.contains("special_tokens") && pp["special_tokens"].contains(name), path, ": template token '", name,
               "' has no ids");
      for (const auto& id : pp["special_tokens"][name]["ids"]) (seen_seq ? suffix_ : prefix_).push_back(id.get<int64_t>());
    }
  }
  add_bos = !prefix_.empty();
  // Special ids by name, from the files (tokenizer_config.json may rename them).
  std::string bos = "<bos>", eos = "<eos>", pad = "<pad>", unk = "<unk>";
  const std::filesystem::path cfg = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  if (std::filesystem::exists(cfg)) {
    const json c = io::JsonConfig::load(cfg.string()).json();
    auto name = [&](const char* key, std::string& dst) {
      if (c.contains(key) && c[key].is_string()) dst = c[key].get<std::string>();
      else if (c.contains(key) && c[key].is_object() && c[key].contains("content")) dst = c[key]["content"].get<std::string>();
    };
    name("bos_token", bos);
    name("eos_token", eos);
    name("pad_token", pad);
    name("unk_token", unk);
  }
  bos_id = prefix_.empty() ? token_id(bos) : prefix_.front();
  eos_id = token_id(eos);
  pad_id = token_id(pad);
  unk_id = token_id(unk);
  SV_CHECK(bos_id >= 0 && pad_id >= 0, path, ": the vocabulary has no '", bos, "' or '", pad, "' token");
  if (unk_ < 0) unk_ = unk_id;
}

int64_t JsonBpeTokenizer::token_id(const std::string& t) const {
  for (const Added& a : added_)
    if (a.content == t) return a.id;
  auto it = vocab_.find(t);
  return it == vocab_.end() ? -1 : it->second;
}

void JsonBpeTokenizer::parse_normalizer(const json& n) {
  if (n.is_null()) return;
  const std::string type = n.value("type", std::string());
  if (type == "Sequence") {
    for (const auto& s : n["normalizers"]) parse_normalizer(s);
  } else if (type == "Replace") {
    norm_.push_back({NormStep::Replace, string_pattern(n["pattern"], path_, "normalizer Replace"),
                     n["content"].get<std::string>()});
  } else if (type == "Prepend") {
    norm_.push_back({NormStep::Prepend, n["prepend"].get<std::string>(), ""});
  } else {
    SV_THROW(path_, ": normalizer '", type, "' is not supported");
  }
}

void JsonBpeTokenizer::parse_pre_tokenizer(const json& p) {
  if (p.is_null()) return;
  const std::string type = p.value("type", std::string());
  SV_CHECK(type == "Split", path_, ": pre_tokenizer '", type, "' is not supported");
  SV_CHECK(split_pattern_.empty(), path_, ": only one Split pre-tokenizer is supported");
  SV_CHECK(!p.value("invert", false), path_, ": inverted Split is not supported");
  split_pattern_ = string_pattern(p["pattern"], path_, "pre_tokenizer Split");
  split_behavior_ = p.value("behavior", std::string("Removed"));
  SV_CHECK(split_behavior_ == "Removed" || split_behavior_ == "Isolated" || split_behavior_ == "MergedWithPrevious" ||
               split_behavior_ == "MergedWithNext",
           path_, ": Split behavior '", split_behavior_, "' is not supported");
}

std::string JsonBpeTokenizer::normalize(std::string s) const {
  for (const NormStep& n : norm_) {
    if (n.kind == NormStep::Replace) s = replace_all(s, n.a, n.b);
    else if (!s.empty()) s = n.a + s;
  }
  return s;
}

std::vector<std::string> JsonBpeTokenizer::pre_tokenize(const std::string& s) const {
  if (split_pattern_.empty()) return {s};
  std::vector<std::string> out;
  std::string cur;
  size_t i = 0;
  const std::string& pat = split_pattern_;
  while (i < s.size()) {
    if (s.compare(i, pat.size(), pat) == 0) {
      if (split_behavior_ == "MergedWithPrevious") {
        cur += pat;
        out.push_back(cur);
        cur.clear();
      } else {
        if (!cur.empty()) out.push_back(cur);
        cur.clear();
        if (split_behavior_ == "Isolated") out.push_back(pat);
        else if (split_behavior_ == "MergedWithNext") cur = pat;
      }
      i += pat.size();
    } else {
      cur.push_back(s[i++]);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

void JsonBpeTokenizer::bpe(const std::string& word, std::vector<int64_t>& out) const {
  std::vector<int64_t> sym;
  const std::vector<char32_t> cps = utf8_decode(word);
  for (char32_t c : cps) {
    std::string ch;
    utf8_append(ch, c);
    auto it = vocab_.find(ch);
    if (it != vocab_.end()) {
      sym.push_back(it->second);
      continue;
    }
    bool bytes_ok = byte_fallback_;
    if (bytes_ok)
      for (unsigned char b : ch) bytes_ok = bytes_ok && byte_ids_[b] >= 0;
    if (bytes_ok) {
      for (unsigned char b : ch) sym.push_back(byte_ids_[b]);
    } else {
      SV_CHECK(unk_ >= 0, path_, ": character outside the vocabulary and no unk token");
      if (!(fuse_unk_ && !sym.empty() && sym.back() == unk_)) sym.push_back(unk_);
    }
  }
  // Greedy merges: always the lowest-ranked adjacent pair, leftmost on ties (tokenizers' order).
  auto rank_of = [&](size_t i, int64_t* merged) -> int32_t {
    const uint64_t key = (static_cast<uint64_t>(sym[i]) << 32) | static_cast<uint64_t>(sym[i + 1]);
    auto it = merges_.find(key);
    if (it == merges_.end()) return INT32_MAX;
    if (merged) *merged = it->second.second;
    return it->second.first;
  };
  std::vector<int32_t> ranks(sym.size() > 1 ? sym.size() - 1 : 0);
  for (size_t i = 0; i < ranks.size(); ++i) ranks[i] = rank_of(i, nullptr);
  while (!ranks.empty()) {
    size_t best = 0;
    for (size_t i = 1; i < ranks.size(); ++i)
      if (ranks[i] < ranks[best]) best = i;
    if (ranks[best] == INT32_MAX) break;
    int64_t merged = 0;
    rank_of(best, &merged);
    sym[best] = merged;
    sym.erase(sym.begin() + static_cast<std::ptrdiff_t>(best) + 1);
    ranks.erase(ranks.begin() + static_cast<std::ptrdiff_t>(best));
    if (best < ranks.size()) ranks[best] = rank_of(best, nullptr);
    if (best > 0) ranks[best - 1] = rank_of(best - 1, nullptr);
  }
  out.insert(out.end(), sym.begin(), sym.end());
}

std::vector<int64_t> JsonBpeTokenizer::encode(const std::string& raw, bool add_special) const {
  const std::string text = utf8_sanitize(raw);
  std::vector<int64_t> ids;
  if (add_special) ids = prefix_;
  size_t i = 0, seg = 0;
  auto flush = [&](size_t end) {
    if (end > seg)
      for (const std::string& w : pre_tokenize(normalize(text.substr(seg, end - seg)))) bpe(w, ids);
  };
  while (i < text.size()) {
    const Added* hit = nullptr;
    for (const Added& a : added_)
      if (text.compare(i, a.content.size(), a.content) == 0) {
        hit = &a;
        break;
      }
    if (hit) {
      flush(i);
      ids.push_back(hit->id);
      i += hit->content.size();
      seg = i;
    } else {
      ++i;
    }
  }
  flush(text.size());
  if (add_special) ids.insert(ids.end(), suffix_.begin(), suffix_.end());
  return ids;
}

}  // namespace

std::unique_ptr<Tokenizer> load_json_bpe(const std::string& path) { return std::make_unique<JsonBpeTokenizer>(path); }

}  // namespace sv::text
