// weft_memory: hands memory glibc holds free back to the kernel. Freed chunks between live ones
// stay in the arenas (and in the RSS) until something reuses them; malloc_trim() gives their pages
// back. An addon of its own, without libbpf, so that the unprivileged server process can load it.
#include <napi.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace {

// mallocTrim() → true when pages went back to the kernel (always false without glibc).
Napi::Value MallocTrim(const Napi::CallbackInfo& info) {
#ifdef __GLIBC__
  return Napi::Boolean::New(info.Env(), malloc_trim(0) == 1);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("mallocTrim", Napi::Function::New(env, MallocTrim));
  return exports;
}

}  // namespace

NODE_API_MODULE(weft_memory, Init)
