// Hands memory glibc holds free back to the kernel. Freed chunks between live ones stay in the
// arenas (and in the RSS) until something reuses them; malloc_trim() gives their pages back.
#include "weft.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace weft {

namespace {

// mallocTrim() → true when pages went back to the kernel (always false without glibc).
Napi::Value MallocTrim(const Napi::CallbackInfo& info) {
#ifdef __GLIBC__
  return Napi::Boolean::New(info.Env(), malloc_trim(0) == 1);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

}  // namespace

void InitMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("mallocTrim", Napi::Function::New(env, MallocTrim));
}

}  // namespace weft
