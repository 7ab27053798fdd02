#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <iterator>

#include <bpf/libbpf.h>

#include "weft.h"

namespace weft {

namespace {
std::string g_libbpf_log;

// libbpf prints through this: keep warnings for the next error message instead of writing to
// stderr; WEFT_LIBBPF_DEBUG=1 prints everything as well.
int Printer(enum libbpf_print_level level, const char* fmt, va_list args) {
  static const bool debug = getenv("WEFT_LIBBPF_DEBUG") != nullptr;
  char line[1024];
  va_list copy;
  va_copy(copy, args);
  vsnprintf(line, sizeof(line), fmt, copy);
  va_end(copy);
  if (debug) fputs(line, stderr);
  if (level == LIBBPF_DEBUG) return 0;
  if (g_libbpf_log.size() < 16384) g_libbpf_log += line;
  return 0;
}
}  // namespace

void InstallLibbpfPrinter() { libbpf_set_print(Printer); }
void ClearLibbpfLog() { g_libbpf_log.clear(); }
std::string TakeLibbpfLog() {
  std::string s;
  s.swap(g_libbpf_log);
  return s;
}

namespace {
// libbpf's own error numbers (LIBBPF_ERRNO__*), which strerror does not know.
const char* const kLibbpfCodes[] = {"LIBBPF_LIBELF", "LIBBPF_FORMAT", "LIBBPF_KVERSION", "LIBBPF_ENDIAN",
                                    "LIBBPF_INTERNAL", "LIBBPF_RELOC", "LIBBPF_LOAD", "LIBBPF_VERIFY",
                                    "LIBBPF_PROG2BIG", "LIBBPF_KVER", "LIBBPF_PROGTYPE", "LIBBPF_WRNGPID",
                                    "LIBBPF_INVSEQ", "LIBBPF_NLPARSE"};
}  // namespace

void ThrowErrno(Napi::Env env, const std::string& what, int err, const std::string& verifierLog) {
  std::string code, text;
  if (err >= LIBBPF_ERRNO__LIBELF && err < LIBBPF_ERRNO__LIBELF + static_cast<int>(std::size(kLibbpfCodes))) {
    char buf[128];
    libbpf_strerror(err, buf, sizeof(buf));
    code = kLibbpfCodes[err - LIBBPF_ERRNO__LIBELF];
    text = buf;
  } else {
    const char* name = strerrorname_np(err);
    code = name ? name : "E" + std::to_string(err);
    text = strerror(err);
  }
  std::string log = TakeLibbpfLog();
  std::string message = what + ": " + text + " (" + code + ")";
  // libbpf's last warning usually names the cause (a bad section, a map the kernel refused).
  size_t end = log.find_last_not_of('\n');
  if (end != std::string::npos && verifierLog.empty()) {
    size_t start = log.rfind('\n', end);
    message += " — " + log.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
  }
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("code", Napi::String::New(env, code));
  if (!log.empty()) e.Set("libbpfLog", Napi::String::New(env, log));
  if (!verifierLog.empty()) e.Set("verifierLog", Napi::String::New(env, verifierLog));
  throw e;
}

int32_t ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsNumber())
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().Int32Value();
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsString())
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

Napi::Buffer<uint8_t> ArgBuffer(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsBuffer())
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Buffer");
  return info[i].As<Napi::Buffer<uint8_t>>();
}

}  // namespace weft
