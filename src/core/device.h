// Where a tensor's bytes live.
#pragma once
#include <cstdint>

namespace sv {
enum class Device : uint8_t { CPU, CUDA };
inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }
}  // namespace sv
