// The weft native addon: a thin N-API layer over libbpf. Policy (which mode, names, state files)
// lives in TypeScript (src/collector/kernel/); this side does the system calls.
#include "weft.h"

namespace weft {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallLibbpfPrinter();
  InitObject(env, exports);
  InitMaps(env, exports);
  InitTc(env, exports);
  InitRingBuffer(env, exports);
  InitProg(env, exports);
  InitProbe(env, exports);
  return exports;
}

}  // namespace weft

static Napi::Object InitWeft(Napi::Env env, Napi::Object exports) { return weft::Init(env, exports); }

NODE_API_MODULE(weft, InitWeft)
