#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

namespace weft {

NetnsGuard::NetnsGuard(const std::string& path) {
  if (path.empty()) return;
  int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    error_ = errno;
    return;
  }
  self_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self_ < 0) {
    error_ = errno;
    close(target);
    return;
  }
  if (setns(target, CLONE_NEWNET) != 0) {
    error_ = errno;
    close(self_);
    self_ = -1;
  }
  close(target);
}

NetnsGuard::~NetnsGuard() {
  if (self_ < 0) return;
  // Staying in a foreign namespace would silently misdirect everything this thread does next.
  if (setns(self_, CLONE_NEWNET) != 0) {
    perror("weft: cannot return to the collector's network namespace");
    abort();
  }
  close(self_);
}

unsigned IfIndex(const std::string& name) { return if_nametoindex(name.c_str()); }

}  // namespace weft
