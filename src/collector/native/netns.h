// Runs a piece of code inside another network namespace on the calling thread, and always comes
// back: network namespaces are per thread, so only this thread moves, and only for the call.
#pragma once

#include <string>

namespace weft {

class NetnsGuard {
 public:
  // Empty path = stay where we are. On failure, error() is a positive errno and nothing moved.
  explicit NetnsGuard(const std::string& path);
  ~NetnsGuard();
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  int error() const { return error_; }

 private:
  int self_ = -1;
  int error_ = 0;
};

// Interface index of `name` in the current namespace, or 0.
unsigned IfIndex(const std::string& name);

}  // namespace weft
