// UTF-8 handling with Python str semantics where the reference pipeline relies on them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sv::text {

// Decode UTF-8; invalid or truncated sequences become U+FFFD (Python's errors="replace").
std::vector<char32_t> utf8_decode(const std::string& s);
std::string utf8_encode(const std::vector<char32_t>& cps);
void utf8_append(std::string& out, char32_t cp);
// Replace invalid sequences by U+FFFD.
std::string utf8_sanitize(const std::string& s);

// Python str.lower() for the scripts a prompt realistically uses: ASCII, Latin-1, Latin Extended-A/B
// (pairs), Greek, Cyrillic, Armenian, Georgian-free, fullwidth Latin. Other code points are unchanged.
std::string py_lower(const std::string& s);
// Python str.strip(): removes leading/trailing characters for which str.isspace() is true.
std::string py_strip(const std::string& s);
bool py_isspace(char32_t c);

}  // namespace sv::text
