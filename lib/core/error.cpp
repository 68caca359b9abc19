#include "core/core.h"

namespace vfp {

std::string_view version() {
  return VFP_VERSION;
}

namespace detail {
void throw_internal(const char* file, int line, const char* cond, const std::string& what) {
  throw Error("internal error at " + std::string(file) + ":" + std::to_string(line) + ": " + what +
              " (check failed: " + cond + ")");
}
} // namespace detail

} // namespace vfp
