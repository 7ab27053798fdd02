// Shared declarations of the weft addon: each .cc registers its own functions on the exports.
#pragma once

#include <napi.h>

#include <string>

namespace weft {

// Throws a JS Error whose message names the operation and the errno, with `errno`, `code` and
// (when libbpf said something) `libbpfLog` properties. `err` is a positive errno.
[[noreturn]] void ThrowErrno(Napi::Env env, const std::string& what, int err,
                             const std::string& verifierLog = "");

// libbpf warnings printed since the last ClearLibbpfLog(): they often name the real cause.
void ClearLibbpfLog();
std::string TakeLibbpfLog();
void InstallLibbpfPrinter();

// Reads a number argument as a file descriptor / integer, with a clear TypeError otherwise.
int32_t ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name);
std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name);
Napi::Buffer<uint8_t> ArgBuffer(const Napi::CallbackInfo& info, size_t i, const char* name);

void InitObject(Napi::Env env, Napi::Object exports);
void InitMaps(Napi::Env env, Napi::Object exports);
void InitTc(Napi::Env env, Napi::Object exports);
void InitRingBuffer(Napi::Env env, Napi::Object exports);
void InitProg(Napi::Env env, Napi::Object exports);
void InitProbe(Napi::Env env, Napi::Object exports);

}  // namespace weft
